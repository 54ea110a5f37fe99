"""Headless Chromium for the dashboard tests and the screenshots: Debian's /usr/bin/chromium, driven by
Playwright for Python. Playwright's own browser download is never used: it needs the internet.

`require_chromium()` fails (never skips) with a clear message when the browser is missing;
./scripts/test installs it (scripts/_services.sh, `ensure_chromium`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = "/usr/bin/chromium"
# Flags that let Chromium run as root in a container with no display, no GPU and no internet.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
INSTALL_HINT = ("run ./scripts/test (it installs it), or as root: "
                "apt-get update && apt-get install -y chromium")


def require_chromium() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"the dashboard tests drive a real browser and need {CHROMIUM}: {INSTALL_HINT}",
                    pytrace=False)
    return CHROMIUM


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium, closed on exit."""
    executable = require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()
