"""Take the dashboard screenshots shown in the README (docs/img/dashboard-*.png).

Run `./scripts/screenshots` after changing how the dashboard looks: it starts a gateway on the sandbox
engine in a temporary folder, drives the dashboard in headless Chromium through each part, and writes
the images. It is not part of the test suite (the tests check behaviour, these are pictures).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.conftest import API_KEY, LiveServer, live_server, make_settings
from tests.dashboard.browser import chromium

OUT = Path(__file__).resolve().parents[2] / "docs" / "img"
VIEWPORT = {"width": 1280, "height": 860}
INBOUND = [
    ("+4915112345678", "Hi! Is my order 1042 on its way?"),
    ("+971501234567", "Meeting moved to 3 pm, see you there."),
]
# Contacts that answer differently, so the feed shows each kind of ticks.
CONTACTS: list[dict[str, Any]] = [
    {"phone": "+4917600000001", "reads": False},
    {"phone": "+4917600000002", "fail": "delivery", "error": "the recipient's phone is switched off"},
]
OUTBOUND = [
    ("+4917600000002", "Your table for 4 is booked for 8 pm."),
    ("+4917600000001", "Reminder: the shop closes at 6 pm today."),
    ("+4915112345678", "Yes, order 1042 ships today. Tracking: DE1042."),
]


async def post(live: LiveServer, path: str, body: dict[str, Any] | None = None) -> None:
    async with live.client() as client:
        response = await client.post(path, json=body or {})
        response.raise_for_status()


async def shoot(page: Page, name: str, selector: str | None = None) -> Path:
    path = OUT / f"dashboard-{name}.png"
    if selector is None:
        await page.screenshot(path=path)
    else:
        await page.locator(selector).screenshot(path=path)
    print(f"wrote {path.relative_to(OUT.parents[1])}")
    return path


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp) / "data", sandbox_qr_interval=60.0, sandbox_ack_delay=0.2,
                                 log_level="warning")
        async with chromium() as browser:
            page = await browser.new_page(viewport=VIEWPORT)
            async with live_server(settings) as live:
                await page.goto(live.http + "/")
                await expect(page.locator("#api-key")).to_be_visible()
                await page.fill("#api-key", "wqt_" + "•" * 12)
                await shoot(page, "sign-in")

                await page.fill("#api-key", API_KEY)
                await page.click("#sign-in-form button[type=submit]")
                await expect(page.locator("#qr-image")).to_be_visible()
                await expect(page.locator("#qr-countdown")).to_contain_text("Expires in")
                await page.fill("#pair-phone", "+971 50 123 1583")
                await page.click("#pair-form button[type=submit]")
                await expect(page.locator("#pair-code")).to_be_visible()
                await shoot(page, "linking", ".linking-panel")

                await post(live, "/api/sandbox/scan", {"pushname": "Tariq Said", "phone": "+971501231583"})
                await post(live, "/api/sessions", {"name": "shop", "engine": "sandbox"})
                default = page.locator('.session-card[data-session="default"]')
                await expect(default.locator(".pill")).to_have_text("Connected")
                await expect(page.locator('.session-card[data-session="shop"] .pill')).to_have_text(
                    "Waiting for scan")
                for contact in CONTACTS:
                    await post(live, "/api/sandbox/contacts", contact)
                for sender, text in INBOUND:
                    await post(live, "/api/sandbox/inbound", {"from": sender, "body": text})
                for to, text in OUTBOUND:
                    await post(live, "/api/messages/send", {"to": to, "text": text})
                feed = page.locator("#feed .message")
                await expect(feed).to_have_count(len(INBOUND) + len(OUTBOUND))
                await expect(feed.first.locator(".ticks")).to_have_attribute("data-status", "read")
                await expect(page.locator('#feed .ticks[data-status="failed"]')).to_have_count(1)
                await expect(default.locator("[data-uptime]")).to_have_text("3s", timeout=10_000)
                await shoot(page, "sessions", ".sessions-panel")
                await shoot(page, "feed", ".feed-panel")

                await page.locator("#send-to").fill("+49 151 1234")
                await page.locator("#send-text").fill("Your order ships today")
                await page.click("#send-form button[type=submit]")
                await expect(page.locator("#send-error")).to_be_visible()
                await shoot(page, "send", ".send-panel")
                await page.evaluate("window.scrollTo(0, 0)")
            await expect(page.locator("#connection")).to_contain_text("Disconnected")
            await shoot(page, "disconnected")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
