"""The data disk full on upload: a clear 507 `insufficient_storage`, nothing half-written (no partial file,
no half-stored campaign), and the same request succeeds once there is room again.

The gateway's data dir (its SQLite database and media) lives on a small tmpfs mounted for the test, which
needs root; the test is skipped, saying so, otherwise.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.api.test_bad_input import assert_error
from tests.campaigns.helpers import phones, upload
from tests.conftest import Harness, eventually, in_process, make_settings
from tests.messaging.samples import sample

DISK = "4m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a small tmpfs (mount -t tmpfs), which needs root")
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
async def gw(small_disk: Path) -> AsyncIterator[Harness]:
    async with in_process(make_settings(small_disk / "data", media_max_image=2_000_000)) as harness:
        await harness.scan()
        yield harness


def fill(disk: Path, leave: int = 0) -> Path:
    """Take the disk's free space but `leave` bytes; the filler file, to delete to make room again."""
    filler = disk / "filler"
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize
    with open(filler, "wb") as out:
        try:
            out.write(b"\0" * max(0, free - leave))
            out.flush()
        except OSError:
            pass  # full before the count: that is full enough
    return filler


def files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


async def test_a_media_upload_on_a_full_disk_is_507_and_leaves_no_partial_file(gw: Harness,
                                                                             small_disk: Path) -> None:
    media = gw.settings.data_dir / "media"
    filler = fill(small_disk, leave=64 * 1024)
    image = sample("png", 1_000_000)
    response = await gw.client.post("/api/messages/send-media", data={"to": "+49 151 12345678"},
                                    files={"file": ("big.png", image)})
    assert_error(response, 507, "insufficient_storage")
    assert "full" in response.json()["error"]["message"]
    assert files_under(media) == [], "no partial file is left"
    assert (await gw.client.get("/api/messages")).json()["data"]["messages"] == []

    filler.unlink()
    again = await gw.client.post("/api/messages/send-media", data={"to": "+49 151 12345678"},
                                 files={"file": ("big.png", image)})
    assert again.status_code == 200, again.text
    assert (await gw.client.get(again.json()["data"]["media"]["url"])).content == image


async def test_a_csv_campaign_on_a_full_disk_is_507_and_stores_no_part_of_it(gw: Harness, small_disk: Path) -> None:
    csv_text = "phone,name\n" + "".join(f"{p},Person {n}\n" for n, p in enumerate(phones(5_000)))
    filler = fill(small_disk)
    response = await upload(gw.client, csv_text)
    assert_error(response, 507, "insufficient_storage")
    assert (await gw.client.get("/api/campaigns")).json()["data"]["campaigns"] == []

    filler.unlink()
    created = await upload(gw.client, csv_text)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["campaign"]["total"] == 5_000
    listed = (await gw.client.get("/api/campaigns")).json()["data"]["campaigns"]
    assert [c["total"] for c in listed] == [5_000], "only the second, whole, campaign is stored"


async def test_a_file_received_on_a_full_disk_is_held_and_stored_once_there_is_room(gw: Harness,
                                                                                  small_disk: Path) -> None:
    filler = fill(small_disk, leave=64 * 1024)
    image = sample("png", 300_000)
    media = {"data": base64.b64encode(image).decode(), "fileName": "photo.png"}
    response = await gw.client.post("/api/sandbox/inbound", json={"from": "+4915112345678", "media": media})
    assert response.status_code == 200, response.text
    assert (await gw.client.get("/health")).json()["held"]["inbound"] == 1
    assert files_under(gw.settings.data_dir / "media") == [], "no partial file is left"

    filler.unlink()

    async def stored() -> bool:
        return len((await gw.client.get("/api/messages")).json()["data"]["messages"]) == 1

    await eventually(stored, timeout=30, what="the held message stored once there is room")
    message = (await gw.client.get("/api/messages")).json()["data"]["messages"][0]
    assert (await gw.client.get(message["media"]["url"])).content == image
