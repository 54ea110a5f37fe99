"""Connection health in headless Chromium: the page shows when its socket is down, reconnects by itself
and catches up without a reload, by resuming after the last event it saw or, when the gateway no longer
holds those events (it restarted), by fetching the state again."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.async_api import expect

from tests.conftest import API_KEY, LiveServer, eventually, in_process, live_server, make_settings
from tests.dashboard.conftest import BROWSER_LOOP, Dashboard
from waqtor.engines.sandbox.engine import SandboxEngine
from waqtor.errors import Close

pytestmark = BROWSER_LOOP

# Every value the page's connection indicator took, in order (the page itself keeps no such history).
RECORD_STATES = """
window.__connection = [];
new MutationObserver(() => {
  const state = document.body.dataset.connection;
  if (state && window.__connection.at(-1) !== state) window.__connection.push(state);
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-connection']});
"""


# The page's message feature on its own, against the gateway, reading at most one page per catch-up.
FEATURE = """async (key) => {
  const { Api } = await import('./js/api/http-client.js');
  const { ServerClock } = await import('./js/store/server-clock.js');
  const { MessagesFeature } = await import('./js/features/messages-feature.js');
  const { Store } = await import('./js/store/store.js');
  const store = new Store(new ServerClock());
  const signal = new AbortController().signal;
  window.__feature = new MessagesFeature(new Api(key), store, { signal, catchUpPages: 1 });
}"""
REFRESH = """async () => {
  await window.__feature.refresh();
  const store = window.__feature.store;
  return { bodies: store.messagesNewestFirst().map((m) => m.body), more: store.feed.nextCursor !== null };
}"""


def sandbox(live: LiveServer) -> SandboxEngine:
    engine = live.gateway.sessions.get("default").engine
    assert isinstance(engine, SandboxEngine)
    return engine


async def test_a_dropped_socket_is_shown_and_resumed_without_missing_a_message(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await dashboard.page.add_init_script(RECORD_STATES)
    await dashboard.signed_in(gateway.http)
    await sandbox(gateway).scan()  # the page sees events, so it has an id to resume after
    await expect(dashboard.card.locator(".pill")).to_have_text("Connected")
    await eventually(lambda: len(gateway.gateway.bridge.clients) == 1, 5, "the page's socket")

    # The gateway drops the page (as it drops a client that falls behind), and a message arrives before
    # the page can be back: nothing in this block yields to the loop between the two.
    for client in list(gateway.gateway.bridge.clients.values()):
        client.close(Close.TRY_AGAIN, "dropped by the test")
    await sandbox(gateway).inbound("4915112345678", "sent while the page was away")

    await expect(dashboard.feed.first).to_contain_text("sent while the page was away")
    await expect(dashboard.connection).to_have_attribute("data-state", "open")
    states = await dashboard.page.evaluate("() => window.__connection")
    assert states[-3:] == ["down", "connecting", "open"], states
    assert len(dashboard.sockets) == 2
    assert "after=" not in dashboard.sockets[0]
    assert "after=" in dashboard.sockets[1], "the page resumes after the last event it saw"
    assert any(json.loads(frame).get("type") == "resumed" for frame in dashboard.frames)


async def test_the_page_says_when_the_gateway_is_gone(gateway: LiveServer, dashboard: Dashboard) -> None:
    await dashboard.signed_in(gateway.http)
    gateway.server.should_exit = True
    await expect(dashboard.connection).to_contain_text("Disconnected")
    await expect(dashboard.page.locator("#retry-in")).to_contain_text("retrying")
    await expect(dashboard.page.locator("#reconnect")).to_be_visible()


async def test_the_page_recovers_after_the_gateway_restarts(data_dir: Path, dashboard: Dashboard) -> None:
    settings = make_settings(data_dir)
    async with live_server(settings) as first:
        port = first.port
        await dashboard.signed_in(first.http)
        await sandbox(first).scan(pushname="Before Restart")
        await expect(dashboard.fact("Account")).to_have_text("Before Restart")
        await expect(dashboard.fact("Received")).to_have_text("0")

    await expect(dashboard.connection).to_have_attribute("data-state", "down")
    # While no gateway listens, one runs without a socket on the same data and receives a message: the
    # page can only learn of it by fetching the state once it is back.
    async with in_process(settings) as offline:
        response = await offline.client.post("/api/sandbox/inbound", json={"from": "+4915112345678",
                                                                          "body": "while the page was away"})
        assert response.status_code == 200, response.text

    async with live_server(settings, port=port) as second:
        await expect(dashboard.connection).to_have_attribute("data-state", "open", timeout=20_000)
        await expect(dashboard.fact("Received")).to_have_text("1")
        await expect(dashboard.card.locator(".pill")).to_have_text("Connected")
        assert "after=" in dashboard.sockets[-1]
        gaps = [frame for frame in dashboard.frames if "replay_gap" in frame]
        assert gaps, "the restarted gateway no longer holds the events the page missed"

        # And it is live again: a new message arrives without a reload.
        await sandbox(second).inbound("4915112345678", "after the restart")
        await expect(dashboard.feed.first).to_contain_text("after the restart")
        await expect(dashboard.fact("Received")).to_have_text("2")


async def test_a_page_with_no_event_to_resume_after_catches_up_on_messages_after_a_restart(
        data_dir: Path, dashboard: Dashboard) -> None:
    settings = make_settings(data_dir)
    async with live_server(settings) as first:
        port = first.port
        await sandbox(first).scan()
        await sandbox(first).inbound("4915112345678", "before the page opened")
        # The page connects after all that: its socket sees no event, so it has no id to resume after.
        await dashboard.signed_in(first.http)
        await expect(dashboard.feed).to_have_count(1)

    await expect(dashboard.connection).to_have_attribute("data-state", "down")
    async with in_process(settings) as offline:
        received = await offline.client.post("/api/sandbox/inbound", json={"from": "+4915112345678",
                                                                          "body": "received while away"})
        sent = await offline.client.post("/api/messages/send", json={"to": "+4915112345678",
                                                                     "text": "sent while away"})
        assert received.status_code == 200 and sent.status_code == 200, (received.text, sent.text)

    async with live_server(settings, port=port):
        # Reconnecting by itself is tested above; here only what the page fetches once back matters.
        await dashboard.page.evaluate("() => document.querySelector('#reconnect')?.click()")
        await expect(dashboard.connection).to_have_attribute("data-state", "open", timeout=20_000)
        await expect(dashboard.feed).to_have_count(3)
        await expect(dashboard.feed.nth(0)).to_contain_text("sent while away")
        await expect(dashboard.feed.nth(0)).to_have_attribute("data-direction", "out")
        await expect(dashboard.feed.nth(1)).to_contain_text("received while away")
        resumed = [url for url in dashboard.sockets if "after=" in url]
        assert not resumed, "no event, so nothing to resume after"


async def test_a_catch_up_reads_the_log_back_to_the_newest_message_shown_or_starts_again_after_long(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    engine = sandbox(gateway)
    await engine.scan()
    for n in range(3):
        await engine.inbound("4915112345678", f"old {n}")
    await dashboard.page.goto(gateway.http + "/dashboard/")
    await dashboard.page.evaluate(FEATURE, API_KEY)
    first = await dashboard.page.evaluate(REFRESH)
    assert first == {"bodies": ["old 2", "old 1", "old 0"], "more": False}

    for n in range(5):
        await engine.inbound("4915112345678", f"missed {n}")
    caught_up = await dashboard.page.evaluate(REFRESH)
    assert caught_up["bodies"] == [f"missed {n}" for n in range(4, -1, -1)] + ["old 2", "old 1", "old 0"]

    # Away for more than a page: the page starts again from the newest, and pages back from there.
    for n in range(55):
        await engine.inbound("4915112345678", f"later {n}")
    restarted = await dashboard.page.evaluate(REFRESH)
    assert restarted["bodies"] == [f"later {n}" for n in range(54, 4, -1)]
    assert restarted["more"] is True
