"""The webhooks list in headless Chromium: read only, with the health of each webhook's deliveries,
brought up to date when the gateway disables one."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import expect

from tests.conftest import free_port, live_server, make_settings
from tests.dashboard.conftest import BROWSER_LOOP, Dashboard

pytestmark = BROWSER_LOOP


async def test_webhooks_show_their_delivery_health_and_a_disabled_one_shows_at_once(
        data_dir: Path, dashboard: Dashboard) -> None:
    # One delivery given up disables a webhook; nothing listens on `closed`, so its first delivery fails.
    settings = make_settings(data_dir, webhook_max_attempts=1, webhook_disable_after=1, webhook_poll_interval=0.1)
    async with live_server(settings) as live:
        closed, quiet = free_port(), free_port()
        async with live.client() as client:
            failing = await client.post("/api/webhooks", json={"url": f"http://127.0.0.1:{closed}/hooks",
                                                               "events": ["message"]})
            idle = await client.post("/api/webhooks", json={"url": f"http://127.0.0.1:{quiet}/campaigns",
                                                            "events": ["campaign"], "sessions": ["shop"]})
            assert failing.status_code == 201 and idle.status_code == 201, (failing.text, idle.text)
            assert (await client.post("/api/sandbox/scan")).status_code == 200
        await dashboard.signed_in(live.http)
        rows = dashboard.page.locator("#webhooks tbody tr")
        await expect(rows).to_have_count(2)
        await expect(rows.nth(0)).to_contain_text(f"http://127.0.0.1:{closed}/hooks")
        await expect(rows.nth(0).locator(".health")).to_have_text("Healthy")
        await expect(rows.nth(1).locator("td").nth(1)).to_have_text("campaign")
        await expect(rows.nth(1).locator("td").nth(2)).to_have_text("shop")
        assert "secret" not in (await dashboard.page.locator("#webhooks").inner_text()).lower()

        async with live.client() as client:
            response = await client.post("/api/sandbox/inbound", json={"from": "+4915112345678", "body": "hi"})
            assert response.status_code == 200, response.text
        health = rows.nth(0).locator(".health")
        await expect(health).to_have_text("Disabled")
        await expect(health).to_have_attribute("title", re.compile(r"in a row failed"))
        await expect(rows.nth(1).locator(".health")).to_have_text("Healthy")


async def test_a_key_without_admin_sees_a_note_instead_of_a_failure(data_dir: Path, dashboard: Dashboard) -> None:
    async with live_server(make_settings(data_dir)) as live:
        async with live.client() as client:
            created = await client.post("/api/keys", json={"name": "support desk", "scopes": ["read", "send"]})
            assert created.status_code == 201, created.text
        await dashboard.sign_in(live.http, created.json()["data"]["key"])
        await expect(dashboard.connection).to_have_attribute("data-state", "open")
        panel = dashboard.page.locator("#webhooks")
        await expect(panel.locator('[data-role="restricted"]')).to_contain_text("admin scope")
        await expect(panel.locator(".error")).to_have_count(0)
