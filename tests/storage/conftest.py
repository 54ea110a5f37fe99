"""The storage contract suites: each test gets a migrated store on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from waqtor.storage import Storage


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    store = Storage(database_url)
    await store.open()
    yield store
    await store.close()
