"""neonize's store: where it lives, and the device rows the gateway checks and deletes, on SQLite and on
the gateway's own PostgreSQL (where the real neonize client creates its tables)."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import eventually, in_process, make_settings
from waqtor.engines.neonize import store

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/test"


def test_the_store_is_a_file_in_the_data_dir_on_sqlite(tmp_path: Path) -> None:
    assert store.store_dsn(make_settings(tmp_path)) == str((tmp_path / "neonize.db").resolve())


def test_the_store_is_the_gateway_database_on_postgresql(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url="postgresql+asyncpg://gw:pw@db.internal:5433/waqtor")
    assert store.store_dsn(settings) == "postgres://gw:pw@db.internal:5433/waqtor?sslmode=disable"
    tls = make_settings(tmp_path, database_url="postgresql://gw:pw@db.internal/waqtor?sslmode=require")
    assert store.store_dsn(tls).endswith("?sslmode=require")


async def test_a_device_is_found_and_forgotten_in_a_sqlite_store(tmp_path: Path) -> None:
    path = tmp_path / "neonize.db"
    assert await store.device_exists(str(path), "1:1@s.whatsapp.net") is False  # no file yet
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE whatsmeow_device (jid TEXT PRIMARY KEY)")
        conn.execute("CREATE TABLE whatsmeow_sessions (our_jid TEXT REFERENCES whatsmeow_device(jid) "
                     "ON DELETE CASCADE, their_id TEXT)")
        conn.execute("INSERT INTO whatsmeow_device VALUES ('1:1@s.whatsapp.net'), ('2:1@s.whatsapp.net')")
        conn.execute("INSERT INTO whatsmeow_sessions VALUES ('1:1@s.whatsapp.net', 'x')")
    assert await store.device_exists(str(path), "1:1@s.whatsapp.net") is True
    await store.forget_device(str(path), "1:1@s.whatsapp.net")
    assert await store.device_exists(str(path), "1:1@s.whatsapp.net") is False
    assert await store.device_exists(str(path), "2:1@s.whatsapp.net") is True
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM whatsmeow_sessions").fetchone() == (0,), "cascaded"


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A database of its own on the local PostgreSQL, dropped afterwards."""
    name = f"waqtor_neonize_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_on_postgresql_the_real_client_keeps_its_store_in_the_gateway_database(
    tmp_path: Path, pg_database: str
) -> None:
    settings = make_settings(tmp_path, engine="neonize", database_url=pg_database, reconnect_min=0.5,
                             reconnect_max=1)
    async with in_process(settings) as gw:
        monitor = gw.gateway.sessions.get("default").monitor
        await eventually(lambda: monitor.state.last_error is not None, timeout=30, what="the offline failure")
        assert monitor.state.last_error["code"] == "connect_failure"
    dsn = store.store_dsn(settings)
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass('whatsmeow_device')") == "whatsmeow_device"
        assert await conn.fetchval("SELECT desired FROM sessions WHERE name = 'default'") == "running"
        # A device row as whatsmeow writes it when a phone links (only the key matters to the gateway).
        columns = await conn.fetch("SELECT column_name, data_type FROM information_schema.columns "
                                   "WHERE table_name = 'whatsmeow_device' AND is_nullable = 'NO'")
        checks = [r["def"] for r in await conn.fetch(
            "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'whatsmeow_device'::regclass")]
        lengths = {m.group(1): int(m.group(2)) for d in checks for m in re.finditer(r"length\((\w+)\) = (\d+)", d)}
        values = {c["column_name"]: _filler(c["data_type"], lengths.get(c["column_name"], 32)) for c in columns}
        values["jid"] = "4915112345678:7@s.whatsapp.net"
        names = ", ".join(values)
        marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
        await conn.execute(f"INSERT INTO whatsmeow_device ({names}) VALUES ({marks})", *values.values())
    finally:
        await conn.close()
    assert await store.device_exists(dsn, "4915112345678:7@s.whatsapp.net") is True
    await store.forget_device(dsn, "4915112345678:7@s.whatsapp.net")
    assert await store.device_exists(dsn, "4915112345678:7@s.whatsapp.net") is False


def _filler(data_type: str, length: int) -> object:
    if data_type == "bytea":
        return b"\x01" * length  # whatsmeow's CHECKs fix the length of every key and signature
    return {"bigint": 1, "integer": 1, "boolean": False}.get(data_type, "x")
