"""Messages in headless Chromium: history from the log, sending from the form with ticks that move to
read, refusals shown with their reason, files, and the CSV export."""

from __future__ import annotations

import asyncio
import csv
import re
from pathlib import Path

from playwright.async_api import Request, expect

from tests.conftest import API_KEY, LiveServer, live_server, make_settings
from tests.dashboard.conftest import BROWSER_LOOP, Dashboard
from tests.messaging.samples import sample
from waqtor.engines.sandbox.engine import SandboxEngine

pytestmark = BROWSER_LOOP

PEER = "4915112345678"

# Every status the ticks of each sent message showed, in order, by message id (the page keeps no such
# history).
RECORD_TICKS = """
window.__ticks = {};
new MutationObserver(() => {
  for (const tick of document.querySelectorAll('#feed .message.out .ticks')) {
    const seen = (window.__ticks[tick.closest('.message').dataset.id] ??= []);
    if (seen.at(-1) !== tick.dataset.status) seen.push(tick.dataset.status);
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""
STEPS = ["queued", "sent", "delivered", "read"]


def sandbox(live: LiveServer) -> SandboxEngine:
    engine = live.gateway.sessions.get("default").engine
    assert isinstance(engine, SandboxEngine)
    return engine


async def send_from_the_form(dashboard: Dashboard, to: str, text: str) -> None:
    await dashboard.page.fill("#send-to", to)
    await dashboard.page.fill("#send-text", text)
    await dashboard.page.click("#send-form button[type=submit]")


# ---- history ----------------------------------------------------------------------------------------

async def test_older_history_comes_in_on_demand_by_paging_and_by_searching(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await sandbox(gateway).scan()
    await sandbox(gateway).inbound(PEER, "Invoice 77 is attached")
    for n in range(54):
        await sandbox(gateway).inbound("4917600000001", f"message {n}")
    await dashboard.signed_in(gateway.http)
    await expect(dashboard.page.locator("#feed-count")).to_have_text("50 messages")
    await expect(dashboard.feed.first).to_contain_text("message 53")
    await expect(dashboard.feed.last).to_contain_text("message 4")

    # The search goes to the log too, so a match older than what the page holds comes in.
    await dashboard.page.fill("#feed-search", "invoice")
    await expect(dashboard.feed).to_have_count(1)
    await expect(dashboard.feed.first).to_contain_text("Invoice 77 is attached")
    await dashboard.page.fill("#feed-search", "+49 151 12345678")
    await expect(dashboard.feed).to_have_count(1)
    await expect(dashboard.feed.first.locator(".peer")).to_have_text("+" + PEER)

    await dashboard.page.fill("#feed-search", "")
    await dashboard.page.click("#feed-more")
    await expect(dashboard.page.locator("#feed-count")).to_have_text("55 messages")
    await expect(dashboard.feed.last).to_contain_text("Invoice 77 is attached")
    await expect(dashboard.page.locator("#feed-more")).to_be_hidden()


# ---- sending ----------------------------------------------------------------------------------------

async def test_ticks_move_with_the_acknowledgements_to_read_or_to_a_cross_with_the_error(
        data_dir: Path, dashboard: Dashboard) -> None:
    # Acknowledgements a little apart, so that each step has its moment on the page.
    async with live_server(make_settings(data_dir, sandbox_ack_delay=0.3)) as live:
        await sandbox(live).scan()
        async with live.client() as client:
            response = await client.post("/api/sandbox/contacts", json={
                "phone": "+4917600000002", "fail": "delivery", "error": "recipient phone is switched off"})
            assert response.status_code == 200, response.text
        await dashboard.page.add_init_script(RECORD_TICKS)
        await dashboard.signed_in(live.http)

        await send_from_the_form(dashboard, "+4917600000002", "Are you there?")
        failed = dashboard.feed.first.locator(".ticks")
        await expect(failed).to_have_attribute("data-status", "failed")
        await expect(failed).to_have_text("✗")
        await expect(failed).to_have_attribute("title", "Failed: recipient phone is switched off")

        await send_from_the_form(dashboard, "+49 151 12345678", "Your order ships today")
        await expect(dashboard.page.locator("#send-result")).to_contain_text("Sent to +" + PEER)
        message = dashboard.feed.first
        await expect(message).to_have_attribute("data-direction", "out")
        await expect(message.locator(".body")).to_have_text("Your order ships today")
        ticks = message.locator(".ticks")
        await expect(ticks).to_have_attribute("data-status", "read")
        await expect(ticks).to_have_text("✓✓")
        await expect(ticks).to_have_attribute("title", "Read")
        await expect(ticks).to_have_css("color", "rgb(2, 132, 199)")  # read ticks are blue
        seen = (await dashboard.page.evaluate("() => window.__ticks"))[await message.get_attribute("data-id")]
        assert seen == sorted(seen, key=STEPS.index), f"ticks only move forward: {seen}"
        assert "delivered" in seen and seen[-1] == "read", seen
        await expect(dashboard.fact("Sent")).to_have_text("2")
        await expect(dashboard.page.locator("#send-text")).to_have_value("")


async def test_a_refused_send_says_why_on_its_field_and_the_corrected_file_goes_out(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await sandbox(gateway).scan()
    await dashboard.signed_in(gateway.http)
    picture = sample("png", 600)
    await dashboard.page.set_input_files("#send-file", files=[
        {"name": "menu.png", "mimeType": "image/png", "buffer": picture}])
    await send_from_the_form(dashboard, "12", "Today's menu")
    error = dashboard.page.locator("#send-error")
    await expect(error).to_contain_text("Not sent: invalid phone number '12'")
    await expect(error.locator(".code")).to_have_text(re.compile(r"^invalid_phone · [a-z_]+$"))
    await expect(dashboard.page.locator("#send-to")).to_have_attribute("aria-invalid", "true")
    await expect(dashboard.page.locator("#send-text")).to_have_value("Today's menu")
    await expect(dashboard.feed).to_have_count(0)

    # The draft is kept: correct the number and send again (a multipart upload, as a file is chosen).
    await dashboard.page.fill("#send-to", "+" + PEER)
    await dashboard.page.click("#send-form button[type=submit]")
    await expect(error).to_be_hidden()
    await expect(dashboard.page.locator("#send-to")).not_to_have_attribute("aria-invalid", "true")
    message = dashboard.feed.first
    await expect(message.locator(".media")).to_contain_text("image menu.png · 600 B")
    await expect(message.locator(".body")).to_have_text("Today's menu")
    # The sandbox reads it at once; each acknowledgement redraws the feed, and a click between the
    # press and the release on a redrawn button is no click. Download once the ticks have settled.
    await expect(message.locator(".ticks")).to_have_attribute("data-status", "read")
    async with dashboard.page.expect_download() as info:
        await message.locator(".media button").click()
    download = await info.value
    assert download.suggested_filename == "menu.png"
    assert await asyncio.to_thread(Path(await download.path()).read_bytes) == picture


# ---- export -----------------------------------------------------------------------------------------

def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


async def test_export_downloads_the_matching_messages_as_csv_without_the_key_in_a_url(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await sandbox(gateway).scan()
    for text in ("First order", "Second order", "Thanks"):
        await sandbox(gateway).inbound(PEER, text)
    requests: list[Request] = []
    dashboard.page.on("request", lambda request: requests.append(request))
    await dashboard.signed_in(gateway.http)
    await expect(dashboard.page.locator("#feed-count")).to_have_text("3 messages")
    await dashboard.page.fill("#feed-search", "order")

    async with dashboard.page.expect_download() as info:
        await dashboard.page.click("#feed-export")
    download = await info.value
    assert download.url.startswith("blob:")
    assert re.fullmatch(r"messages-\d{8}T\d{6}Z\.csv", download.suggested_filename)
    rows = await asyncio.to_thread(csv_rows, await download.path())
    assert [(row["direction"], row["from"], row["body"]) for row in rows] == [
        ("in", f"{PEER}@s.whatsapp.net", "First order"), ("in", f"{PEER}@s.whatsapp.net", "Second order")]

    exports = [request for request in requests if "/api/messages/export" in request.url]
    assert len(exports) == 1
    assert API_KEY not in exports[0].url
    assert "q=order" in exports[0].url
    assert await exports[0].header_value("x-api-key") == API_KEY
