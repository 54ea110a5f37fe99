"""The sender: delivers the outbox's rows over HTTP, owned by the lifespan (through `Webhooks`).

One loop claims due deliveries (under a lease, see `waqtor.storage.webhooks`) as long as this instance
has room: at most `WAQTOR_WEBHOOK_CONCURRENCY` attempts at once, at most
`WAQTOR_WEBHOOK_CONCURRENCY_PER_WEBHOOK` to one webhook, so a slow receiver holds only its own slots.
Each attempt is bounded in time (`WAQTOR_WEBHOOK_TIMEOUT`, from connect to the last byte read) and in
size (the first `WAQTOR_WEBHOOK_MAX_RESPONSE` bytes of the answer are read, the rest never is).
Redirects are not followed. Each connection goes only where `waqtor.webhooks.guard.delivery_check`
allows (not the gateway itself, not a link-local or metadata address), checked at delivery; a refused
one fails like any attempt that cannot connect. What follows an attempt is decided by
`waqtor.webhooks.retry`.

The loop wakes when the outbox queued rows, when an attempt ends, when the next delivery falls due, and
at least every `WAQTOR_WEBHOOK_POLL_INTERVAL` seconds (rows queued by other instances, expired leases).
At start it finds every delivery left pending by an earlier run; at stop it cancels the attempts in
flight and gives their rows back, due at once, so a restart (or another instance) sends them again with
the same delivery id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import timedelta
from http import HTTPStatus
from typing import cast

import httpx

from waqtor import __version__
from waqtor.clock import Clock
from waqtor.config import Settings
from waqtor.netguard import guarded_client
from waqtor.storage.records import ClaimedDelivery
from waqtor.storage.webhooks import WebhookRepository
from waqtor.tasks import TaskSet
from waqtor.webhooks.guard import Origin, delivery_check
from waqtor.webhooks.model import DEAD, DELIVERED
from waqtor.webhooks.retry import Step, next_step, parse_retry_after
from waqtor.webhooks.signer import sign

log = logging.getLogger(__name__)

# lastError is at most this long: a status and a short reason, never the receiver's page.
ERROR_MAX = 100


class Sender:
    def __init__(
        self,
        settings: Settings,
        repo: WebhookRepository,
        clock: Clock,
        on_dead: Callable[[str], Awaitable[None]],
    ) -> None:
        self._settings = settings
        self._repo = repo
        self._clock = clock
        self._on_dead = on_dead
        self.instance = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
        # A lease outlives the longest attempt with room for the bookkeeping around it.
        self.lease = timedelta(seconds=settings.webhook_timeout * 2 + 30)
        self._rng = random.Random()
        self._wake = asyncio.Event()
        self._inflight: dict[str, str] = {}  # delivery id -> claim token
        self._per_webhook: Counter[str] = Counter()
        # Recorded attempts by outcome (delivered, failed, dead), read by /metrics.
        self.outcomes: Counter[str] = Counter()
        self._batch = 0
        self._tasks = TaskSet("webhook-sender")
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        concurrency = self._settings.webhook_concurrency
        # Every connection is checked where it goes, at delivery: a name may resolve elsewhere than when
        # the webhook was registered.
        check = await delivery_check(Origin(self._settings.host, self._settings.port))
        self._client = guarded_client(
            check,
            follow_redirects=False,
            timeout=httpx.Timeout(self._settings.webhook_timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self._tasks.spawn(self._run(), "loop")

    async def stop(self) -> None:
        await self._tasks.close()
        # Every row this instance holds, including one claimed by a claim() cut short by the shutdown.
        try:
            released = await self._repo.release(self.instance, self._clock())
            if released:
                log.info("webhook sender: gave back %d deliveries in flight at shutdown", released)
        except Exception:
            log.exception(
                "webhook sender: could not give back the deliveries in flight; they are retried "
                "when their lease expires"
            )
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Look for due deliveries now."""
        self._wake.set()

    # ---- the loop -----------------------------------------------------------------------------------

    async def _run(self) -> None:
        poll = self._settings.webhook_poll_interval
        while True:
            self._wake.clear()
            delay = poll
            try:
                await self._claim()
                if len(self._inflight) < self._settings.webhook_concurrency:
                    upcoming = await self._repo.next_due(
                        skip_webhooks=self._full(), skip_ids=set(self._inflight)
                    )
                    if upcoming is not None:
                        # a floor keeps a row that cannot be claimed yet from turning this into a spin
                        delay = min(poll, max(0.01, (upcoming - self._clock()).total_seconds()))
            except Exception:
                log.exception("webhook sender: could not read the outbox; trying again in %.1fs", poll)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def _full(self) -> set[str]:
        """Webhooks that have all the attempts at once they may have."""
        cap = self._settings.webhook_concurrency_per_webhook
        return {webhook for webhook, n in self._per_webhook.items() if n >= cap}

    async def _claim(self) -> None:
        """Claim and start due deliveries while this instance has room for them."""
        cap = self._settings.webhook_concurrency_per_webhook
        while True:
            free = self._settings.webhook_concurrency - len(self._inflight)
            if free <= 0:
                return
            now = self._clock()
            candidates = await self._repo.due(
                now, limit=free * 2, skip_webhooks=self._full(), skip_ids=set(self._inflight)
            )
            picked: list[str] = []
            taken: Counter[str] = Counter()
            for row in candidates:
                if len(picked) == free:
                    break
                if self._per_webhook[row.webhook_id] + taken[row.webhook_id] < cap:
                    picked.append(row.id)
                    taken[row.webhook_id] += 1
            if not picked:
                return
            self._batch += 1
            token = f"{self.instance}/{self._batch}"
            claimed = await self._repo.claim(picked, token, now, now + self.lease)
            for item in claimed:
                self._start(item, token)
            if not claimed:
                return  # other instances took them

    def _start(self, claimed: ClaimedDelivery, token: str) -> None:
        delivery = claimed.delivery
        self._inflight[delivery.id] = token
        self._per_webhook[delivery.webhook_id] += 1
        self._tasks.spawn(self._attempt(claimed, token), f"deliver:{delivery.id}")

    # ---- one attempt --------------------------------------------------------------------------------

    async def _attempt(self, claimed: ClaimedDelivery, token: str) -> None:
        delivery = claimed.delivery
        try:
            status_code, error, retry_after = await self._post(claimed)
            attempts = delivery.attempts + 1
            now = self._clock()
            step = next_step(
                attempts,
                status_code,
                retry_after,
                max_attempts=self._settings.webhook_max_attempts,
                base=self._settings.webhook_backoff_base,
                cap=self._settings.webhook_backoff_max,
                rng=self._rng,
            )
            next_at = now + timedelta(seconds=step.delay) if step.delay is not None else None
            if not await self._repo.finish(
                delivery.id,
                token,
                status=step.status,
                now=now,
                next_attempt_at=next_at,
                status_code=status_code,
                error=error,
            ):
                log.warning(
                    "webhook sender: delivery %s was taken from this sender during its attempt; "
                    "its result (%s) is not recorded",
                    delivery.id,
                    step.status,
                )
                return
            self.outcomes[step.status] += 1
            _log_step(delivery.id, delivery.webhook_id, attempts, step, error)
            if step.status == DELIVERED:
                await self._repo.record_delivered(delivery.webhook_id)
            elif step.status == DEAD:
                await self._on_dead(delivery.webhook_id)
        except Exception:
            log.exception(
                "webhook sender: delivery %s: recording the attempt failed; it is retried when its "
                "lease expires",
                delivery.id,
            )
        finally:
            self._inflight.pop(delivery.id, None)
            self._per_webhook[delivery.webhook_id] -= 1
            if self._per_webhook[delivery.webhook_id] <= 0:
                del self._per_webhook[delivery.webhook_id]
            self._wake.set()

    async def _post(self, claimed: ClaimedDelivery) -> tuple[int | None, str | None, float | None]:
        """POST the delivery once: (status code or None, error text or None, Retry-After seconds or None)."""
        assert self._client is not None
        delivery = claimed.delivery
        body = delivery.payload.encode("utf-8")
        timestamp = int(self._clock().timestamp())
        headers = {
            **claimed.headers,
            "Content-Type": "application/json",
            "User-Agent": f"Waqtor-Webhooks/{__version__}",
            "X-Waqtor-Event": delivery.event,
            "X-Waqtor-Delivery": delivery.id,
            "X-Waqtor-Timestamp": str(timestamp),
            "X-Waqtor-Signature": sign(claimed.secret, timestamp, body),
        }
        timeout = self._settings.webhook_timeout
        status_code: int | None = None
        retry_after_header: str | None = None
        try:
            async with asyncio.timeout(timeout):
                async with self._client.stream(
                    "POST", claimed.url, content=body, headers=headers
                ) as response:
                    status_code = response.status_code
                    retry_after_header = response.headers.get("retry-after")
                    # Read (and dropped): the receiver's page is its own business, and may hold anything.
                    await _read_head(response, self._settings.webhook_max_response)
        except TimeoutError:
            if status_code is None:
                return None, f"no answer within {timeout:g}s", None
        except httpx.HTTPError as exc:
            if status_code is None:
                return None, _describe(exc), None
        except Exception as exc:
            log.warning("webhook sender: delivery %s: unexpected failure", delivery.id, exc_info=True)
            return None, _describe(exc), None
        if 200 <= status_code < 300:
            return status_code, None, None
        retry_after = parse_retry_after(
            retry_after_header, self._clock(), self._settings.webhook_retry_after_max
        )
        return status_code, status_text(status_code), retry_after


def status_text(status_code: int) -> str:
    """`HTTP 503: Service Unavailable`: the status and its standard reason phrase (not the one the
    receiver sent, which is its own text)."""
    try:
        return f"HTTP {status_code}: {HTTPStatus(status_code).phrase}"
    except ValueError:
        return f"HTTP {status_code}"


async def _read_head(response: httpx.Response, limit: int) -> bytes:
    """Up to `limit` bytes of the body as sent (not decompressed, so a small compressed answer cannot
    expand in memory); the rest is never read and the connection is closed."""
    if limit <= 0:
        return b""
    got = bytearray()
    # An async generator (httpx annotates it as the AsyncIterator it also is), so it can be closed early.
    chunks = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    try:
        async for chunk in chunks:
            got += chunk
            if len(got) >= limit:
                break
    finally:
        await chunks.aclose()
    return bytes(got[:limit])


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {text}"[:ERROR_MAX]
    return f"{type(exc).__name__}: {text}"[:ERROR_MAX]


def _log_step(delivery_id: str, webhook_id: str, attempts: int, step: Step, error: str | None) -> None:
    if step.status == DELIVERED:
        log.info("webhook %s: delivery %s delivered (attempt %d)", webhook_id, delivery_id, attempts)
    elif step.status == DEAD:
        log.error(
            "webhook %s: delivery %s given up after attempt %d: %s", webhook_id, delivery_id, attempts, error
        )
    else:
        log.warning(
            "webhook %s: delivery %s attempt %d failed (%s); next in %.1fs",
            webhook_id,
            delivery_id,
            attempts,
            error,
            step.delay or 0,
        )
