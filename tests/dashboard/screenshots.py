"""Take the dashboard screenshots shown in the README (docs/img/dashboard-*.png).

Run `./scripts/screenshots` after changing how the dashboard looks: it starts a gateway on the sandbox
engine in a temporary folder, drives the dashboard in headless Chromium through each part, and writes
the images. `./scripts/screenshots campaigns` takes only the campaign monitor's. It is not part of the
test suite (the tests check behaviour, these are pictures).
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


NO_CAPS = {"perMinute": None, "perHour": None, "perDay": None}
# Campaigns in each state the list shows: (name, recipients, throttle, what happens to it).
CAMPAIGNS: list[tuple[str, int, dict[str, Any], str]] = [
    ("Spring newsletter", 1200, {"minDelay": 8, "maxDelay": 20, "perMinute": 20, "perHour": 200,
                                 "perDay": 1000}, "draft"),
    ("October orders", 40, {"minDelay": 0, "maxDelay": 0, **NO_CAPS}, "complete"),
    ("Loyalty points reminder", 300, {"minDelay": 0.05, "maxDelay": 0.1, **NO_CAPS}, "pause"),
    ("Black Friday early access", 500, {"minDelay": 0.3, "maxDelay": 0.6, **NO_CAPS}, "run"),
]
CUSTOMERS = (b"phone;name;order;total\n+971 50 123 4567;Ana;A-1001;120 AED\n"
             b"+49 151 12345678;Bo;A-1002;45 EUR\n+49 151 12345678;Bo (work);A-1003;80 EUR\n"
             b"0151 2345;Cy;A-1004;10 EUR\n+44 7911 123456;Dee;A-1005;\n")


async def post(live: LiveServer, path: str, body: dict[str, Any] | None = None) -> Any:
    async with live.client() as client:
        response = await client.post(path, json=body or {})
        response.raise_for_status()
        return response.json().get("data")


async def campaigns(page: Page, live: LiveServer) -> None:
    """The campaign list, a running campaign's page, and the new-campaign form's preview (signed in,
    the default session connected)."""
    await post(live, "/api/sandbox/contacts", {"phone": "+4915200000007", "fail": "delivery",
                                                 "error": "the recipient's phone number is not on WhatsApp"})
    for name, count, throttle, fate in CAMPAIGNS:
        recipients = [{"phone": f"+4915{200000000 + n}", "name": f"Customer {n}"} for n in range(count)]
        created = await post(live, "/api/campaigns", {
            "name": name, "message": {"text": "Hi {name}, " + name.lower() + " is here."},
            "throttle": throttle, "recipients": recipients, "start": fate != "draft"})
        cid = created["campaign"]["id"]
        if fate == "complete":
            pill = page.locator(f'#campaigns tr[data-campaign="{cid}"] .pill')
            await expect(pill).to_have_text("Completed")
        elif fate == "pause":
            await page.wait_for_timeout(1500)
            await post(live, f"/api/campaigns/{cid}/pause")
    await page.wait_for_timeout(4000)  # the running one gets under way
    await page.locator(".campaigns-panel").scroll_into_view_if_needed()
    await shoot(page, "campaigns", ".campaigns-panel")

    await page.locator("#campaigns .campaign-name", has_text="Black Friday").click()
    await expect(page.locator("#recipients tbody tr").first).to_be_visible()
    await page.wait_for_timeout(1000)
    await shoot(page, "campaign", ".campaigns-panel")

    await page.click("#campaign-new")
    await page.fill("#cf-name", "October orders")
    await page.fill("#cf-text", "Hi {name}, your order {order} ({total}) has shipped. Reply STOP to opt out.")
    await page.set_input_files("#cf-csv", files=[{"name": "customers.csv", "mimeType": "text/csv",
                                                  "buffer": CUSTOMERS}])
    await page.click("#cf-preview")
    await expect(page.locator("#cf-create")).to_be_enabled()
    await shoot(page, "campaign-new", ".campaigns-panel")


async def shoot(page: Page, name: str, selector: str | None = None) -> Path:
    path = OUT / f"dashboard-{name}.png"
    if selector is None:
        await page.screenshot(path=path)
    else:
        await page.locator(selector).screenshot(path=path)
    print(f"wrote {path.relative_to(OUT.parents[1])}")
    return path


async def only_campaigns() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp) / "data", sandbox_ack_delay=0.2, log_level="warning")
        async with chromium() as browser:
            page = await browser.new_page(viewport=VIEWPORT)
            async with live_server(settings) as live:
                await post(live, "/api/sandbox/scan", {"pushname": "Tariq Said", "phone": "+971501231583"})
                await page.goto(live.http + "/")
                await page.fill("#api-key", API_KEY)
                await page.click("#sign-in-form button[type=submit]")
                await expect(page.locator("#connection")).to_have_attribute("data-state", "open")
                await campaigns(page, live)


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if sys.argv[1:] == ["campaigns"]:
        await only_campaigns()
        return
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
                await campaigns(page, live)
                await page.evaluate("window.scrollTo(0, 0)")
            await expect(page.locator("#connection")).to_contain_text("Disconnected")
            await shoot(page, "disconnected")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
