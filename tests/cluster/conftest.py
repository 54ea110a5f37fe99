"""Fixtures for several gateway processes: a fresh PostgreSQL database and a fresh Redis key prefix per test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.instances import Cluster, running
from tests.conftest import REDIS_URL, drop_keys
from tests.pg import fresh_database


@pytest.fixture
async def make_cluster(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Cluster]]]:
    """`await make_cluster(redis_url=..., **settings)`: a cluster of no instance yet, on a fresh
    database and key prefix; every instance is stopped afterwards."""
    made: list[tuple[Cluster, Any, str, str]] = []

    async def make(redis_url: str = REDIS_URL, **settings: Any) -> Cluster:
        database = fresh_database()
        url = await database.__aenter__()
        prefix = f"test-{uuid.uuid4().hex}"
        cluster = Cluster(tmp_path / f"cluster{len(made)}", url, f"{redis_url}?prefix={prefix}", **settings)
        made.append((cluster, database, redis_url, prefix))
        return cluster

    try:
        yield make
    finally:
        for cluster, database, redis_url, prefix in made:
            await cluster.close()
            await database.__aexit__(None, None, None)
            with contextlib.suppress(OSError):
                await drop_keys(redis_url, prefix)


@pytest.fixture
async def cluster(make_cluster: Callable[..., Awaitable[Cluster]]) -> AsyncIterator[Cluster]:
    """A cluster on the machine's Redis; its instances' logs are printed when the test fails."""
    async with running(await make_cluster()) as made:
        yield made
