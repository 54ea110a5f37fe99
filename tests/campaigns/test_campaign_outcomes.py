"""The outcome buffer: forward moves only, batches, and its overflow policy (a real SQLite database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from waqtor.campaigns.importer import Row
from waqtor.campaigns.outcomes import OutcomeBuffer
from waqtor.storage import Storage
from waqtor.storage.campaigns import Outcome

T0 = datetime(2025, 10, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
async def storage(sqlite_storage: Storage) -> Storage:
    store = sqlite_storage
    values = {"id": "cmp_o", "name": "o", "session": "default", "status": "running", "message": {}, "throttle": {},
              "options": {}, "variables": [], "report": {}, "total": 3, "created_at": T0, "updated_at": T0}
    await store.campaigns.create(values, [Row(n, f"+49151{10000000 + n}", f"{n}@s.whatsapp.net", None, {})
                                          for n in range(3)], T0)
    for recipient in await store.campaigns.pending("cmp_o", 0, 10):
        await store.campaigns.claim(recipient.id, "cmp_o", T0)
    return store


async def statuses(storage: Storage) -> list[str]:
    return [r.status for r in await storage.campaigns.recipients("cmp_o", None, None, 10)]


async def test_a_late_report_is_refused_and_never_written(storage: Storage) -> None:
    buffer = OutcomeBuffer(storage.campaigns)
    [a, *_] = await storage.campaigns.recipients("cmp_o", None, None, 10)
    assert buffer.put(Outcome(a.id, "delivered", T0, message_id=7)) is True
    assert buffer.put(Outcome(a.id, "sent", T0)) is False
    await buffer.flush()
    assert buffer.put(Outcome(a.id, "sent", T0)) is False  # still remembered after it was written
    [first] = await storage.campaigns.recipients("cmp_o", None, None, 1)
    assert (first.status, first.message_id) == ("delivered", 7)


async def test_nothing_is_written_until_a_flush(storage: Storage) -> None:
    buffer = OutcomeBuffer(storage.campaigns)
    for recipient in await storage.campaigns.recipients("cmp_o", None, None, 10):
        buffer.put(Outcome(recipient.id, "sent", T0))
    assert await statuses(storage) == ["sending"] * 3 and len(buffer) == 3
    await buffer.flush()
    assert await statuses(storage) == ["sent"] * 3 and len(buffer) == 0


async def test_past_its_most_the_oldest_outcome_is_dropped(storage: Storage) -> None:
    buffer = OutcomeBuffer(storage.campaigns, most=2)
    for recipient in await storage.campaigns.recipients("cmp_o", None, None, 10):
        buffer.put(Outcome(recipient.id, "sent", T0))
    assert len(buffer) == 2 and buffer.dropped == 1
    await buffer.flush()
    assert await statuses(storage) == ["sending", "sent", "sent"]
