"""A fresh PostgreSQL database per test, on the server the machine runs at 127.0.0.1:5432."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}  # the server ./scripts/test finds or starts


async def _admin():  # type: ignore[no-untyped-def]
    import asyncpg

    try:
        return await asyncpg.connect(database="postgres", timeout=5, **PG)
    except OSError as exc:
        pytest.fail(f"PostgreSQL is not running at 127.0.0.1:5432 ({exc}); ./scripts/test starts it")


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """Create an empty database, yield its URL, drop it afterwards."""
    name = f"waqtor_test_{secrets.token_hex(6)}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    finally:
        admin = await _admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def set_connections_allowed(url: str, allowed: bool) -> None:
    """Take the database 'down' (refuse new connections and cut the open ones) or bring it back."""
    name = url.rsplit("/", 1)[1]
    admin = await _admin()
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
    finally:
        await admin.close()
