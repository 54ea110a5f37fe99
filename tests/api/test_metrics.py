"""`GET /metrics` on a running gateway: who may read it, and what it reports."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.campaigns.helpers import create, phones, recipients, wait_for
from tests.conftest import API_KEY, LiveServer, eventually, live_server, make_settings
from tests.webhook_receiver import Receiver, register
from tests.ws_client import open_ws
from waqtor.app import create_app

TOKEN = "metrics-token-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(live: LiveServer) -> Samples:
    async with live.client() as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(answer.text)


# ---- access ------------------------------------------------------------------------------------------

async def test_metrics_need_the_api_key(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.http) as client:
        anonymous = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer not-the-key-at-all"})
        by_header = await client.get("/metrics", headers={"X-API-Key": API_KEY})
        as_bearer = await client.get("/metrics", headers={"Authorization": f"Bearer {API_KEY}"})
    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    assert by_header.status_code == as_bearer.status_code == 200


async def test_metrics_need_a_read_key_over_every_session(live: LiveServer) -> None:
    async with live.client() as admin:
        async def key(**body: object) -> str:
            created = await admin.post("/api/keys", json={"name": "metrics", **body})
            assert created.status_code == 201, created.text
            return str(created.json()["data"]["key"])

        reader, sender, one_session = (await key(scopes=["read"]), await key(scopes=["send"]),
                                       await key(scopes=["read"], sessions=["default"]))
        answers = [await admin.get("/metrics", headers={"X-API-Key": k}) for k in (reader, sender, one_session)]
    assert [a.status_code for a in answers] == [200, 403, 403]
    assert [a.json()["error"]["code"] for a in answers[1:]] == ["insufficient_scope", "forbidden_session"]


async def test_the_metrics_token_opens_metrics_and_nothing_else(data_dir: Path) -> None:
    async with (live_server(make_settings(data_dir, metrics_token=TOKEN)) as live,
                httpx.AsyncClient(base_url=live.http, headers={"Authorization": f"Bearer {TOKEN}"}) as client):
        metrics = await client.get("/metrics")
        api = await client.get("/api/session/state")
        as_key = await client.get("/metrics", headers={"Authorization": "", "X-API-Key": TOKEN})
    assert metrics.status_code == 200 and "waqtor_info" in metrics.text
    assert api.status_code == 401 and as_key.status_code == 401


def test_a_short_metrics_token_is_refused(data_dir: Path) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="at least 16"):
        make_settings(data_dir, metrics_token="short")


def test_each_app_has_its_own_registry(data_dir: Path) -> None:
    first, second = create_app(make_settings(data_dir)), create_app(make_settings(data_dir))
    assert first.state.metrics.registry is not second.state.metrics.registry


# ---- what is reported --------------------------------------------------------------------------------

async def test_http_latency_is_counted_by_route_template_not_raw_path(live: LiveServer) -> None:
    async with live.client() as client:
        for name in ("alpha", "beta"):
            await client.get(f"/api/sessions/{name}")
        await client.get("/api/no/such/route")
    samples = await scrape(live)
    count = "waqtor_http_request_duration_seconds_count"
    assert value(samples, count, method="GET", route="/api/sessions/{name}", status="404") == 2
    assert value(samples, count, method="GET", route="unmatched", status="404") == 1
    assert not any("alpha" in dict(labels).get("route", "") for _, labels in samples)


async def test_sessions_are_counted_by_engine_and_status(live: LiveServer) -> None:
    assert value(await scrape(live), "waqtor_sessions", engine="sandbox", status="qr") == 1
    async with live.client() as client:
        await client.post("/api/sandbox/scan")
    samples = await scrape(live)
    assert value(samples, "waqtor_sessions", engine="sandbox", status="connected") == 1
    assert value(samples, "waqtor_sessions", engine="sandbox", status="qr") == 0
    assert value(samples, "waqtor_sessions_local") == 1


async def test_websocket_clients_are_counted_while_connected(live: LiveServer) -> None:
    async with await open_ws(live):
        assert value(await scrape(live), "waqtor_websocket_clients") == 1
    await eventually(lambda: len(live.gateway.bridge.clients) == 0, what="the client to leave")
    assert value(await scrape(live), "waqtor_websocket_clients") == 0


async def test_published_events_and_messages_are_counted_by_type_direction_and_status(live: LiveServer) -> None:
    async with live.client() as client:
        await client.post("/api/sandbox/scan")
        sent = await client.post("/api/messages/send", json={"to": "+49 151 12345678", "text": "hi"})
        assert sent.status_code == 200, sent.text
        await client.post("/api/sandbox/inbound", json={"from": "+4915100000001", "body": "hello"})

    async def received() -> bool:
        return value(await scrape(live), "waqtor_messages_total", direction="in", status="received") == 1

    await eventually(received, what="the incoming message to be counted")
    samples = await scrape(live)
    assert value(samples, "waqtor_events_published_total", type="session_update") >= 1
    assert value(samples, "waqtor_events_published_total", type="message") == 2
    assert value(samples, "waqtor_messages_total", direction="out", status="queued") == 1
    assert value(samples, "waqtor_messages_total", direction="out", status="sent") == 1


async def test_campaigns_report_their_status_and_their_recipients_progress(live: LiveServer) -> None:
    async with live.client() as client:
        await client.post("/api/sandbox/scan")
        campaign = await create(client, recipients=recipients(phones(3)))
        draft = await scrape(live)
        await client.post(f"/api/campaigns/{campaign['id']}/start")
        await wait_for(client, campaign["id"], "completed")
    assert value(draft, "waqtor_campaigns", status="draft") == 1
    done = await scrape(live)
    assert value(done, "waqtor_campaigns", status="completed") == 1
    assert value(done, "waqtor_campaigns", status="draft") == 0
    # Only running and paused campaigns list their recipients.
    assert not any(name == "waqtor_campaign_recipients" for name, _ in done)


async def test_a_running_campaign_lists_its_recipients_by_status(live: LiveServer) -> None:
    async with live.client() as client:
        campaign = await create(client, recipients=recipients(phones(2)))
        await client.post(f"/api/campaigns/{campaign['id']}/start")  # the session is not linked: it waits
        await wait_for(client, campaign["id"], "running")
    samples = await scrape(live)
    assert value(samples, "waqtor_campaign_recipients", campaign=campaign["id"], status="pending") == 2
    assert value(samples, "waqtor_campaign_recipients", campaign=campaign["id"], status="sent") == 0


async def test_webhook_attempts_are_counted_by_outcome(live: LiveServer) -> None:
    async with Receiver() as receiver, live.client() as client:
        await register(client, receiver.url(), events=["session_update"])
        await client.post("/api/sandbox/scan")
        await receiver.wait_for(1)
        await eventually(lambda: live.gateway.webhooks.sender.outcomes["delivered"] >= 1, what="a delivery")
    samples = await scrape(live)
    assert value(samples, "waqtor_webhook_attempts_total", outcome="delivered") >= 1
    assert value(samples, "waqtor_webhook_attempts_total", outcome="dead") == 0
