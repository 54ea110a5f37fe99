"""The webhook outbox in the database, on SQLite and PostgreSQL: idempotent queueing, claims under
leases that one sender at a time can hold, and what a disabled webhook keeps."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from waqtor.errors import Conflict
from waqtor.storage import Storage
from waqtor.storage.records import DeliveryRecord, WebhookRecord
from waqtor.storage.webhooks import WebhookRepository
from waqtor.webhooks.model import delivery_id_floor, new_delivery_id

T0 = datetime(2025, 10, 28, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=50)


@pytest.fixture
def repo(storage: Storage) -> WebhookRepository:
    """The webhook repository of the contract store (tests/storage/conftest.py: SQLite and PostgreSQL)."""
    return storage.webhooks


async def add_webhook(repo: WebhookRepository, id: str = "wh_a", enabled: bool = True) -> WebhookRecord:
    webhook = WebhookRecord(
        id=id,
        url="http://127.0.0.1:9/x",
        events=("all",),
        sessions=("all",),
        secret="s" * 20,
        enabled=enabled,
        headers={"X-Team": "ops"},
        created_at=T0,
    )
    await repo.create(webhook)
    return webhook


def row(
    webhook_id: str = "wh_a", event_id: int | None = 1, at: datetime = T0, id: str | None = None
) -> DeliveryRecord:
    return DeliveryRecord(
        id=id or new_delivery_id(at),
        webhook_id=webhook_id,
        event_id=event_id,
        event="message",
        session="default",
        payload='{"id":1}',
        status="pending",
        attempts=0,
        created_at=at,
        next_attempt_at=at,
    )


async def test_queueing_the_same_rows_again_adds_nothing(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    first = row(event_id=7)
    await repo.enqueue([first])
    await repo.enqueue([first])
    await repo.enqueue([row(event_id=7)])  # another delivery id, same (webhook, event)
    assert [d.id for d in await repo.deliveries("wh_a")] == [first.id]


async def test_test_deliveries_without_an_event_id_do_not_collide(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    await repo.enqueue([row(event_id=None), row(event_id=None)])
    assert len(await repo.deliveries("wh_a")) == 2


async def test_rows_for_a_deleted_webhook_are_dropped(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    await repo.enqueue([row("wh_gone", event_id=1), row("wh_a", event_id=1)])
    assert len(await repo.deliveries("wh_a")) == 1


async def test_two_senders_claiming_the_same_rows_each_get_a_different_share(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    rows = [row(event_id=n) for n in range(20)]
    await repo.enqueue(rows)
    ids = [r.id for r in rows]
    one, two = await asyncio.gather(
        repo.claim(ids, "a/1", T0, T0 + LEASE), repo.claim(ids, "b/1", T0, T0 + LEASE)
    )
    got_one = {c.delivery.id for c in one}
    got_two = {c.delivery.id for c in two}
    assert got_one.isdisjoint(got_two)
    assert got_one | got_two == set(ids)


async def test_a_claim_carries_what_the_sender_needs(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    await repo.enqueue([row()])
    [claimed] = await repo.claim([d.id for d in await repo.due(T0, 10)], "a/1", T0, T0 + LEASE)
    assert (claimed.url, claimed.secret, claimed.headers) == (
        "http://127.0.0.1:9/x",
        "s" * 20,
        {"X-Team": "ops"},
    )
    assert claimed.delivery.status == "delivering" and claimed.delivery.lease_owner == "a/1"


async def test_a_held_row_is_taken_over_only_after_its_lease_expires(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    await repo.enqueue([row()])
    [d] = await repo.due(T0, 10)
    assert len(await repo.claim([d.id], "dead-instance/1", T0, T0 + LEASE)) == 1
    assert await repo.due(T0 + LEASE - timedelta(seconds=1), 10) == []
    assert await repo.claim([d.id], "b/1", T0 + timedelta(seconds=1), T0 + LEASE) == []
    later = T0 + LEASE
    assert [x.id for x in await repo.due(later, 10)] == [d.id]
    assert len(await repo.claim([d.id], "b/2", later, later + LEASE)) == 1
    # the first holder, if it was only slow, can no longer record a result
    assert not await repo.finish(
        d.id,
        "dead-instance/1",
        status="delivered",
        now=later,
        next_attempt_at=None,
        status_code=200,
        error=None,
    )
    assert await repo.finish(
        d.id, "b/2", status="delivered", now=later, next_attempt_at=None, status_code=200, error=None
    )


async def test_a_failed_attempt_is_due_again_at_its_next_attempt(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    await repo.enqueue([row()])
    [d] = await repo.due(T0, 10)
    await repo.claim([d.id], "a/1", T0, T0 + LEASE)
    retry_at = T0 + timedelta(seconds=30)
    await repo.finish(
        d.id, "a/1", status="failed", now=T0, next_attempt_at=retry_at, status_code=503, error="HTTP 503"
    )
    assert await repo.due(retry_at - timedelta(seconds=1), 10) == []
    assert await repo.next_due() == retry_at
    [again] = await repo.due(retry_at, 10)
    assert (again.attempts, again.last_status_code, again.last_error, again.status) == (
        1,
        503,
        "HTTP 503",
        "failed",
    )


async def test_a_disabled_webhook_keeps_its_rows_but_none_is_due(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    await repo.enqueue([row()])
    assert await repo.disable("wh_a", "too many failures", T0)
    assert await repo.due(T0, 10) == [] and await repo.next_due() is None
    assert len(await repo.deliveries("wh_a", status="pending")) == 1
    await repo.update("wh_a", enabled=True)
    assert len(await repo.due(T0, 10)) == 1


async def test_only_one_of_several_racing_callers_disables_a_webhook(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    results = await asyncio.gather(*(repo.disable("wh_a", "x", T0) for _ in range(5)))
    assert results.count(True) == 1


async def test_released_rows_are_due_at_once_with_their_attempt_uncounted(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    mine, other = row(event_id=1), row(event_id=2)
    await repo.enqueue([mine, other])
    await repo.claim([mine.id], "host:1:ab_c/1", T0, T0 + LEASE)
    await repo.claim([other.id], "host:1:abXc/2", T0, T0 + LEASE)  # another instance (and `_` is no wildcard)
    assert await repo.release("host:1:ab_c", T0) == 1
    [back] = await repo.due(T0, 10)
    assert (back.id, back.status, back.attempts, back.lease_owner) == (mine.id, "pending", 0, None)


async def test_redelivery_queues_the_same_delivery_afresh_unless_it_is_in_flight(
    repo: WebhookRepository,
) -> None:
    await add_webhook(repo)
    await repo.enqueue([row()])
    [d] = await repo.due(T0, 10)
    await repo.claim([d.id], "a/1", T0, T0 + LEASE)
    with pytest.raises(Conflict):
        await repo.redeliver("wh_a", d.id, T0)
    await repo.finish(
        d.id, "a/1", status="dead", now=T0, next_attempt_at=None, status_code=400, error="HTTP 400"
    )
    again = await repo.redeliver("wh_a", d.id, T0 + timedelta(seconds=5))
    assert again is not None and (again.id, again.status, again.attempts) == (d.id, "pending", 0)
    assert await repo.redeliver("wh_a", "dlv_unknown", T0) is None


async def test_the_log_pages_newest_first_and_filters_by_status(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    rows = [row(event_id=n, at=T0 + timedelta(seconds=n)) for n in range(5)]
    await repo.enqueue(rows)
    first = await repo.deliveries("wh_a", limit=2)
    assert [d.event_id for d in first] == [4, 3]
    assert [d.event_id for d in await repo.deliveries("wh_a", before=first[-1].id, limit=10)] == [2, 1, 0]
    assert await repo.deliveries("wh_a", status="delivered") == []


async def test_consecutive_failures_count_up_and_a_success_resets_them(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    assert [await repo.record_dead("wh_a") for _ in range(3)] == [1, 2, 3]
    await repo.record_delivered("wh_a")
    assert (await repo.get("wh_a")).consecutive_failures == 0  # type: ignore[union-attr]


async def test_pruning_removes_only_finished_deliveries_made_before_the_floor(repo: WebhookRepository) -> None:
    await add_webhook(repo)
    old, new = T0 - timedelta(days=40), T0
    statuses = ("pending", "delivering", "failed", "delivered", "dead")
    await repo.enqueue([replace(row(event_id=n, at=at), status=status)
                        for n, (at, status) in enumerate((at, s) for at in (old, new) for s in statuses)])
    assert await repo.prune_finished(delivery_id_floor(T0 - timedelta(days=30)), batch=1) == 2
    left = {(d.created_at, d.status) for d in await repo.deliveries("wh_a", limit=50)}
    # What is still owed to the receiver stays however old; only old finished ones went.
    assert left == {(old, s) for s in ("pending", "delivering", "failed")} | {(new, s) for s in statuses}
    assert await repo.prune_finished(delivery_id_floor(T0 - timedelta(days=30))) == 0
