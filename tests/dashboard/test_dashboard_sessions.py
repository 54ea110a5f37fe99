"""Several sessions in headless Chromium: a card for each, side by side; linking the one chosen, by QR
code or by pairing code; starting and stopping a session from its card."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.conftest import LiveServer
from tests.dashboard.conftest import BROWSER_LOOP, Dashboard
from tests.qr_decode import decode_png
from waqtor.engines.sandbox.engine import SandboxEngine

pytestmark = BROWSER_LOOP


def sandbox(live: LiveServer, session: str = "default") -> SandboxEngine:
    engine = live.gateway.sessions.get(session).engine
    assert isinstance(engine, SandboxEngine)
    return engine


async def create_session(live: LiveServer, name: str) -> None:
    async with live.client() as client:
        response = await client.post("/api/sessions", json={"name": name, "engine": "sandbox"})
        assert response.status_code == 201, response.text


async def test_a_session_created_while_the_page_is_open_gets_its_card_alongside_and_its_own_qr_code(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await sandbox(gateway).scan(pushname="Front Desk")
    await dashboard.signed_in(gateway.http)
    await expect(dashboard.card.locator(".pill")).to_have_text("Connected")
    await create_session(gateway, "shop")

    shop = dashboard.card_of("shop")
    await expect(shop.locator(".pill")).to_have_text("Waiting for scan")
    await expect(dashboard.fact("Engine", "shop")).to_contain_text("sandbox")
    await expect(dashboard.fact("Account")).to_have_text("Front Desk")
    left, right = await dashboard.card.bounding_box(), await shop.bounding_box()
    assert left and right
    assert left["y"] == right["y"], "the cards share a row"
    assert right["x"] >= left["x"] + left["width"], "side by side, not overlapping"

    # Choosing it shows its own QR code in the linking panel.
    await shop.locator(".card-name").click()
    await expect(shop).to_have_class(re.compile(r"\bselected\b"))
    await expect(dashboard.page.locator("#linking-title")).to_have_text("Link a phone: shop")
    image = dashboard.page.locator("#qr-image")
    await expect(image).to_have_attribute("alt", "QR code to link a phone to session shop")
    shop_code = gateway.gateway.sessions.get("shop").monitor.state.qr_code
    assert decode_png(await image.screenshot()) == [shop_code]
    await sandbox(gateway, "shop").scan(pushname="Shop Phone")
    await expect(shop.locator(".pill")).to_have_text("Connected")
    await expect(dashboard.page.locator("#linking")).to_contain_text("Linked to Shop Phone")


async def test_the_pairing_form_shows_the_code_to_type_on_the_phone(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await dashboard.signed_in(gateway.http)
    phone = dashboard.page.locator("#pair-phone")
    await phone.fill("12")
    await dashboard.page.click("#pair-form button[type=submit]")
    await expect(dashboard.page.locator("#pair-error")).to_contain_text("international format")
    await expect(phone).to_have_attribute("aria-invalid", "true")

    await phone.fill("+49 151 12345678")
    await dashboard.page.click("#pair-form button[type=submit]")
    await expect(dashboard.page.locator("#pair-code")).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"))
    await expect(dashboard.page.locator("#pair-result")).to_contain_text("Code for +4915112345678")
    await expect(dashboard.page.locator("#pair-error")).to_be_hidden()

    # Typing the code on the phone links that phone (the sandbox plays it), and the form has done its job.
    await sandbox(gateway).scan()
    await expect(dashboard.fact("Phone")).to_have_text("***5678")
    await expect(dashboard.page.locator("#pairing")).to_be_hidden()


async def test_a_session_stops_and_starts_from_its_card(gateway: LiveServer, dashboard: Dashboard) -> None:
    await dashboard.signed_in(gateway.http)
    await dashboard.card.locator('button[data-action="stop"]').click()
    await expect(dashboard.card.locator(".pill")).to_have_text("Stopped")
    await expect(dashboard.page.locator("#linking")).to_contain_text("Session default is stopped")
    assert not gateway.gateway.sessions.runs_here("default")

    await dashboard.card.locator('button[data-action="start"]').click()
    await expect(dashboard.card.locator(".pill")).to_have_text("Waiting for scan")
    await expect(dashboard.page.locator("#qr-image")).to_be_visible()
    await expect(dashboard.card.locator('button[data-action="restart"]')).to_be_visible()


async def test_a_card_stays_the_same_element_while_its_counters_move(gateway: LiveServer, dashboard: Dashboard) -> None:
    await sandbox(gateway).scan()
    await dashboard.signed_in(gateway.http)
    await expect(dashboard.card.locator(".pill")).to_have_text("Connected")
    stop = await dashboard.card.locator('button[data-action="stop"]').element_handle()
    assert stop is not None
    async with gateway.client() as client:
        for n in range(3):
            response = await client.post("/api/sandbox/inbound", json={"from": "+4915112345678", "body": f"hi {n}"})
            assert response.status_code == 200, response.text
    await expect(dashboard.card.locator('[data-stat="received"]')).to_have_text("3")
    # The counters moved in place: the button under the pointer is the one that was there before.
    assert await stop.evaluate("(button) => button.isConnected")
    await expect(dashboard.card.locator('button[data-action="stop"]')).to_have_count(1)
    await stop.click()
    await expect(dashboard.card.locator(".pill")).to_have_text("Stopped")


async def test_a_session_deleted_while_the_page_is_open_loses_its_card(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    await create_session(gateway, "shop")
    await dashboard.signed_in(gateway.http)
    await expect(dashboard.card_of("shop")).to_be_visible()
    await dashboard.card_of("shop").click()  # the linking panel and the send form work on it now
    async with gateway.client() as client:
        assert (await client.delete("/api/sessions/shop")).status_code == 200
    await expect(dashboard.card_of("shop")).to_have_count(0)
    await expect(dashboard.card).to_be_visible()
    await expect(dashboard.page.locator("#linking")).not_to_contain_text("shop")
