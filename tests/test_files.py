"""The data directory and every file in it are readable by the gateway's own user only (waqtor/files.py)."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import API_KEY, in_process, make_settings
from tests.messaging.samples import sample
from waqtor.access.gateway_key import KEY_FILE, hash_key
from waqtor.engines.neonize import store


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    """The common default umask (files 0644, directories 0755): privacy must not depend on a strict one."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def open_to_others(root: Path) -> list[str]:
    """Every path under `root` (itself included) that the group or other users may read or enter."""
    return [f"{path} {mode(path):o}" for path in [root, *root.rglob("*")] if mode(path) & 0o077]


def names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def left_by_an_older_version(data_dir: Path) -> None:
    """A data directory, database, key hash and media directory as the umask made them (0755, 0644)."""
    data_dir.mkdir(mode=0o755)
    (data_dir / KEY_FILE).write_text(hash_key(API_KEY) + "\n")
    sqlite3.connect(data_dir / "waqtor.db").close()
    (data_dir / "media").mkdir(mode=0o755)
    for name in ("waqtor.db", KEY_FILE):
        (data_dir / name).chmod(0o644)


async def test_a_new_data_directory_and_everything_in_it_are_private(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir)) as gw:
        await gw.scan()
        sent = await gw.client.post("/api/messages/send-media", data={"to": "+49 151 12345678"},
                                    files={"file": ("photo.png", sample("png", 2000))})
        assert sent.status_code == 200, sent.text
        stored = list((data_dir / "media").rglob("*.png"))
        assert len(stored) == 1
        assert {"waqtor.db", "waqtor.db-wal", "waqtor.db-shm"} <= names(data_dir)
        assert open_to_others(data_dir) == []
    assert mode(data_dir) == 0o700 and mode(stored[0]) == 0o600


async def test_files_an_older_version_left_open_are_tightened_and_a_loose_directory_is_warned_about(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    left_by_an_older_version(data_dir)
    caplog.set_level(logging.INFO, logger="waqtor.files")
    async with in_process(make_settings(data_dir, api_key=None)) as gw:
        assert (await gw.client.get("/api/sessions")).status_code == 200
        assert [p for p in open_to_others(data_dir) if not p.startswith(f"{data_dir} ")] == []
    assert mode(data_dir) == 0o755, "the data directory itself is the user's: warned about, not changed"
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"chmod 700 {data_dir}" in line for line in warning), warning


def test_the_neonize_store_is_created_private_with_its_wal_and_shm(tmp_path: Path) -> None:
    path = tmp_path / "store" / "neonize.db"
    store.prepare(str(path))
    conn = sqlite3.connect(path)  # as neonize's SQLite opens it: WAL, so -wal and -shm appear
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    assert {p.name: mode(p) for p in path.parent.iterdir()} == {
        "neonize.db": 0o600, "neonize.db-wal": 0o600, "neonize.db-shm": 0o600}
    assert mode(path.parent) == 0o700
    conn.close()
