"""The dashboard's pure modules, fed values in the browser that runs them (imported from the gateway,
as the page imports them): formatting, filtering, backoff, the clock estimate, message statuses and
their ticks, the log query, and what the store keeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page

from tests.conftest import live_server, make_settings
from tests.dashboard.conftest import BROWSER_LOOP

pytestmark = BROWSER_LOOP


@pytest_asyncio.fixture(scope="module", loop_scope="session")
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
    shown = await run(page, "lib/format.js", "[0, 59, 61, 3725, 2 * 86400 + 3 * 3600 + 4 * 60, -5, null]"
                                             ".map(m.formatDuration)")
    assert shown == ["0s", "59s", "1m 01s", "1h 02m 05s", "2d 03h 04m", "0s", "0s"]


async def test_a_whatsapp_id_reads_as_the_phone_number(page: Page) -> None:
    shown = await run(page, "lib/format.js", "['4915112345678@s.whatsapp.net', "
                                             "'4915112345678:12@s.whatsapp.net', "
                                             "'120363025@g.us', 'status@broadcast', null].map(m.peer)")
    assert shown == ["+4915112345678", "+4915112345678", "120363025", "status", ""]


async def test_feed_filter_matches_direction_and_text_in_any_case(page: Page) -> None:
    matches = await run(page, "lib/format.js", """[
        m.messageMatches({direction: 'in', body: 'Hello'}, {direction: 'all', query: ''}),
        m.messageMatches({direction: 'in', body: 'Hello'}, {direction: 'out', query: ''}),
        m.messageMatches({direction: 'in', body: 'Hello World'}, {direction: 'in', query: ' WORLD '}),
        m.messageMatches({direction: 'in', body: 'x', from: '4915@s.whatsapp.net'}, {query: '+4915'}),
        m.messageMatches({direction: 'in', body: 'x', pushName: 'Tariq'}, {query: 'tariq'}),
        m.messageMatches({direction: 'in', body: 'x'}, {query: 'y'}),
    ]""")
    assert matches == [True, False, True, True, True, False]


async def test_reconnect_pauses_grow_with_jitter_up_to_a_ceiling(page: Page) -> None:
    delays = await run(page, "api/live-socket.js", "[[0, 0], [0, 0.999], [1, 0], [3, 0.5], [20, 0], [20, 0.999]]"
                                                   ".map(([attempt, r]) => m.backoffDelay(attempt, r))")
    assert delays == [250, 500, 500, 3000, 7500, 14993]


async def test_the_clock_estimate_keeps_the_freshest_sample_until_a_reconnect(page: Page) -> None:
    offsets = await run(page, "store/server-clock.js", """(() => {
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
    kept = await run(page, "store/store.js", """(() => {
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
    roots = await run(page, "api/http-client.js", """[
        'http://gw:8080/dashboard/',
        'https://example.test/wa/dashboard/?x=1#top',
        'http://gw/dashboard/index.html',
    ].map((href) => m.gatewayRoot({href}).href)""")
    assert roots == ["http://gw:8080/", "https://example.test/wa/", "http://gw/"]


async def test_a_file_name_is_read_from_the_content_disposition(page: Page) -> None:
    names = await run(page, "api/http-client.js", """[
        'attachment; filename="messages-20251028T123000Z.csv"',
        'inline; filename="../../etc/passwd"',
        'attachment',
        null,
    ].map(m.attachmentName)""")
    assert names == ["messages-20251028T123000Z.csv", None, None, None]


async def test_a_message_status_never_moves_back(page: Page) -> None:
    later = await run(page, "store/message-status.js", """[
        ['sent', 'delivered'], ['read', 'delivered'], ['sent', 'failed'], ['queued', 'read'],
        [null, 'sent'], ['read', null], ['received', 'received'],
    ].map(([a, b]) => m.laterStatus(a, b))""")
    assert later == ["delivered", "read", "failed", "read", "sent", "read", "received"]


async def test_merging_a_stale_copy_keeps_the_newer_status_and_every_step_time(page: Page) -> None:
    merged = await run(page, "store/message-status.js", """(() => {
        const known = {id: 1, body: 'Hi', status: 'read', sentAt: 'T1', deliveredAt: 'T2', readAt: 'T3'};
        const stale = {id: 1, body: 'Hi', status: 'sent', sentAt: 'T1', deliveredAt: null, readAt: null};
        return m.mergeMessage(known, stale);
    })()""")
    steps = (merged["status"], merged["sentAt"], merged["deliveredAt"], merged["readAt"])
    assert steps == ("read", "T1", "T2", "T3")


async def test_an_ack_moves_the_message_on_and_records_when(page: Page) -> None:
    moved = await run(page, "store/message-status.js", """(() => {
        const sent = {id: 7, status: 'sent', sentAt: 'T1', error: null};
        const failed = m.applyAck(sent, {id: 7, status: 'failed', timestamp: 'T2', error: 'switched off'});
        const late = m.applyAck(m.applyAck(sent, {status: 'read', timestamp: 'T3'}),
                                {status: 'delivered', timestamp: 'T4'});
        return [failed.status, failed.failedAt, failed.error, late.status, late.readAt, late.deliveredAt];
    })()""")
    assert moved == ["failed", "T2", "switched off", "read", "T3", "T4"]


async def test_ticks_follow_the_status_and_a_failure_carries_its_error(page: Page) -> None:
    drawn = await run(page, "views/message-ticks.js", """[
        {status: 'queued'}, {status: 'sent'}, {status: 'delivered'}, {status: 'read'},
        {status: 'failed', error: 'no route'}, {status: 'received'},
    ].map(m.ticks).map((t) => t && [t.symbol, t.title])""")
    assert drawn == [["○", "Queued"], ["✓", "Sent"], ["✓✓", "Delivered"], ["✓✓", "Read"],
                     ["✗", "Failed: no route"], None]


async def test_the_feed_filter_becomes_the_log_query(page: Page) -> None:
    queries = await run(page, "api/messages-api.js", """[
        {}, {direction: 'in'}, {direction: 'all', query: '  invoice '},
        {direction: 'out', query: '+49 151 1234'},
    ].map(m.logQuery)""")
    assert queries == [{}, {"direction": "in"}, {"q": "invoice"},
                       {"direction": "out", "chat": "+49 151 1234"}]


async def test_a_number_in_the_search_matches_however_it_is_written(page: Page) -> None:
    matches = await run(page, "lib/format.js", """[
        '+49 151 1234', '+49-151-(1234)', '+4915112', '+4917',
    ].map((query) => m.messageMatches({direction: 'in', from: '4915112345678@s.whatsapp.net'}, {query}))""")
    assert matches == [True, True, True, False]


async def test_refusals_read_as_sentences_on_their_fields(page: Page) -> None:
    read = await run(page, "lib/format.js", """(() => {
        const validation = {code: 'validation_error', message: 'Invalid request',
                            details: [{field: 'to', message: 'Field required'},
                                      {field: 'text', message: 'too short'}]};
        const phone = {code: 'invalid_phone', message: "invalid phone number '12': it is too short",
                       details: {input: '12', reason: 'too_short'}};
        return [m.errorText(validation), m.errorFields(validation), m.errorText(phone),
                m.errorFields(phone, {invalid_phone: 'to'}), m.errorFields(phone)];
    })()""")
    assert read == ["to: Field required; text: too short", ["to", "text"],
                    "invalid phone number '12': it is too short", ["to"], []]


async def test_sizes_and_session_statuses_read_plainly(page: Page) -> None:
    shown = await run(page, "lib/format.js", """[
        [0, 1023, 1024, 48213, 5 * 1024 * 1024].map(m.formatBytes),
        [m.sessionStatus({running: false}, {status: 'disconnected'}),
         m.sessionStatus({running: true}, {status: 'qr'}), m.sessionStatus(null, {status: 'connected'})],
    ]""")
    assert shown == [["0 B", "1023 B", "1.0 KB", "47.1 KB", "5.0 MB"], ["stopped", "qr", "connected"]]


async def test_the_store_holds_messages_newest_first_and_lets_the_oldest_go(page: Page) -> None:
    held = await run(page, "store/store.js", """(() => {
        const store = new m.Store({now: () => 0});
        store.putMessages([{id: 5, status: 'received'}, {id: 9, status: 'received'}]);
        store.putMessages([{id: 2, status: 'sent'}]);  // an older page arrives last
        const order = store.messagesNewestFirst().map((message) => message.id);
        const unknownAck = store.putAck({id: 404, status: 'read'});
        const many = Array.from({length: m.MAX_MESSAGES}, (_, i) => ({id: 100 + i, status: 'received'}));
        store.putMessages(many);
        return [order, unknownAck, store.messages.size, store.messages.has(2), store.feed.full,
                store.newestMessageId()];
    })()""")
    assert held == [[9, 5, 2], False, 1000, False, True, 1099]


async def test_the_store_takes_a_sessions_settings_with_an_older_state_and_forgets_deleted_ones(
        page: Page) -> None:
    kept = await run(page, "store/store.js", """(() => {
        const store = new m.Store({now: () => 0});
        const state = (status, lastUpdate) => ({session: 'shop', status, lastUpdate, ready: false,
                                                hasQR: false, uptime: 0});
        store.putSession(state('qr', '2025-01-01T00:00:02.000Z'));
        store.putRecord({name: 'shop', engine: 'sandbox', running: false,
                         state: state('disconnected', '2025-01-01T00:00:01.000Z')});
        const shop = [store.record('shop').running, store.session('shop').status];
        store.putRecord({name: 'default', engine: 'sandbox', running: true,
                         state: {...state('qr', '2025-01-01T00:00:00.000Z'), session: 'default'}});
        store.select('shop');
        store.retainSessions(['default']);  // shop was deleted elsewhere
        return [shop, store.record('default').running, store.sessions.has('shop'), store.selected];
    })()""")
    assert kept == [[False, "qr"], True, False, "default"]


async def test_a_webhooks_health_reads_from_its_failures_and_whether_it_is_enabled(page: Page) -> None:
    health = await run(page, "views/webhook-health.js", """[
        {enabled: true, consecutiveFailures: 0},
        {enabled: true, consecutiveFailures: 1},
        {enabled: true, consecutiveFailures: 3},
        {enabled: false, consecutiveFailures: 20, disabledReason: '20 deliveries in a row failed'},
        {enabled: true, consecutiveFailures: 0, waiting: 1},
        {enabled: true, consecutiveFailures: 2, waiting: 40},
    ].map(m.webhookHealth).map((h) => [h.level, h.text])""")
    assert health == [["ok", "Healthy"], ["warn", "1 delivery given up in a row"],
                      ["warn", "3 deliveries given up in a row"], ["bad", "Disabled"],
                      ["ok", "Healthy; 1 delivery waiting"], ["warn", "2 deliveries given up in a row; 40 waiting"]]


async def test_a_campaign_offers_the_moves_its_status_allows_and_delete_unless_it_runs(page: Page) -> None:
    offered = await run(page, "lib/campaign-rules.js", """['draft', 'scheduled', 'running', 'paused', 'completed',
        'cancelled', 'failed'].map(m.allowedActions)""")
    assert offered == [["start", "cancel", "delete"], ["pause", "cancel", "delete"], ["pause", "cancel"],
                       ["resume", "cancel", "delete"], ["delete"], ["delete"], ["delete"]]


async def test_a_campaigns_progress_counts_what_is_neither_pending_nor_sending(page: Page) -> None:
    progress = await run(page, "lib/campaign-rules.js", """[
        {total: 10, percent: 40, counts: {pending: 5, sending: 1, read: 3, failed: 1}},
        {total: 0, counts: {}},
    ].map(m.progressOf)""")
    assert progress == [{"done": 4, "total": 10, "percent": 40}, {"done": 0, "total": 0, "percent": 100}]


async def test_a_pasted_list_becomes_csv_with_a_header_unless_it_brings_its_own(page: Page) -> None:
    pasted = await run(page, "lib/campaign-rules.js", """[
        '+49 151 12345678, Ana\\r\\n+971501234567\\n\\n',
        'mobile;first name\\n+49 151 12345678;Ana',
    ].map(m.pastedCsv)""")
    assert pasted == [{"csv": "phone,name\n+49 151 12345678, Ana\n+971501234567\n", "offset": 1},
                      {"csv": "mobile;first name\n+49 151 12345678;Ana\n", "offset": 0}]


async def test_the_form_becomes_a_definition_with_empty_caps_as_none_and_a_window_only_when_whole(
        page: Page) -> None:
    made = await run(page, "lib/campaign-rules.js", """(() => {
        const form = {name: ' Sale ', session: 'shop', text: 'Hi {name}', minDelay: '2', maxDelay: '5',
                      perMinute: '', perHour: '100', perDay: '', stopAfter: '', checkWhatsApp: true,
                      startAt: '', windowStart: '09:00', windowEnd: '', timezone: 'Asia/Dubai', start: false};
        const windowed = m.campaignDefinition({...form, windowEnd: '18:00', startAt: '2030-01-02T03:04',
                                               days: ['mon', 'fri']});
        const everyDay = m.campaignDefinition({...form, windowEnd: '18:00',
                                               days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']});
        return [m.campaignDefinition(form), windowed.schedule.window,
                windowed.schedule.startAt === new Date('2030-01-02T03:04').toISOString(), everyDay.schedule];
    })()""")
    assert made == [
        {"name": "Sale", "session": "shop", "message": {"text": "Hi {name}"},
         "throttle": {"minDelay": 2, "maxDelay": 5, "perMinute": None, "perHour": 100, "perDay": None},
         "options": {"checkWhatsApp": True, "stopAfterFailures": None}, "start": False},
        {"start": "09:00", "end": "18:00", "timezone": "Asia/Dubai", "days": ["mon", "fri"]},
        True,
        {"window": {"start": "09:00", "end": "18:00", "timezone": "Asia/Dubai"}},
    ]


async def test_a_file_without_a_text_makes_a_message_without_one_and_a_text_stays_its_caption(page: Page) -> None:
    made = await run(page, "lib/campaign-rules.js", """(() => {
        const form = {name: 'Leaflet', session: 'default', text: '  ', minDelay: '', maxDelay: '', perMinute: '',
                      perHour: '', perDay: '', stopAfter: '', checkWhatsApp: false, startAt: '', windowStart: '',
                      windowEnd: '', timezone: '', start: false};
        return [m.campaignDefinition({...form, media: true}).message,
                m.campaignDefinition({...form, media: true, text: 'For {name}'}).message,
                m.campaignDefinition({...form, media: false}).message];
    })()""")
    assert made == [{}, {"text": "For {name}"}, {"text": "  "}]


async def test_the_store_moves_a_known_campaign_on_with_its_events_and_tells_of_unknown_ones(
        page: Page) -> None:
    moved = await run(page, "store/campaign-store.js", """(() => {
        const changes = [];
        const state = new m.CampaignStore((part) => changes.push(part));
        state.setList([{id: 'cmp_a', name: 'A', status: 'running', total: 2, percent: 0, createdAt: '1',
                        counts: {pending: 2}, reason: null}], null);
        const progress = state.event({kind: 'progress', campaignId: 'cmp_a', status: 'running',
            total: 2, counts: {pending: 1, read: 1}, percent: 50, etaSeconds: 3});
        state.event({kind: 'paused', campaignId: 'cmp_a', name: 'A', status: 'paused',
                     reason: {code: 'temporary_ban', message: 'banned'}});
        const unknown = state.event({kind: 'started', campaignId: 'cmp_b', status: 'running'});
        const a = state.get('cmp_a');
        return [progress, unknown, a.percent, a.counts.read, a.status, a.reason, [...new Set(changes)]];
    })()""")
    assert moved == [True, False, 50, 1, "paused",
                     {"code": "temporary_ban", "message": "banned", "resumesByItself": False}, ["campaigns"]]


async def test_an_answer_older_than_an_event_that_crossed_it_does_not_undo_the_event(page: Page) -> None:
    kept = await run(page, "store/campaign-store.js", """(() => {
        const state = new m.CampaignStore(() => {});
        const running = {id: 'cmp_a', name: 'A', status: 'running', total: 2, percent: 0, createdAt: '1',
                         counts: {pending: 2}, reason: null, startedAt: 'T0'};
        state.put(running);
        const since = state.events;  // a request goes out…
        state.event({kind: 'progress', campaignId: 'cmp_a', status: 'completed', total: 2,
                     counts: {read: 2}, percent: 100, etaSeconds: null});
        state.put({...running, startedAt: 'T1'}, since);  // …and its answer, older than the event, comes
        const crossed = state.get('cmp_a');
        state.put({...running, status: 'paused'}, state.events);  // an answer sent after every event counts
        return [crossed.status, crossed.percent, crossed.startedAt, state.get('cmp_a').status];
    })()""")
    assert kept == ["completed", 100, "T1", "paused"]


async def test_a_recipient_row_takes_events_newer_than_itself_only(page: Page) -> None:
    rows = await run(page, "store/campaign-store.js", """(() => {
        const state = new m.CampaignStore(() => {});
        const at = Date.parse('2025-10-28T12:00:05.000Z');
        const row = (id, status, updatedAt) => ({id, status, reason: null, messageId: null, updatedAt});
        const heard = (recipientId, status, messageId) => [{campaignId: 'cmp_a', recipientId, status,
                                                             reason: null, messageId}, at];
        state.setRecipients({id: 'cmp_a', rows: [row(1, 'sent', '2025-10-28T12:00:04.000Z'),
                                                 row(2, 'read', '2025-10-28T12:00:06.000Z')]},
                            [heard(1, 'read', 4), heard(2, 'sent', 5)]);
        const other = state.recipientEvent({campaignId: 'cmp_b', recipientId: 1, status: 'failed'}, at);
        return [state.recipients.rows.map((r) => [r.status, r.messageId, r.updatedAt]), other];
    })()""")
    assert rows == [[["read", 4, "2025-10-28T12:00:05.000Z"], ["read", None, "2025-10-28T12:00:06.000Z"]],
                    False]
