"""Storage contract for sessions and their state: the same tests on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError, StatementError

from waqtor.sessions.state import SessionState, Status
from waqtor.storage import Storage
from waqtor.storage.records import SessionRecord

T0 = datetime(2025, 10, 28, 12, 30, 0, 123000, tzinfo=UTC)


async def make(storage: Storage, name: str, **state: object) -> SessionState:
    first = SessionState(session=name, engine="sandbox", last_update=T0, **state)  # type: ignore[arg-type]
    await storage.sessions.create(SessionRecord(name=name, engine="sandbox", created_at=T0,
                                                config={"a": [1, "b"]}), first)
    return first


async def test_a_created_session_is_listed_and_found(storage: Storage) -> None:
    await make(storage, "default")
    await make(storage, "work")
    assert [r.name for r in await storage.sessions.list()] == ["default", "work"]
    record = await storage.sessions.get("work")
    assert record is not None and record.engine == "sandbox" and record.config == {"a": [1, "b"]}
    assert record.created_at == T0
    assert await storage.sessions.get("nope") is None


async def test_state_round_trips_with_aware_utc_datetimes(storage: Storage) -> None:
    await make(storage, "default")
    state = SessionState(
        session="default", engine="sandbox", last_update=T0 + timedelta(seconds=5), status=Status.CONNECTED,
        authenticated=True, phone="4915112345678", pushname="Ana ☕", platform="android",
        ready_since=T0, messages_sent=7, messages_received=9,
        last_error={"code": "x", "message": "y", "at": "z", "details": {"n": 1}},
    )
    await storage.sessions.save_state(state, T0 + timedelta(seconds=65))
    loaded = await storage.sessions.load_state("default")
    # The counters move only with the message log (MessageRepository), never with a state write.
    assert loaded == state.replace(messages_sent=0, messages_received=0)
    assert loaded is not None and loaded.last_update.tzinfo is not None


async def test_engine_data_is_saved_and_forgotten(storage: Storage) -> None:
    await make(storage, "default")
    assert await storage.sessions.load_engine_data("default") is None
    await storage.sessions.save_engine_data("default", {"phone": "1", "nested": {"k": True}})
    assert await storage.sessions.load_engine_data("default") == {"phone": "1", "nested": {"k": True}}
    await storage.sessions.save_engine_data("default", None)
    assert await storage.sessions.load_engine_data("default") is None


async def test_deleting_a_session_removes_its_state(storage: Storage) -> None:
    await make(storage, "default")
    await make(storage, "work")
    await storage.sessions.delete("work")
    assert await storage.sessions.get("work") is None
    assert await storage.sessions.load_state("work") is None
    assert await storage.sessions.load_state("default") is not None


async def test_a_second_session_with_the_same_name_is_refused(storage: Storage) -> None:
    await make(storage, "default")
    with pytest.raises(IntegrityError):
        await make(storage, "default")
    assert len(await storage.sessions.list()) == 1


async def test_migrations_are_idempotent_on_reopen(database_url: str) -> None:
    for _ in range(2):
        storage = Storage(database_url)
        await storage.open()
        assert await storage.ping()
        await storage.close()


async def test_naive_datetimes_are_refused(storage: Storage) -> None:
    naive = datetime(2025, 1, 1)  # noqa: DTZ001  naive on purpose: this test checks it is refused
    with pytest.raises(StatementError, match="naive"):
        await storage.sessions.create(
            SessionRecord(name="x", engine="sandbox", created_at=naive),
            SessionState(session="x", engine="sandbox", last_update=T0),
        )
