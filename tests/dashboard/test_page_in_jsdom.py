"""The WebSocket test page at work against a live gateway, in jsdom (a DOM without a browser).

tests/dashboard/jsdom/drive.cjs loads the page from the gateway's /ws-test and runs its script; the tests
click and type through it and read back what it shows. A real browser comes with the dashboard tests.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import API_KEY, LiveServer, eventually, live_server, make_settings
from tests.npm import npm_ci, require_node
from waqtor import qr_image

DRIVER = Path(__file__).resolve().parent / "jsdom"
Snapshot = dict[str, Any]


class Page:
    """The test page in jsdom, driven one JSON command at a time."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def do(self, action: str, **args: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"do": action, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), 20)
        if not line:
            stderr = await self.proc.stderr.read() if self.proc.stderr else b""
            pytest.fail(f"the jsdom driver stopped: {stderr.decode()}", pytrace=False)
        answer = json.loads(line)
        assert answer["ok"], answer["error"]
        return answer.get("result")

    async def snapshot(self) -> Snapshot:
        snap: Snapshot = await self.do("snapshot")
        assert not snap["errors"], snap["errors"]
        return snap

    async def until(self, check: Callable[[Snapshot], bool], what: str, timeout: float = 10.0) -> Snapshot:
        latest: Snapshot = {}

        async def holds() -> bool:
            nonlocal latest
            latest = await self.snapshot()
            return bool(check(latest))

        try:
            await eventually(holds, timeout, what)
        except pytest.fail.Exception:
            pytest.fail(f"timed out waiting for {what}; the page shows {json.dumps(latest, indent=1)[:4000]}",
                        pytrace=False)
        return latest

    async def connect(self, key: str = API_KEY) -> Snapshot:
        await self.do("set", id="key", value=key)
        await self.do("submit", id="connect-form")
        return await self.until(lambda s: s["connection"] == "open" and s["state"]["status"] != "unknown",
                                "the page to connect and show the state")


def log_texts(snap: Snapshot) -> list[str]:
    return [entry["text"] for entry in snap["log"]]


def logged(snap: Snapshot, fragment: str) -> bool:
    return any(fragment in text for text in log_texts(snap))


@pytest.fixture
async def gateway(data_dir: Path) -> AsyncIterator[LiveServer]:
    async with live_server(make_settings(data_dir, sandbox_qr_interval=3600.0)) as server:
        await eventually(lambda: server.gateway.sessions.get("default").monitor.state.has_qr, what="first QR")
        yield server


@pytest.fixture
async def page(gateway: LiveServer) -> AsyncIterator[Page]:
    node = require_node((18, 0))
    npm_ci(DRIVER)
    proc = await asyncio.create_subprocess_exec(
        node, str(DRIVER / "drive.cjs"), cwd=DRIVER, env={"PAGE_URL": f"{gateway.http}/ws-test", "PATH": ""},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        yield Page(proc)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def test_websocket_url_defaults_to_the_gateway_serving_the_page(
        page: Page, gateway: LiveServer) -> None:
    snap = await page.snapshot()
    assert snap["url"] == gateway.ws
    assert snap["connection"] == "disconnected"
    assert snap["buttons"]["connect"] and not snap["buttons"]["ping"]


async def test_connecting_shows_the_session_state(page: Page) -> None:
    snap = await page.connect()
    assert snap["state"]["status"] == "qr"
    assert snap["state"]["hasQR"] == "yes"
    assert logged(snap, "Connected")
    assert logged(snap, '"type": "get_state"')
    assert logged(snap, '"type": "session_state"')
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", entry["time"]) for entry in snap["log"])


async def test_qr_is_drawn_from_the_gateway_svg_fetched_with_the_key_header(
        page: Page, gateway: LiveServer) -> None:
    await page.connect()
    snap = await page.until(lambda s: s["qr"]["imageShown"] and s["blobs"] and s["blobs"][-1]["text"],
                            "the QR image")
    code = gateway.gateway.sessions.get("default").monitor.state.qr_code
    assert snap["qr"]["text"] == code
    ticket, request = snap["fetches"]
    assert ticket["url"] == f"{gateway.http}/api/session/websocket/ticket" and ticket["method"] == "POST"
    assert request["url"] == f"{gateway.http}/api/session/qr?format=svg"
    assert request["headers"] == {"X-API-Key": API_KEY}
    assert snap["blobs"][-1] == {"type": "image/svg+xml", "text": qr_image.svg(code)}
    assert snap["qr"]["src"].startswith("blob:")


async def test_the_socket_opens_with_a_ticket_fetched_with_the_key_header_never_the_key(
        page: Page, gateway: LiveServer) -> None:
    snap = await page.connect()
    ticket_request = snap["fetches"][0]
    assert ticket_request["url"] == f"{gateway.http}/api/session/websocket/ticket"
    assert ticket_request["method"] == "POST" and ticket_request["headers"] == {"X-API-Key": API_KEY}
    assert logged(snap, f"Connecting to {gateway.ws}?ticket=***")
    assert not any(API_KEY in entry["text"] or "apiKey" in entry["text"] for entry in snap["log"])


async def test_quick_commands_answer_in_the_log(page: Page) -> None:
    await page.connect()
    await page.do("click", selector="[data-command=ping]")
    snap = await page.until(lambda s: logged(s, '"type": "pong"'), "pong")
    assert logged(snap, "Round trip")
    await page.do("click", selector="[data-command=get_qr]")
    await page.until(lambda s: sum('"type": "qr_code"' in text for text in log_texts(s)) >= 2,
                     "a second qr_code")


async def test_subscribe_and_unsubscribe_send_the_ticked_events(page: Page) -> None:
    await page.connect()
    await page.do("click", selector="#subscribe")
    snap = await page.until(lambda s: s["subscriptions"] == "session_update, qr_code", "subscribed")
    assert logged(snap, '"events": [\n    "session_update",\n    "qr_code"\n  ]')
    await page.do("click", selector="input[value=qr_code]")
    await page.do("click", selector="#unsubscribe")
    await page.until(lambda s: s["subscriptions"] == "qr_code", "unsubscribed from session_update")


async def test_custom_frames_are_sent_as_typed_and_errors_are_shown(page: Page) -> None:
    await page.connect()
    await page.do("set", id="custom", value="not json")
    await page.do("click", selector="#send-custom")
    snap = await page.until(lambda s: logged(s, '"code": "invalid_json"'), "the invalid_json error")
    assert any(entry["kind"] == "error" and "invalid_json" in entry["text"] for entry in snap["log"])
    assert any(entry["kind"] == "out" and entry["text"] == "not json" for entry in snap["log"])


async def test_state_and_qr_follow_the_session_once_linked(page: Page, gateway: LiveServer) -> None:
    await page.connect()
    await page.until(lambda s: s["qr"]["imageShown"], "the QR image")
    async with gateway.client() as http:
        await http.post("/api/sandbox/scan", json={"phone": "+4915112345678", "pushname": "Ana"})
    snap = await page.until(lambda s: s["state"]["status"] == "connected", "the connected state")
    assert snap["state"]["ready"] == "yes"
    assert snap["state"]["account"] == "Ana · android · ***5678"
    assert not snap["qr"]["imageShown"] and snap["qr"]["text"] is None
    assert snap["qr"]["status"].startswith("No QR code")


async def test_reconnects_and_resumes_after_the_last_event_it_saw(page: Page, gateway: LiveServer) -> None:
    async with gateway.client() as http:
        await page.connect()
        await http.post("/api/sandbox/scan")
        # The page has seen events with ids: the last one is where it resumes.
        snap = await page.until(lambda s: s["state"]["status"] == "connected" and s["lastId"] != "none",
                                "an event with an id")
        seen = snap["lastId"]
        assert snap["buttons"]["resume"]
        bridge = gateway.gateway.bridge
        [client] = bridge.clients.values()
        client.close(1013, "test: too slow")
        await page.until(lambda s: s["connection"] == "reconnecting", "the page to notice the close")
        # Published while the page is away: it must arrive after the reconnect.
        await http.post("/api/sandbox/inbound", json={"from": "+4915112345678", "body": "sent while away"})
    snap = await page.until(lambda s: logged(s, "sent while away"), "the missed message", timeout=15)
    assert logged(snap, "Connection closed: 1013 test: too slow")
    assert logged(snap, f"resuming after event {seen}")
    assert logged(snap, '"type": "resumed"')
    assert snap["connection"] == "open"


async def test_a_refused_key_is_not_retried(page: Page) -> None:
    await page.do("set", id="key", value="wrong-key-000000000000")
    await page.do("submit", id="connect-form")
    # The key is refused when the page asks for a ticket, before any socket is opened.
    snap = await page.until(lambda s: logged(s, "The gateway refused a ticket"), "the refusal")
    assert snap["connection"] == "disconnected"
    assert logged(snap, "unauthorized: The API key was refused.")
    assert not logged(snap, "Connecting to")


async def test_disconnect_closes_normally_and_stays_closed(page: Page, gateway: LiveServer) -> None:
    await page.connect()
    await page.do("click", selector="#disconnect")
    snap = await page.until(lambda s: logged(s, "Connection closed: 1000"), "the close")
    assert snap["connection"] == "disconnected"
    await eventually(lambda: not gateway.gateway.bridge.clients, what="the gateway to forget the page")


async def test_key_is_kept_only_in_this_tab_and_only_when_asked(page: Page) -> None:
    snap = await page.connect()
    assert snap["sessionStorage"] == {} and snap["localStorageLength"] == 0
    await page.do("set", id="remember", value=True)
    snap = await page.snapshot()
    assert snap["sessionStorage"] == {"waqtor.apiKey": API_KEY}
    assert snap["localStorageLength"] == 0
    await page.do("set", id="remember", value=False)
    assert (await page.snapshot())["sessionStorage"] == {}


async def test_key_never_shows_in_the_log(page: Page) -> None:
    await page.connect()
    snap = await page.snapshot()
    assert logged(snap, "Connecting to")
    assert not any(API_KEY in text for text in log_texts(snap))


async def test_resume_button_replays_after_the_last_event_id(page: Page, gateway: LiveServer) -> None:
    await page.connect()
    async with gateway.client() as http:
        await http.post("/api/sandbox/scan")
    snap = await page.until(lambda s: s["buttons"]["resume"] and s["state"]["status"] == "connected",
                            "an event id to resume after")
    after = int(snap["lastId"])
    await page.do("click", selector="#resume")
    snap = await page.until(lambda s: logged(s, '"type": "resumed"'), "resumed")
    sent = [json.loads(e["text"]) for e in snap["log"] if e["kind"] == "out" and '"resume"' in e["text"]]
    assert sent == [{"type": "resume", "after": after}]
    [resumed] = [json.loads(t) for t in log_texts(snap) if '"type": "resumed"' in t]
    assert resumed["after"] == after and resumed["replayed"] == 0


async def test_reconnect_asks_again_for_the_events_it_had_subscribed_to(
        page: Page, gateway: LiveServer) -> None:
    await page.connect()
    await page.do("click", selector="input[value=qr_code]")  # untick: session_update only
    await page.do("click", selector="#subscribe")
    await page.until(lambda s: s["subscriptions"] == "session_update", "subscribed to session_update")
    async with gateway.client() as http:
        await http.post("/api/sandbox/scan")
    await page.until(lambda s: s["lastId"] != "none" and s["state"]["status"] == "connected", "an event")
    [client] = gateway.gateway.bridge.clients.values()
    client.close(1013, "test: too slow")
    snap = await page.until(lambda s: s["connection"] == "open" and logged(s, "resuming after event"),
                            "the reconnect", timeout=15)
    await eventually(lambda: [c.subs.event_list() for c in gateway.gateway.bridge.clients.values()]
                     == [["session_update"]], what="the gateway to hold the page's subscription again")
    snap = await page.snapshot()
    assert snap["subscriptions"] == "session_update"
    sent = [json.loads(e["text"]) for e in snap["log"] if e["kind"] == "out" and '"subscribe"' in e["text"]]
    assert sent == [{"type": "subscribe", "events": ["session_update"]}] * 2
