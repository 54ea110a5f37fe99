"""Prometheus metrics for `GET /metrics` (docs/api-reference.md lists every name).

Each app has its own `CollectorRegistry` (tests build many apps in one process). What is counted as
it happens costs one increment: the HTTP latency histogram (one observe per request, by route
template), and the events and messages this instance publishes (a bus publish hook). Everything else
is read when Prometheus scrapes, from live state: WebSocket clients, drop and webhook counters kept
by their owners, and, from the database, sessions by status and campaigns with their recipients.

With several instances, counters and the WebSocket and latency figures are this instance's (sum them);
the session and campaign gauges come from the shared database, so every instance reports the same
values (take one, or `max`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from waqtor import __version__, events
from waqtor.campaigns.model import PAUSED, RECIPIENT_STATUSES, RUNNING, STATUSES
from waqtor.gateway import Gateway
from waqtor.sessions.state import Status

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Running and paused campaigns get their recipients counted; at most this many, the newest first.
CAMPAIGNS_DETAILED = 50


class Metrics:
    """The registry of one app and what feeds it. `observe_request` is called by the access-log
    middleware; `attach` connects a started gateway; `render` answers a scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._latency = Histogram(
            "waqtor_http_request_duration_seconds", "HTTP request duration, by method, route template and status.",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self._events = Counter(
            "waqtor_events_published", "Events published by this instance, by type.", ["type"],
            registry=self.registry,
        )
        self._messages = Counter(
            "waqtor_messages", "Messages that reached a status on this instance, by direction and status "
            "(an outgoing message counts once for each of queued, sent, delivered, read, played or failed).",
            ["direction", "status"], registry=self.registry,
        )
        self._live = LiveState()
        self.registry.register(self._live)
        # The histogram's child by (method, route template, status): `labels()` costs a lock and label
        # checks on every request. Bounded: route templates and statuses are few, odd methods not kept.
        self._latency_children: dict[tuple[str, str, int], Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._latency_children.get(key)
        if child is None:
            child = self._latency.labels(method if method in METHODS else "other", route, str(status))
            if method in METHODS:
                self._latency_children[key] = child
        child.observe(seconds)

    async def on_publish(self, event: events.Event) -> None:
        self._events.labels(event.type).inc()
        if event.type == events.MESSAGE:
            self._messages.labels(str(event.data.get("direction")), str(event.data.get("status"))).inc()
        elif event.type == events.MESSAGE_ACK:
            self._messages.labels("out", str(event.data.get("status"))).inc()

    def attach(self, gateway: Gateway) -> None:
        """Read the started `gateway` at every scrape (its bus calls `on_publish`, given to it as a
        publish hook, for what it publishes)."""
        self._live.gateway = gateway

    def detach(self) -> None:
        """Stop reading the gateway (it is stopping)."""
        self._live.gateway = None

    async def render(self) -> bytes:
        """The exposition text of every metric, the database-backed ones read now."""
        await self._live.refresh()
        return generate_latest(self.registry)


def _gauge(name: str, doc: str, labels: list[str], values: dict[tuple[str, ...], float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


def _counter(name: str, doc: str, labels: list[str], values: dict[tuple[str, ...], float]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


class LiveState(Collector):
    """Reads the gateway's live state at scrape time; the database figures come from `refresh()`."""

    def __init__(self) -> None:
        self.gateway: Gateway | None = None
        self._sessions: dict[tuple[str, ...], float] | None = None
        self._campaigns: dict[tuple[str, ...], float] | None = None
        self._recipients: dict[tuple[str, ...], float] | None = None

    async def refresh(self) -> None:
        gateway = self.gateway
        self._sessions = self._campaigns = self._recipients = None
        if gateway is None:
            return
        try:
            sessions: dict[tuple[str, ...], float] = {}
            for snapshot in await gateway.sessions.snapshots():
                engine = snapshot.record.engine
                for status in Status:
                    sessions.setdefault((engine, str(status)), 0)
                sessions[(engine, str(snapshot.state.status))] += 1
            repo = gateway.storage.campaigns
            found = await repo.status_counts()
            campaigns: dict[tuple[str, ...], float] = {
                (status,): float(found.get(status, 0)) for status in STATUSES}
            active = [*(await repo.page(RUNNING, None, None, CAMPAIGNS_DETAILED)),
                      *(await repo.page(PAUSED, None, None, CAMPAIGNS_DETAILED))][:CAMPAIGNS_DETAILED]
            counts = await repo.counts([record.id for record in active])
            recipients: dict[tuple[str, ...], float] = {
                (cid, status): float(by_status.get(status, 0))
                for cid, by_status in counts.items() for status in RECIPIENT_STATUSES}
        except Exception as exc:  # a scrape reports what it can read
            log.warning("metrics: the database could not be read (%s); sessions and campaigns left out", exc)
            return
        self._sessions, self._campaigns, self._recipients = sessions, campaigns, recipients

    def collect(self) -> Iterator[Metric]:
        gateway = self.gateway
        if gateway is None:
            return
        info = GaugeMetricFamily("waqtor_info", "Always 1; the labels name this instance.",
                                 labels=["version", "instance", "engine"])
        info.add_metric([__version__, gateway.sessions.instance, gateway.settings.engine], 1)
        yield info
        if self._sessions is not None:
            yield _gauge("waqtor_sessions", "Sessions by engine and status (every instance's).",
                         ["engine", "status"], self._sessions)
        yield GaugeMetricFamily("waqtor_sessions_local", "Sessions this instance runs.",
                                value=len(gateway.sessions.local()))
        yield GaugeMetricFamily("waqtor_websocket_clients", "WebSocket clients connected to this instance.",
                                value=len(gateway.bridge.clients))
        yield CounterMetricFamily("waqtor_websocket_clients_dropped",
                                  "WebSocket clients closed (1013) because they fell too far behind; their "
                                  "queued events were dropped.", value=gateway.bridge.dropped)
        yield _counter("waqtor_events_dropped", "Events this instance dropped, by consumer: webhook_outbox "
                       "counts deliveries lost while the database could not take them.", ["consumer"],
                       {("webhook_outbox",): gateway.webhooks.outbox.dropped})
        yield CounterMetricFamily("waqtor_bus_hook_failures", "Publish hooks that raised (the event still went out).",
                                  value=gateway.bus.hook_failures)
        outcomes: dict[str, Any] = gateway.webhooks.sender.outcomes
        yield _counter("waqtor_webhook_attempts", "Webhook delivery attempts recorded by this instance, by "
                       "outcome: delivered, failed (retried later) or dead (given up).", ["outcome"],
                       {(name,): float(outcomes.get(name, 0)) for name in ("delivered", "failed", "dead")})
        if self._campaigns is not None:
            yield _gauge("waqtor_campaigns", "Campaigns by status.", ["status"], self._campaigns)
        if self._recipients is not None:
            yield _gauge("waqtor_campaign_recipients",
                         f"Recipients of running and paused campaigns (the {CAMPAIGNS_DETAILED} newest), by status.",
                         ["campaign", "status"], self._recipients)
