"""The dashboard's pure modules, fed values in the browser that runs them (imported from the gateway,
as the page imports them): formatting, filtering, backoff, the clock estimate and the store's ordering."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page

from tests.conftest import live_server, make_settings
from tests.dashboard.conftest import BROWSER_LOOP

pytestmark = BROWSER_LOOP


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def page(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Page]:
    """One page for the whole module: these tests only import modules into it."""
    async with live_server(make_settings(tmp_path_factory.mktemp("modules") / "data")) as gateway:
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(gateway.http + "/dashboard/")
        yield page
        await context.close()


async def run(page: Page, module: str, body: str) -> Any:
    """Evaluate `body` (an expression using `m`, the imported module) in the page."""
    return await page.evaluate(f"async () => {{ const m = await import('./js/{module}'); return {body}; }}")


async def test_durations_read_as_hours_minutes_and_seconds(page: Page) -> None:
    shown = await run(page, "format.js", "[0, 59, 61, 3725, 2 * 86400 + 3 * 3600 + 4 * 60, -5, null]"
                                         ".map(m.formatDuration)")
    assert shown == ["0s", "59s", "1m 01s", "1h 02m 05s", "2d 03h 04m", "0s", "0s"]


async def test_a_whatsapp_id_reads_as_the_phone_number(page: Page) -> None:
    shown = await run(page, "format.js", "['4915112345678@s.whatsapp.net', "
                                         "'4915112345678:12@s.whatsapp.net', "
                                         "'120363025@g.us', 'status@broadcast', null].map(m.peer)")
    assert shown == ["+4915112345678", "+4915112345678", "120363025", "status", ""]


async def test_feed_filter_matches_direction_and_text_in_any_case(page: Page) -> None:
    matches = await run(page, "format.js", """[
        m.messageMatches({direction: 'in', body: 'Hello'}, {direction: 'all', query: ''}),
        m.messageMatches({direction: 'in', body: 'Hello'}, {direction: 'out', query: ''}),
        m.messageMatches({direction: 'in', body: 'Hello World'}, {direction: 'in', query: ' WORLD '}),
        m.messageMatches({direction: 'in', body: 'x', from: '4915@s.whatsapp.net'}, {query: '+4915'}),
        m.messageMatches({direction: 'in', body: 'x', pushName: 'Tariq'}, {query: 'tariq'}),
        m.messageMatches({direction: 'in', body: 'x'}, {query: 'y'}),
    ]""")
    assert matches == [True, False, True, True, True, False]


async def test_reconnect_pauses_grow_with_jitter_up_to_a_ceiling(page: Page) -> None:
    delays = await run(page, "live.js", "[[0, 0], [0, 0.999], [1, 0], [3, 0.5], [20, 0], [20, 0.999]]"
                                        ".map(([attempt, r]) => m.backoffDelay(attempt, r))")
    assert delays == [250, 500, 500, 3000, 7500, 14993]


async def test_the_clock_estimate_keeps_the_freshest_sample_until_a_reconnect(page: Page) -> None:
    offsets = await run(page, "clock.js", """(() => {
        const clock = new m.ServerClock();
        const offset = () => Math.round((clock.now() - Date.now()) / 1000);
        const seen = [offset()];
        clock.observe(Date.now() + 60_000); seen.push(offset());
        clock.observe(Date.now() + 10_000); seen.push(offset());  // an older frame: ignored
        clock.restart();
        clock.observe(Date.now() - 5_000); seen.push(offset());   // another gateway's clock
        return seen;
    })()""")
    assert offsets == [0, 60, 60, -5]


async def test_the_store_keeps_the_newer_of_two_crossing_states(page: Page) -> None:
    kept = await run(page, "store.js", """(() => {
        const store = new m.Store({now: () => 1_000_000});
        const state = (status, lastUpdate) => ({session: 'default', status, lastUpdate,
                                                ready: status === 'connected', hasQR: false, uptime: 10});
        const results = [store.putSession(state('connected', '2025-01-01T00:00:02.000Z'))];
        results.push(store.putSession(state('qr', '2025-01-01T00:00:01.000Z')));
        results.push(store.session('default').status, store.uptime('default'));
        return results;
    })()""")
    assert kept == [True, False, "connected", 10]


async def test_the_gateway_root_is_found_behind_a_path_prefix(page: Page) -> None:
    roots = await run(page, "api.js", """[
        'http://gw:8080/dashboard/',
        'https://example.test/wa/dashboard/?x=1#top',
        'http://gw/dashboard/index.html',
    ].map((href) => m.gatewayRoot({href}).href)""")
    assert roots == ["http://gw:8080/", "https://example.test/wa/", "http://gw/"]
