"""Fixtures for the dashboard in a real browser: a headless Chromium page that records what would be a
defect whatever the test checks (a script error, a policy violation), and the helpers to drive it.

Starting Chromium takes seconds on a small machine, so the browser tests share one browser and each
test gets a fresh context (its own storage, cookies and page). Playwright's objects belong to the event
loop that made them: the browser tests run in one loop for the whole run (`BROWSER_LOOP`), and so do
the fixtures they use here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, ConsoleMessage, Locator, Page, WebSocket, expect

from tests.conftest import API_KEY, LiveServer, live_server, make_settings
from tests.dashboard.browser import chromium

# `pytestmark = BROWSER_LOOP` in a module of browser tests.
BROWSER_LOOP = pytest.mark.asyncio(loop_scope="session")

# Let the page show what it is waiting for; a failure names the locator and what it showed instead.
expect.set_options(timeout=10_000)


@dataclass
class Dashboard:
    """The dashboard in a browser tab, with what happened on the side: errors, sockets, frames."""

    page: Page
    errors: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)

    async def sign_in(self, base: str, key: str = API_KEY) -> None:
        await self.page.goto(base + "/")
        await self.page.fill("#api-key", key)
        await self.page.click("#sign-in-form button[type=submit]")

    async def signed_in(self, base: str) -> None:
        """Sign in with the right key and wait until the page is live."""
        await self.sign_in(base)
        await expect(self.connection).to_have_attribute("data-state", "open")

    @property
    def connection(self) -> Locator:
        return self.page.locator("#connection")

    @property
    def card(self) -> Locator:
        return self.card_of("default")

    def card_of(self, session: str) -> Locator:
        return self.page.locator(f'.session-card[data-session="{session}"]')

    def fact(self, name: str, session: str = "default") -> Locator:
        term = self.page.locator("dt", has_text=name)
        return self.card_of(session).locator(".fact", has=term).locator("dd")

    @property
    def feed(self) -> Locator:
        return self.page.locator("#feed .message")

    async def session_storage(self) -> dict[str, str]:
        return await self.page.evaluate("() => ({...sessionStorage})")  # type: ignore[no-any-return]

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.errors.append(f"console: {message.text}")

    def _socket(self, socket: WebSocket) -> None:
        self.sockets.append(socket.url)
        socket.on("framereceived", lambda payload: self.frames.append(str(payload)))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as shared:
        yield shared


@pytest_asyncio.fixture(loop_scope="session")
async def dashboard(browser: Browser) -> AsyncIterator[Dashboard]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    watched = Dashboard(page)
    page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))
    page.on("console", watched._console)
    page.on("websocket", watched._socket)
    yield watched
    await context.close()
    assert not watched.errors, "the page reported errors:\n" + "\n".join(watched.errors)


@pytest_asyncio.fixture(loop_scope="session")
async def gateway(data_dir: Path) -> AsyncIterator[LiveServer]:
    """A live gateway on the sandbox engine, in the browser tests' loop."""
    async with live_server(make_settings(data_dir)) as server:
        yield server
