"""The campaign monitor in headless Chromium: the list's progress bars and a campaign's page moving live
as the sandbox sends, its buttons for the moves its status allows, the recipients table with its filter,
paging and CSV report; and the new-campaign form's preview, then creating from a CSV upload."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from tests.conftest import LiveServer
from tests.dashboard.conftest import BROWSER_LOOP, Dashboard
from tests.messaging.samples import sample

pytestmark = BROWSER_LOOP

FAST = {"minDelay": 0, "maxDelay": 0, "perMinute": None, "perHour": None, "perDay": None}
# After its first message the session waits ten minutes: the campaign stays running, with nothing sent,
# for as long as the test needs.
SLOW = {**FAST, "minDelay": 600, "maxDelay": 600}
SENDING = 60_000  # ms


async def create(live: LiveServer, name: str, count: int, throttle: dict[str, Any]) -> dict[str, Any]:
    recipients = [{"phone": f"+4915{110000000 + n}", "name": f"P{n}"} for n in range(count)]
    async with live.client() as client:
        response = await client.post("/api/campaigns", json={
            "name": name, "message": {"text": "Hi {name}!"}, "throttle": throttle, "recipients": recipients})
    assert response.status_code == 201, response.text
    return response.json()["data"]["campaign"]  # type: ignore[no-any-return]


def actions(page: Page) -> Any:
    return expect(page.locator("#campaign-summary [data-action]"))


async def test_a_campaign_runs_to_complete_live_and_another_pauses_resumes_cancels_and_goes(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    page = dashboard.page
    page.on("dialog", lambda dialog: dialog.accept())
    async with gateway.client() as client:
        assert (await client.post("/api/sandbox/scan")).status_code == 200
    fast = await create(gateway, "Autumn sale", 55, FAST)
    slow = await create(gateway, "Slow news", 3, SLOW)
    await dashboard.signed_in(gateway.http)

    rows = page.locator("#campaigns tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_have_attribute("data-campaign", slow["id"])  # newest first
    fast_row = page.locator(f'#campaigns tr[data-campaign="{fast["id"]}"]')
    await expect(fast_row.locator("progress")).to_have_attribute("data-percent", "0")
    await expect(fast_row.locator(".pill")).to_have_text("Draft")

    # Its page: a draft can start or go; its 55 recipients come 50 to a page.
    await fast_row.locator(".campaign-name").click()
    await expect(page.locator("#campaign-name")).to_contain_text("Autumn sale")
    await actions(page).to_have_text(["Start", "Cancel campaign", "Delete"])
    table = page.locator("#recipients tbody tr")
    await expect(table).to_have_count(50)
    await expect(table.first).to_have_attribute("data-status", "pending")

    await page.click('#campaign-summary [data-action="start"]')
    # Sending 55 messages takes the sandbox a moment, longer on a loaded machine: a wait, not a measure.
    await expect(page.locator("#campaign-summary progress")).to_have_attribute("data-percent", "100",
                                                                             timeout=SENDING)
    await expect(page.locator("#campaign-summary .pill")).to_have_text("Completed")
    await expect(page.locator('[data-count="read"]')).to_have_text("55", timeout=SENDING)
    # The table follows row by row, live.
    await expect(page.locator('#recipients tbody tr[data-status="read"]')).to_have_count(50, timeout=SENDING)
    await actions(page).to_have_text(["Delete"])
    await page.click("#recipients-next")
    await expect(table).to_have_count(5)
    await expect(table.first.locator("td").first).to_have_text("51")
    await expect(page.locator("#recipients-page")).to_have_text("Page 2")
    await page.locator("#recipient-status").select_option("pending")
    await expect(page.locator("#recipients")).to_have_text("No recipient is pending.")
    await page.locator('[data-count="read"]').click()
    await expect(page.locator("#recipient-status")).to_have_value("read")
    await expect(table).to_have_count(50)
    async with page.expect_download() as download:
        await page.click("#recipients-export")
    report = (await (await download.value).path()).read_text()
    assert report.splitlines()[0] == "row,phone,name,status,reason,messageId,attemptedAt,updatedAt"
    assert len(report.splitlines()) == 56 and report.count(",read,") == 55

    await page.click("#campaign-back")
    await expect(fast_row.locator("progress")).to_have_attribute("data-percent", "100")
    await expect(fast_row.locator('[data-role="outcome"]')).to_have_text("55 sent")

    # The other one: started, it sends one message and waits; pause, resume and cancel from the page.
    await page.locator(f'#campaigns tr[data-campaign="{slow["id"]}"] .campaign-name').click()
    await expect(page.locator("#campaign-name")).to_contain_text("Slow news")
    await page.click('#campaign-summary [data-action="start"]')
    await expect(page.locator("#campaign-summary .pill")).to_have_text("Running")
    await expect(page.locator('[data-count="pending"]')).to_have_text("2")
    await actions(page).to_have_text(["Pause", "Cancel campaign"])  # no delete while it runs

    await page.click('#campaign-summary [data-action="pause"]')
    await expect(page.locator("#campaign-summary .pill")).to_have_text("Paused")
    await expect(page.locator('[data-role="reason"]')).to_contain_text("manual")
    await actions(page).to_have_text(["Resume", "Cancel campaign", "Delete"])
    await page.click('#campaign-summary [data-action="resume"]')
    await expect(page.locator("#campaign-summary .pill")).to_have_text("Running")
    await expect(page.locator('[data-role="reason"]')).to_have_count(0)

    # A button clicked as the campaign moves on elsewhere: the gateway's refusal (409) is shown.
    stale = await page.locator('#campaign-summary [data-action="pause"]').element_handle()
    assert stale is not None
    async with gateway.client() as client:
        assert (await client.post(f"/api/campaigns/{slow['id']}/pause")).status_code == 200
    await stale.evaluate("(button) => button.click()")
    await expect(page.locator("#campaign-action-error")).to_have_text(
        "Could not pause the campaign: cannot pause a campaign that is paused")
    await expect(page.locator("#campaign-summary .pill")).to_have_text("Paused")
    await page.click('#campaign-summary [data-action="resume"]')
    await expect(page.locator("#campaign-summary .pill")).to_have_text("Running")
    await expect(page.locator("#campaign-action-error")).to_have_count(0)
    await page.click('#campaign-summary [data-action="cancel"]')
    await expect(page.locator("#campaign-summary .pill")).to_have_text("Cancelled")
    await expect(page.locator('[data-count="skipped"]')).to_have_text("2")
    assert (await gateway.gateway.campaigns.get(slow["id"])).status == "cancelled"

    await page.click('#campaign-summary [data-action="delete"]')
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-campaign", fast["id"])


CUSTOMERS = (b"phone,name,order\n+971501234567,Ana,A-1001\n+4915112345678,Bo,A-1002\n"
             b"+4915112345678,Bo again,A-1003\n0151 2345,Cy,A-1004\n")


async def test_the_form_previews_the_rows_left_out_and_the_messages_then_creates_from_a_csv_file(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    page = dashboard.page
    await dashboard.signed_in(gateway.http)
    await page.click("#campaign-new")
    await page.fill("#cf-name", "October orders")
    await page.fill("#cf-text", "Hi {name}!")
    await page.fill("#cf-paste", "+49 151 12345678, Ana\n12345")
    create = page.locator("#cf-create")
    await expect(create).to_be_disabled()

    # A pasted list: its lines are counted as typed.
    await page.click("#cf-preview")
    report = page.locator("#cf-report")
    await expect(report.locator('[data-role="summary"]')).to_contain_text("1 of 2 lines will be sent")
    problem = report.locator('tr[data-code="invalid_phone"]')
    await expect(problem.locator("td").first).to_have_text("2")
    await expect(problem).to_contain_text("12345")
    await expect(report.locator(".preview")).to_have_text([re.compile(r"\+4915112345678.*Hi Ana!")])
    await expect(create).to_be_enabled()

    # A mistake the gateway refuses is shown on its field, and a changed form needs a new preview.
    await page.fill("#cf-min-delay", "30")
    await page.fill("#cf-max-delay", "5")
    await expect(create).to_be_disabled()
    await page.click("#cf-preview")
    await expect(page.locator("#cf-error")).to_contain_text("maxDelay must not be below minDelay")
    await expect(page.locator("#cf-max-delay")).to_have_attribute("aria-invalid", "true")
    await page.fill("#cf-max-delay", "40")

    await page.fill("#cf-paste", "")
    await page.fill("#cf-text", "Hi {name}, your order {order} has shipped.")
    await page.click(".schedule summary")
    await page.fill("#cf-window-start", "09:00")
    await page.fill("#cf-window-end", "18:00")
    await page.fill("#cf-timezone", "Asia/Dubai")
    for day in ("sat", "sun"):
        await page.locator(f'#cf-days input[value="{day}"]').uncheck()
    await page.set_input_files("#cf-csv", files=[{"name": "customers.csv", "mimeType": "text/csv",
                                                  "buffer": CUSTOMERS}])
    await page.click("#cf-preview")
    await expect(report.locator('[data-role="summary"]')).to_contain_text("2 of 4 rows will be sent")
    await expect(report.locator("tbody tr")).to_have_count(2)
    await expect(report.locator('tr[data-code="duplicate"] td').first).to_have_text("4")
    await expect(report.locator('tr[data-code="invalid_phone"] td').first).to_have_text("5")
    await expect(report.locator(".preview").first).to_contain_text("Hi Ana, your order A-1001 has shipped.")
    await expect(page.locator("#cf-error")).to_be_hidden()
    assert await gateway.gateway.campaigns.page(None, None, None, 10) == [], "a preview stores nothing"

    await create.click()
    await expect(page.locator("#campaign-name")).to_contain_text("October orders")
    notice = page.locator("#campaigns-notice")
    await expect(notice).to_have_text("Created with 2 recipients; 2 rows left out.")
    await expect(page.locator("#campaign-summary .pill")).to_have_text("Draft")
    await expect(page.locator("#campaign-summary")).to_contain_text("30–40 s apart")
    await expect(page.locator("#campaign-summary")).to_contain_text(
        "at once, 09:00–18:00 Asia/Dubai (mon, tue, wed, thu, fri)")
    await expect(page.locator("#recipients tbody tr")).to_have_count(2)
    await expect(page.locator("#recipients tbody tr").nth(1)).to_contain_text("Bo")
    await page.click("#campaign-back")
    await expect(page.locator("#campaigns tbody tr")).to_have_count(1)
    await expect(page.locator("#campaigns .campaign-name")).to_have_text("October orders")


async def test_the_form_sends_a_file_with_the_campaign_and_its_page_names_it(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    page = dashboard.page
    await dashboard.signed_in(gateway.http)
    await page.click("#campaign-new")
    await page.fill("#cf-name", "Leaflet")
    await page.fill("#cf-paste", "+49 151 12345678, Ana")
    # Neither a text nor a file: the form says what is missing on both fields.
    await page.click("#cf-preview")
    await expect(page.locator("#cf-error")).to_contain_text("or choose a file")
    await expect(page.locator("#cf-media")).to_have_attribute("aria-invalid", "true")

    # A file alone is a whole message; the text, when there is one, becomes its caption.
    await page.set_input_files("#cf-media", files=[{"name": "leaflet.png", "mimeType": "image/png",
                                                    "buffer": sample("png", 2048)}])
    await page.click("#cf-preview")
    await expect(page.locator('#cf-report [data-role="summary"]')).to_contain_text("1 of 1 line will be sent")
    assert await gateway.gateway.campaigns.page(None, None, None, 10) == [], "a preview stores nothing"
    await page.click("#cf-create")
    await expect(page.locator("#campaign-name")).to_contain_text("Leaflet")
    await expect(page.locator('#campaign-summary [data-role="media"]')).to_have_text(
        "With the image leaflet.png (2.0 KB)")
    [stored] = await gateway.gateway.campaigns.page(None, None, None, 10)
    assert stored.message.get("mediaId") and not stored.message.get("text")


async def test_a_campaigns_page_has_its_own_address_that_survives_a_reload_and_the_back_button(
        gateway: LiveServer, dashboard: Dashboard) -> None:
    page = dashboard.page
    slow = await create(gateway, "Bookmarked", 2, SLOW)
    await dashboard.signed_in(gateway.http)
    list_url = page.url
    await page.locator(f'#campaigns tr[data-campaign="{slow["id"]}"] .campaign-name').click()
    await expect(page.locator("#campaign-name")).to_contain_text("Bookmarked")
    assert page.url.endswith(f'#campaign/{slow["id"]}')

    await page.reload()  # signed in again from this tab's storage, on the same page
    await expect(page.locator("#campaign-name")).to_contain_text("Bookmarked")
    await expect(page.locator("#recipients tbody tr")).to_have_count(2)

    await page.go_back()
    await expect(page.locator("#campaign")).to_be_hidden()
    await expect(page.locator(f'#campaigns tr[data-campaign="{slow["id"]}"]')).to_be_visible()

    await page.click("#campaign-new")
    assert page.url.endswith("#campaigns/new")
    await page.click("#cf-cancel")
    await expect(page.locator("#campaign-form")).to_be_hidden()
    assert "#" not in page.url

    await page.goto(list_url.split("#")[0] + "#campaign/cmp_gone")
    await expect(page.locator("#campaigns-notice")).to_contain_text("no longer exists")
    assert "#" not in page.url
