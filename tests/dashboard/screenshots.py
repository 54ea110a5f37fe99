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

from playwright.async_api import Page, expect

from tests.conftest import API_KEY, LiveServer, live_server, make_settings
from tests.dashboard.browser import chromium

OUT = Path(__file__).resolve().parents[2] / "docs" / "img"
VIEWPORT = {"width": 1280, "height": 860}
MESSAGES = [
    ("+4915112345678", "Hi! Is my order 1042 on its way?"),
    ("+971501234567", "Meeting moved to 3 pm, see you there."),
    ("+4915112345678", "Great, thanks for the quick answer!"),
]


async def post(live: LiveServer, path: str, body: dict[str, str] | None = None) -> None:
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
        settings = make_settings(Path(tmp) / "data", sandbox_qr_interval=60.0, log_level="warning")
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
                await shoot(page, "linking")

                await post(live, "/api/sandbox/scan", {"pushname": "Tariq Said", "phone": "+971501231583"})
                await expect(page.locator(".session-card .pill")).to_have_text("Connected")
                for sender, text in MESSAGES:
                    await post(live, "/api/sandbox/inbound", {"from": sender, "body": text})
                await expect(page.locator("#feed .message")).to_have_count(len(MESSAGES))
                await expect(page.locator("[data-uptime]")).to_have_text("3s", timeout=10_000)
                await shoot(page, "status")

                await page.fill("#feed-search", "thanks")
                await expect(page.locator("#feed .message")).to_have_count(1)
                await page.fill("#feed-search", "+49151")
                await expect(page.locator("#feed .message")).to_have_count(2)
                await shoot(page, "feed", ".feed-panel")
                await page.fill("#feed-search", "")
            await expect(page.locator("#connection")).to_contain_text("Disconnected")
            await shoot(page, "disconnected")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
