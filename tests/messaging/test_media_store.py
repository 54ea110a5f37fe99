"""The media store: files by date, reading stops at the limit, retention removes old files."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import eventually, in_process, make_settings
from tests.messaging.samples import sample
from waqtor.errors import NotFound, PayloadTooLarge
from waqtor.messaging.media import CHUNK, STRAY_AGE, MediaStore, chunks_of
from waqtor.storage import Storage


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 10, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def storage(sqlite_storage: Storage) -> Storage:
    return sqlite_storage


def media_store(data_dir: Path, storage: Storage, clock: Clock, **settings: object) -> MediaStore:
    return MediaStore(make_settings(data_dir, **settings), storage.media, clock)


async def test_files_are_kept_by_date_with_the_detected_extension(data_dir: Path, storage: Storage) -> None:
    store = media_store(data_dir, storage, Clock())
    record = await store.save(chunks_of(sample("pdf", 5000)), "Q3 report.doc")
    assert record.path == f"2025/10/28/{record.id}.pdf"
    assert (data_dir / "media" / record.path).read_bytes() == sample("pdf", 5000)
    assert (record.kind, record.mimetype, record.file_name) == ("document", "application/pdf", "Q3 report.pdf")
    assert await store.get(record.id) == record


async def test_reading_stops_once_the_kind_is_known_to_be_over_its_limit(data_dir: Path, storage: Storage) -> None:
    store = media_store(data_dir, storage, Clock(), media_max_image=20_000)
    consumed = 0

    async def huge_png() -> AsyncIterator[bytes]:
        nonlocal consumed
        data = sample("png", CHUNK)
        for _ in range(1000):  # 64 MiB if read whole
            consumed += 1
            yield data

    with pytest.raises(PayloadTooLarge) as caught:
        await store.save(huge_png(), "big.png")
    assert caught.value.details["kind"] == "image" and consumed == 1
    assert not any(p.is_file() for p in (data_dir / "media").rglob("*"))


async def test_retention_removes_old_files_and_keeps_their_rows(data_dir: Path, storage: Storage) -> None:
    clock = Clock()
    store = media_store(data_dir, storage, clock, media_retention_days=30)
    old = await store.save(chunks_of(sample("png", 100)), "old.png")
    clock.now += timedelta(days=20)
    recent = await store.save(chunks_of(sample("png", 100)), "recent.png")
    clock.now += timedelta(days=10, seconds=1)
    assert await store.cleanup() == 1
    assert not store.path(old).exists() and not store.path(old).parent.exists()
    assert store.path(recent).is_file()
    with pytest.raises(NotFound) as caught:
        await store.get(old.id)
    assert caught.value.code == "media_expired"
    kept = await storage.media.get(old.id)
    assert kept is not None and kept.deleted_at == clock.now


async def test_retention_zero_keeps_everything(data_dir: Path, storage: Storage) -> None:
    clock = Clock()
    store = media_store(data_dir, storage, clock, media_retention_days=0)
    record = await store.save(chunks_of(sample("png", 100)), "a.png")
    clock.now += timedelta(days=3650)
    assert await store.cleanup() == 0 and store.path(record).is_file()


async def test_the_gateway_sweeps_old_media_in_the_background(data_dir: Path) -> None:
    settings = make_settings(data_dir, media_cleanup_interval=0.05)
    async with in_process(settings) as gw:
        await gw.scan()
        sent = (await gw.client.post("/api/messages/send-media", data={"to": "+4915112345678"},
                                     files={"file": ("a.png", sample("png", 100))})).json()["data"]
        path = gw.gateway.messages.media.path(await gw.gateway.storage.media.get(sent["media"]["id"]))  # type: ignore[arg-type]
        # Age the file by 31 days in the database, as if it had been stored then.
        from sqlalchemy import update

        from waqtor.storage.tables import media

        async with gw.gateway.storage.engine.begin() as conn:
            await conn.execute(update(media).values(created_at=datetime.now(UTC) - timedelta(days=31)))
        async def swept() -> bool:
            # The sweep removes the file, then marks its row: wait for both.
            logged = (await gw.client.get(f"/api/messages/{sent['id']}")).json()["data"]
            return not path.exists() and logged["media"]["available"] is False

        await eventually(swept, what="the retention sweep")
        expired = await gw.client.get(sent["media"]["url"])
        assert expired.status_code == 404 and expired.json()["error"]["code"] == "media_expired"
        logged = (await gw.client.get(f"/api/messages/{sent['id']}")).json()["data"]
        assert logged["media"]["available"] is False and logged["media"]["fileName"] == "a.png"


async def test_a_file_removed_by_hand_is_expired_not_an_error(data_dir: Path, storage: Storage) -> None:
    store = media_store(data_dir, storage, Clock())
    record = await store.save(chunks_of(sample("png", 100)), "a.png")
    os.remove(store.path(record))
    with pytest.raises(NotFound) as caught:
        await store.get(record.id)
    assert caught.value.code == "media_expired"


async def test_a_start_removes_the_partial_files_a_killed_process_left(data_dir: Path) -> None:
    incoming = data_dir / "media" / ".incoming"
    incoming.mkdir(parents=True)
    (incoming / "0123.part").write_bytes(b"half a file")
    async with in_process(make_settings(data_dir)) as gw:  # SQLite: nobody else uses this data directory
        assert not gw.gateway.messages.media.shared
        assert list(incoming.glob("*")) == []


def age(path: Path, seconds: float) -> None:
    """Make `path` look last written `seconds` ago."""
    then = path.stat().st_mtime - seconds
    os.utime(path, (then, then))


async def test_files_no_record_refers_to_are_swept_once_they_are_old(data_dir: Path, storage: Storage) -> None:
    store = media_store(data_dir, storage, Clock())
    recorded = await store.save(chunks_of(sample("png", 100)), "kept.png")
    age(store.path(recorded), 2 * STRAY_AGE)
    folder = store.path(recorded).parent
    # What a kill between moving a file into place and recording it leaves behind: an old one and a fresh one.
    old_stray, fresh_stray = folder / ("a" * 32 + ".png"), folder / ("b" * 32 + ".png")
    for path in (old_stray, fresh_stray):
        path.write_bytes(sample("png", 100))
    age(old_stray, 2 * STRAY_AGE)
    foreign = folder / "notes.txt"  # not a name the store gives: not the store's to remove
    foreign.write_text("mine")
    age(foreign, 2 * STRAY_AGE)

    assert await store.sweep_strays() == 1
    assert not old_stray.exists()
    assert fresh_stray.is_file() and foreign.is_file() and store.path(recorded).is_file()
    assert await store.get(recorded.id) == recorded


async def test_on_postgresql_only_old_partial_uploads_are_cleared(data_dir: Path, storage: Storage) -> None:
    # The store only reads the URL's kind: on PostgreSQL the data directory may be shared.
    store = media_store(data_dir, storage, Clock(), database_url="postgresql://waqtor@127.0.0.1:5432/waqtor")
    assert store.shared
    incoming = store.root / ".incoming"
    incoming.mkdir(parents=True)
    left, in_progress = incoming / "left.part", incoming / "in-progress.part"
    for path in (left, in_progress):
        path.write_bytes(b"partial")
    age(left, 2 * STRAY_AGE)
    # A fresh partial file may be another instance's upload, on a shared data directory.
    assert store.clear_incoming() == 1
    assert not left.exists() and in_progress.is_file()


async def test_the_gateways_sweep_removes_old_stray_files(data_dir: Path) -> None:
    stray = data_dir / "media" / "2025" / "10" / "28" / ("c" * 32 + ".jpg")
    stray.parent.mkdir(parents=True)
    stray.write_bytes(sample("jpeg", 100))
    age(stray, 2 * STRAY_AGE)
    async with in_process(make_settings(data_dir, media_cleanup_interval=0.05)):
        async def gone() -> bool:
            return not stray.exists()

        await eventually(gone, timeout=10, what="the stray file removed by the background sweep")
    assert not (data_dir / "media" / "2025").exists(), "its emptied day, month and year folders go too"
