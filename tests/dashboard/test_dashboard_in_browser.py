"""The dashboard in headless Chromium against a live gateway on the sandbox engine: signing in, the
status card, linking a phone and the live message feed. Reconnecting is in test_dashboard_connection.py."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import expect

from tests.conftest import API_KEY, LiveServer, eventually, live_server, make_settings
from tests.dashboard.conftest import BROWSER_LOOP, Dashboard
from tests.qr_decode import decode_png

pytestmark = BROWSER_LOOP

WRONG_KEY = "wrong-key-0123456789abcdef"


async def scan(live: LiveServer, **body: str) -> None:
    async with live.client() as client:
        response = await client.post("/api/sandbox/scan", json=body)
        assert response.status_code == 200, response.text


async def inbound(live: LiveServer, sender: str, text: str) -> None:
    async with live.client() as client:
        response = await client.post("/api/sandbox/inbound", json={"from": sender, "body": text})
        assert response.status_code == 200, response.text


# ---- sign-in ----------------------------------------------------------------------------------------

async def test_root_leads_to_the_sign_in_form_which_refuses_a_wrong_key_clearly(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await dashboard.page.goto(gateway.http + "/")
    assert dashboard.page.url == gateway.http + "/dashboard/"
    await expect(dashboard.page.locator("#api-key")).to_be_focused()
    await expect(dashboard.page.locator("#app")).to_be_hidden()

    await dashboard.page.fill("#api-key", WRONG_KEY)
    await dashboard.page.click("#sign-in-form button[type=submit]")
    await expect(dashboard.page.locator("#sign-in-error")).to_have_text(
        "That API key was refused. Check it and try again.")
    await expect(dashboard.page.locator("#app")).to_be_hidden()
    assert await dashboard.session_storage() == {}
    assert dashboard.sockets == []


async def test_signing_in_goes_live_keeping_the_key_in_this_tabs_session_storage_only(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await dashboard.signed_in(gateway.http)
    await expect(dashboard.page.locator("#sign-in")).to_be_hidden()
    await expect(dashboard.card.locator(".pill")).to_have_text("Waiting for scan")
    await expect(dashboard.fact("Engine")).to_contain_text("sandbox")
    assert await dashboard.session_storage() == {"waqtor.apiKey": API_KEY}
    assert await dashboard.page.evaluate("() => localStorage.length") == 0
    assert await dashboard.page.context.cookies() == []
    assert API_KEY not in await dashboard.page.content()
    # The socket opens with a single-use ticket: the key never sits in a URL.
    [socket] = dashboard.sockets
    assert re.search(r"/ws\?ticket=wqtt_[A-Za-z0-9_-]+$", socket), socket
    assert API_KEY not in socket and "apiKey" not in socket

    # A reload keeps the tab signed in.
    await dashboard.page.reload()
    await expect(dashboard.connection).to_have_attribute("data-state", "open")
    await expect(dashboard.page.locator("#sign-in")).to_be_hidden()


async def test_signing_out_forgets_the_key_and_closes_the_socket(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await dashboard.signed_in(gateway.http)
    await eventually(lambda: len(gateway.gateway.bridge.clients) == 1, 5, "the page's socket")
    await dashboard.page.click("#sign-out")
    await expect(dashboard.page.locator("#api-key")).to_be_visible()
    await expect(dashboard.page.locator("#app")).to_be_hidden()
    assert await dashboard.session_storage() == {}
    await eventually(lambda: not gateway.gateway.bridge.clients, 5, "the socket to close")


async def test_a_remembered_key_the_gateway_no_longer_accepts_asks_to_sign_in_again(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await dashboard.page.add_init_script(f"sessionStorage.setItem('waqtor.apiKey', {WRONG_KEY!r})")
    await dashboard.page.goto(gateway.http + "/dashboard/")
    await expect(dashboard.page.locator("#sign-in-error")).to_have_text(
        "The gateway no longer accepts this key. Sign in again.")
    await expect(dashboard.page.locator("#app")).to_be_hidden()


async def test_a_key_revoked_while_signed_in_closes_the_socket_and_signs_the_page_out(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    async with gateway.client() as http:
        created = (await http.post("/api/keys", json={"name": "dashboard", "scopes": ["admin"]})).json()["data"]
    await dashboard.sign_in(gateway.http, created["key"])
    await expect(dashboard.connection).to_have_attribute("data-state", "open")
    await eventually(lambda: len(gateway.gateway.bridge.clients) == 1, 5, "the page's socket")
    async with gateway.client() as http:
        assert (await http.delete(f"/api/keys/{created['id']}")).status_code == 200
    await expect(dashboard.page.locator("#sign-in-error")).to_have_text(
        "The gateway no longer accepts this key. Sign in again.")
    await expect(dashboard.page.locator("#app")).to_be_hidden()
    assert await dashboard.session_storage() == {}
    assert len(dashboard.sockets) == 1, "a refused key is not retried"


# ---- status card and linking ------------------------------------------------------------------------

async def test_the_qr_code_is_drawn_as_an_image_of_the_current_code_until_a_scan_replaces_it(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await dashboard.signed_in(gateway.http)
    image = dashboard.page.locator("#qr-image")
    await expect(image).to_be_visible()
    assert (await image.get_attribute("src") or "").startswith("blob:")
    await expect(dashboard.page.locator("#qr-countdown")).to_have_text(re.compile(r"^Expires in \d+ s$"))
    current = gateway.gateway.sessions.get("default").monitor.state.qr_code
    assert decode_png(await image.screenshot()) == [current]

    await scan(gateway, pushname="Tariq Said", phone="+971501231583")
    await expect(dashboard.card.locator(".pill")).to_have_text("Connected")
    await expect(dashboard.page.locator("#qr-image")).to_have_count(0)
    await expect(dashboard.fact("Account")).to_have_text("Tariq Said")
    await expect(dashboard.fact("Phone")).to_have_text("***1583")
    await expect(dashboard.fact("Platform")).to_have_text("android")
    await expect(dashboard.page.locator("#linking")).to_contain_text("Linked to Tariq Said · ***1583")


async def test_each_new_qr_code_replaces_the_one_on_show(data_dir: Path, dashboard: Dashboard) -> None:
    async with live_server(make_settings(data_dir, sandbox_qr_interval=1.0)) as live:
        await dashboard.signed_in(live.http)
        image = dashboard.page.locator("#qr-image")
        await expect(image).to_be_visible()
        first = await image.get_attribute("src")
        await expect(image).not_to_have_attribute("src", first or "")
        # The page let go of the image it replaced.
        gone = await dashboard.page.evaluate("""u => new Promise(done => {
            const probe = new Image();
            probe.onload = () => done('kept');
            probe.onerror = () => done('released');
            probe.src = u;
        })""", first)
        assert gone == "released"


async def test_uptime_counts_on_in_the_browser(gateway: LiveServer, dashboard: Dashboard) -> None:
    await scan(gateway)
    await dashboard.signed_in(gateway.http)
    uptime = dashboard.fact("Uptime")
    await expect(uptime).to_have_text(re.compile(r"^\d+s$"))
    before = await uptime.text_content()
    await expect(uptime).not_to_have_text(before or "")
    assert int((await uptime.text_content() or "").rstrip("s")) > int((before or "").rstrip("s"))


async def test_logout_in_one_click_brings_a_new_qr_code(gateway: LiveServer, dashboard: Dashboard) -> None:
    await scan(gateway)
    await dashboard.signed_in(gateway.http)
    await dashboard.page.click("#logout")
    await expect(dashboard.card.locator(".pill")).to_have_text("Waiting for scan")
    await expect(dashboard.page.locator("#qr-image")).to_be_visible()
    assert str(gateway.gateway.sessions.get("default").monitor.state.status) == "qr"


async def test_the_last_error_is_shown_on_the_status_card(data_dir: Path, dashboard: Dashboard) -> None:
    async with live_server(make_settings(data_dir, sandbox_reconnect_delay=60)) as live:
        await scan(live)
        await dashboard.signed_in(live.http)
        await expect(dashboard.card.locator('[data-role="last-error"]')).to_have_text("No error reported")
        async with live.client() as client:
            assert (await client.post("/api/sandbox/fail", json={"kind": "disconnect"})).status_code == 200
        await expect(dashboard.card.locator(".pill")).to_have_text("Disconnected")
        await expect(dashboard.card.locator('[data-role="last-error"]')).to_contain_text(
            "connection lost (sandbox fault)")


# ---- live message feed ------------------------------------------------------------------------------

async def test_an_incoming_message_appears_in_the_feed(gateway: LiveServer, dashboard: Dashboard) -> None:
    await scan(gateway)
    await dashboard.signed_in(gateway.http)
    await inbound(gateway, "+4915112345678", "Hello from the sandbox")
    message = dashboard.feed.first
    await expect(message).to_contain_text("Hello from the sandbox")
    await expect(message).to_have_attribute("data-direction", "in")
    await expect(message.locator(".direction")).to_have_text("↓ Received")
    await expect(message.locator(".peer")).to_have_text("+4915112345678")
    await expect(message.locator("time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    await expect(dashboard.fact("Received")).to_have_text("1")


async def test_the_feed_filters_by_direction_and_searches_what_it_shows(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await scan(gateway)
    await dashboard.signed_in(gateway.http)
    await inbound(gateway, "+4915112345678", "Order 17 has shipped")
    await inbound(gateway, "+4917600000001", "Where is my order?")
    await inbound(gateway, "+4915112345678", "Thanks!")
    count = dashboard.page.locator("#feed-count")
    await expect(count).to_have_text("3 messages")
    await expect(dashboard.feed.first).to_contain_text("Thanks!")  # newest first

    await dashboard.page.fill("#feed-search", "order")
    await expect(dashboard.feed).to_have_count(2)
    await expect(count).to_have_text("Showing 2 of 3 messages")

    await dashboard.page.fill("#feed-search", "+4917600")
    await expect(dashboard.feed).to_have_count(1)
    await expect(dashboard.feed.first).to_contain_text("Where is my order?")

    await dashboard.page.fill("#feed-search", "")
    await dashboard.page.select_option("#feed-direction", "out")
    await expect(dashboard.feed).to_have_count(0)
    await expect(dashboard.page.locator("#feed")).to_have_text("No message matches the filter.")

    await dashboard.page.select_option("#feed-direction", "in")
    await expect(dashboard.feed).to_have_count(3)
