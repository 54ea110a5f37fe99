"""/docs and /redoc in headless Chromium with every other site unreachable, as on a server without
internet access: both draw the API from the gateway alone, and their policy refuses nothing they need."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest_asyncio
from playwright.async_api import Browser, ConsoleMessage, Page, Route, expect

from tests.conftest import LiveServer
from tests.dashboard.conftest import BROWSER_LOOP

pytestmark = BROWSER_LOOP

# ReDoc's footer shows Redocly's logo from their CDN; the policy refuses it and ReDoc leaves it out.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@dataclass
class Offline:
    """A tab that can reach the gateway only, recording what it tried elsewhere and what was refused."""

    page: Page
    gateway: str
    elsewhere: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith((self.gateway, "data:", "blob:")):
            await route.continue_()
        else:
            self.elsewhere.append(url)
            await route.abort("internetdisconnected")

    def console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.refused.append(message.text)


@pytest_asyncio.fixture(loop_scope="session")
async def offline(browser: Browser, gateway: LiveServer) -> AsyncIterator[Offline]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    tab = Offline(page, gateway.http)
    await context.route("**/*", tab.route)
    page.on("console", tab.console)
    page.on("pageerror", lambda error: tab.refused.append(f"uncaught: {error}"))
    yield tab
    await context.close()


async def test_swagger_ui_draws_every_operation_offline(offline: Offline, gateway: LiveServer) -> None:
    await offline.page.goto(gateway.http + "/docs")
    await expect(offline.page.locator(".opblock").first).to_be_visible()
    assert await offline.page.locator(".opblock").count() > 40
    await expect(offline.page.get_by_role("button", name="Authorize")).to_be_visible()
    assert offline.elsewhere == [] and offline.refused == []


async def test_redoc_draws_the_api_offline(offline: Offline, gateway: LiveServer) -> None:
    await offline.page.goto(gateway.http + "/redoc")
    await expect(offline.page.locator("h1", has_text="Waqtor")).to_be_visible()
    await expect(offline.page.locator("h2", has_text="Gateway health").first).to_be_attached()
    assert offline.elsewhere == []
    assert all(REDOC_LOGO in text for text in offline.refused), offline.refused
