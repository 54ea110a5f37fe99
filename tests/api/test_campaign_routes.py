"""`/api/campaigns`: creation (JSON, CSV upload, dry run), reading, paging, exporting, and every action
from every state."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.campaigns.helpers import (
    FAST,
    act,
    all_recipients,
    create,
    definition,
    get,
    phones,
    recipients,
    upload,
    wait_for,
)
from tests.conftest import Harness, eventually, in_process, make_settings

ANA, BO = phones(2)


async def test_a_json_campaign_is_created_as_a_draft_with_its_report_and_preview(gw: Harness) -> None:
    body = definition(message={"text": "Hi {name}, {code}"}, recipients=[
        {"phone": ANA, "name": "Ana", "variables": {"code": "A1"}},
        {"phone": "nope", "name": "X", "variables": {"code": "1"}},
        {"phone": BO, "name": "Bo"},
    ])
    response = await gw.client.post("/api/campaigns", json=body)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    campaign = data["campaign"]
    assert campaign["status"] == "draft" and campaign["session"] == "default" and campaign["total"] == 1
    assert campaign["id"].startswith("cmp_") and campaign["counts"]["pending"] == 1 and campaign["percent"] == 0
    assert campaign["etaSeconds"] is None  # a draft is not going to send
    assert campaign["throttle"] == FAST and campaign["options"] == {"checkWhatsApp": False, "stopAfterFailures": 10}
    assert data["report"]["accepted"] == 1 and data["report"]["rejected"] == 2
    assert [(p["row"], p["code"]) for p in data["report"]["problems"]] == [(2, "invalid_phone"),
                                                                          (3, "missing_variables")]
    assert data["preview"] == [{"row": 1, "phone": ANA, "name": "Ana", "text": "Hi Ana, A1"}]
    assert data["dryRun"] is False


async def test_the_safe_defaults_apply_when_no_throttle_is_given(gw: Harness) -> None:
    body = {"name": "x", "message": {"text": "Hi"}, "recipients": [{"phone": ANA}]}
    campaign = (await gw.client.post("/api/campaigns", json=body)).json()["data"]["campaign"]
    assert campaign["throttle"] == {"minDelay": 8.0, "maxDelay": 20.0, "perMinute": 20, "perHour": 200,
                                    "perDay": 1000}


async def test_a_dry_run_checks_and_previews_without_storing(gw: Harness) -> None:
    response = await upload(gw.client, f"phone,name\n{ANA},Ana\n{ANA},Again\n", message={"text": "Hi {name}"})
    assert response.status_code == 201
    dry = await gw.client.post("/api/campaigns?dryRun=true", files={
        "recipients": ("l.csv", f"phone,name\n{BO},Bo\nbad,Z\n".encode(), "text/csv")},
        data={"campaign": json.dumps(definition())})
    assert dry.status_code == 200, dry.text
    data = dry.json()["data"]
    assert data["campaign"] is None and data["dryRun"] is True
    assert data["preview"][0]["text"] == "Hi Bo!" and data["report"]["problemCounts"] == {"invalid_phone": 1}
    listed = (await gw.client.get("/api/campaigns")).json()["data"]["campaigns"]
    assert len(listed) == 1


async def test_a_list_where_no_row_can_be_sent_is_refused_with_the_report(gw: Harness) -> None:
    response = await upload(gw.client, "phone\nbad\n")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "no_recipients" and error["details"]["problems"][0]["code"] == "invalid_phone"


@pytest.mark.parametrize(("csv_text", "code"), [
    ("who,what\n+4915112345678,x\n", "no_phone_column"),
    ('phone,name\n+4915112345678,"Ana\n', "invalid_csv"),
])
async def test_a_csv_that_cannot_be_read_is_a_400(gw: Harness, csv_text: str, code: str) -> None:
    response = await upload(gw.client, csv_text)
    assert response.status_code == 400 and response.json()["error"]["code"] == code


@pytest.mark.parametrize(("body", "field"), [
    ({"message": {}}, "message"),
    ({"message": {"text": "Hi"}, "throttle": {"minDelay": 5, "maxDelay": 1}}, "throttle"),
    ({"message": {"text": "Hi"}, "schedule": {"window": {"start": "09:00", "end": "09:00"}}}, "schedule.window"),
    ({"message": {"text": "Hi"}, "schedule": {"window": {"start": "9", "end": "17:00"}}}, "schedule.window.start"),
    ({"message": {"text": "Hi"}, "schedule": {"window": {"start": "09:00", "end": "17:00", "timezone": "Mars/Base"}}},
     "schedule.window.timezone"),
    ({"message": {"text": "Hi"}, "recipients": []}, "recipients"),
    ({"message": {"text": "Hi"}, "surprise": 1}, "surprise"),
])
async def test_a_malformed_definition_is_a_422_naming_the_field(gw: Harness, body: dict[str, Any], field: str) -> None:
    full = {"name": "x", "recipients": [{"phone": ANA}], **body}
    response = await gw.client.post("/api/campaigns", json=full)
    assert response.status_code == 422, response.text
    fields = [d["field"] for d in response.json()["error"]["details"]]
    assert any(f.startswith(field) for f in fields), fields


async def test_a_bad_template_is_a_400(gw: Harness) -> None:
    response = await gw.client.post("/api/campaigns", json=definition(message={"text": "Hi {name"},
                                                                       recipients=[{"phone": ANA}]))
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_template"


async def test_an_unknown_session_is_a_404(gw: Harness) -> None:
    response = await gw.client.post("/api/campaigns", json=definition(session="nope", recipients=[{"phone": ANA}]))
    assert response.status_code == 404 and response.json()["error"]["code"] == "session_not_found"


async def test_a_body_that_is_neither_json_nor_multipart_is_a_415(gw: Harness) -> None:
    response = await gw.client.post("/api/campaigns", content=b"phone\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 415


async def test_a_body_over_the_limit_is_a_413(data_dir: Any) -> None:
    from tests.conftest import in_process, make_settings

    async with in_process(make_settings(data_dir, campaign_max_upload=2048)) as gw:
        response = await upload(gw.client, "phone\n" + "+4915112345678\n" * 300)
        assert response.status_code == 413


# ---- import limits ----------------------------------------------------------------------------------


async def test_a_header_of_20000_columns_is_refused_with_a_clear_error(gw: Harness) -> None:
    header = ",".join(["phone", *(f"column {n}" for n in range(19_999))])
    response = await upload(gw.client, f"{header}\n{ANA}\n")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "too_many_columns" and error["details"] == {"columns": 20_000, "limit": 200}


async def test_a_megabyte_of_bad_rows_gets_a_bounded_report_that_counts_the_rest(gw: Harness) -> None:
    rows = 1_048_576 // 19
    response = await upload(gw.client, "phone\n" + "+4915112345678,x,y\n" * rows)
    assert response.status_code == 400, response.text
    report = response.json()["error"]["details"]
    assert report["rejected"] == rows and report["problemCounts"] == {"malformed_row": rows}
    assert len(report["problems"]) == 100 and report["problemsOmitted"] == rows - 100
    assert report["problemsTruncated"] is True


async def test_a_json_list_longer_than_the_row_limit_is_refused_before_its_items_are_checked(data_dir: Any) -> None:
    async with in_process(make_settings(data_dir, campaign_max_recipients=1_000)) as gw:
        listed = [{"phone": phone} for phone in phones(1_001)]
        listed[5] = {"phone": 5}  # checked item by item, this would be a 422
        response = await gw.client.post("/api/campaigns?dryRun=true", json=definition(recipients=listed))
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "too_many_recipients" and error["details"] == {"limit": 1_000}
        assert "WAQTOR_CAMPAIGN_MAX_RECIPIENTS" in error["message"]
        # The CSV's limit is the same, with the same error.
        csv_answer = await upload(gw.client, "phone\n" + "".join(f"{p}\n" for p in phones(1_001)))
        assert csv_answer.json()["error"] == {**error, "requestId": csv_answer.json()["error"]["requestId"]}


async def test_a_bad_recipient_deep_in_a_long_json_list_is_named_by_its_place(gw: Harness) -> None:
    listed = [{"phone": phone} for phone in phones(2_500)]
    listed[2_345] = {"phone": ANA, "extra": 1}
    response = await gw.client.post("/api/campaigns?dryRun=true", json=definition(recipients=listed))
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == ["recipients.2345.extra"]


async def test_health_answers_while_a_long_json_list_is_parsed(gw: Harness) -> None:
    # 100,000 recipients, the last one wrong: all of them are parsed and checked, then the answer is 422.
    listed: list[dict[str, Any]] = [{"phone": phone, "name": "Ana"} for phone in phones(99_999)]
    listed.append({"phone": 5})
    body = json.dumps(definition(recipients=listed)).encode()
    imports = gw.gateway.campaigns.imports
    importing = asyncio.create_task(gw.client.post("/api/campaigns?dryRun=true", content=body,
                                                   headers={"Content-Type": "application/json"}))
    await eventually(lambda: imports.busy == 1 or importing.done(), what="the import to begin")
    answered_meanwhile = 0
    while imports.busy:
        health = await asyncio.wait_for(gw.client.get("/health"), 10)
        assert health.status_code == 200
        answered_meanwhile += imports.busy  # answered while the list was still being read
    assert (await importing).status_code == 422
    # Parsed on the event loop, the list held every other request until it was read: none was answered.
    assert answered_meanwhile >= 3, answered_meanwhile


async def test_imports_beyond_the_cap_are_refused_with_429_and_retry_after(data_dir: Any) -> None:
    async with in_process(make_settings(data_dir, campaign_max_imports=1)) as gw:
        async with gw.gateway.campaigns.importing():  # another import is being read
            response = await gw.client.post("/api/campaigns?dryRun=true", json=definition(recipients=[{"phone": ANA}]))
            assert response.status_code == 429, response.text
            assert response.json()["error"]["code"] == "too_many_imports"
            assert int(response.headers["Retry-After"]) >= 1
            refused_csv = await upload(gw.client, f"phone\n{ANA}\n")
            assert refused_csv.status_code == 429
        response = await gw.client.post("/api/campaigns?dryRun=true", json=definition(recipients=[{"phone": ANA}]))
        assert response.status_code == 200, response.text
        assert gw.gateway.campaigns.imports.busy == 0


async def test_a_csv_part_over_the_upload_limit_is_refused_before_the_rest_is_read(data_dir: Any) -> None:
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        parts = [f'--b\r\nContent-Disposition: form-data; name="campaign"\r\n\r\n{json.dumps(definition())}\r\n'
                 f'--b\r\nContent-Disposition: form-data; name="recipients"; filename="l.csv"\r\n\r\nphone\n'.encode()]
        parts += [f"{ANA}\n".encode() * 1_000] * 50 + [b"\r\n--b--\r\n"]  # 750 KB of rows
        for part in parts:
            pulled += len(part)
            yield part

    async with in_process(make_settings(data_dir, campaign_max_upload=2048)) as gw:
        response = await gw.client.post("/api/campaigns", content=body(),
                                        headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert error["code"] == "payload_too_large" and "WAQTOR_CAMPAIGN_MAX_UPLOAD" in error["message"]
        assert pulled < 40_000, pulled


async def test_the_list_goes_newest_first_with_counts_and_a_cursor(gw: Harness) -> None:
    made = [await create(gw.client, name=f"c{n}", recipients=recipients(phones(2))) for n in range(3)]
    first = (await gw.client.get("/api/campaigns", params={"limit": 2})).json()["data"]
    assert [c["name"] for c in first["campaigns"]] == ["c2", "c1"]
    assert first["campaigns"][0]["counts"]["pending"] == 2
    rest = (await gw.client.get("/api/campaigns", params={"limit": 2, "cursor": first["nextCursor"]})).json()["data"]
    assert [c["id"] for c in rest["campaigns"]] == [made[0]["id"]] and rest["nextCursor"] is None
    drafts = (await gw.client.get("/api/campaigns", params={"status": "running"})).json()["data"]["campaigns"]
    assert drafts == []
    bad = await gw.client.get("/api/campaigns", params={"cursor": "garbage"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"


async def test_an_unknown_campaign_is_a_404(gw: Harness) -> None:
    for response in (await gw.client.get("/api/campaigns/cmp_nope"),
                     await gw.client.post("/api/campaigns/cmp_nope/start"),
                     await gw.client.get("/api/campaigns/cmp_nope/recipients"),
                     await gw.client.delete("/api/campaigns/cmp_nope")):
        assert response.status_code == 404 and response.json()["error"]["code"] == "campaign_not_found"


async def test_recipients_page_in_order_filter_by_status_and_export_as_csv(gw: Harness) -> None:
    await gw.scan()
    campaign = await create(gw.client, recipients=[{"phone": p, "name": f"N{n}", "variables": {"city": "Dubai"}}
                                                   for n, p in enumerate(phones(5))], start=True)
    await wait_for(gw.client, campaign["id"], "completed")
    page = (await gw.client.get(f"/api/campaigns/{campaign['id']}/recipients", params={"limit": 2})).json()["data"]
    assert [r["row"] for r in page["recipients"]] == [1, 2] and page["nextCursor"]
    every = await all_recipients(gw.client, campaign["id"])
    assert [r["row"] for r in every] == [1, 2, 3, 4, 5]
    pending = await gw.client.get(f"/api/campaigns/{campaign['id']}/recipients", params={"status": "pending"})
    assert pending.json()["data"]["recipients"] == []
    export = await gw.client.get(f"/api/campaigns/{campaign['id']}/recipients", params={"format": "csv"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    # A phone number in E.164 starts with `+`, which a spreadsheet reads as a formula: written as text.
    assert [row["phone"] for row in table] == [f"'{p}" for p in phones(5)] and table[0]["city"] == "Dubai"
    assert {row["status"] for row in table} <= {"sent", "delivered", "read"} and table[0]["messageId"]


async def test_the_recipients_csv_writes_formula_cells_as_text(gw: Harness) -> None:
    hostile = '=HYPERLINK("http://evil.example","Open")'
    sheet = f'phone,name,note,total\n{ANA},"{hostile.replace(chr(34), chr(34) * 2)}",-1+cmd,=2+2\n{BO},Bo,@x,12\n'
    created = await upload(gw.client, sheet, message={"text": "Hi {name}"})
    assert created.status_code == 201, created.text
    export = await gw.client.get(f"/api/campaigns/{created.json()['data']['campaign']['id']}/recipients",
                                 params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(export.text, newline="")))
    assert rows[0][-2:] == ["note", "total"]  # variable names are identifiers: never a formula
    assert [(row[1], row[2], row[-2], row[-1]) for row in rows[1:]] == [
        (f"'{ANA}", f"'{hostile}", "'-1+cmd", "'=2+2"), (f"'{BO}", "Bo", "'@x", "12")]


# ---- every action from every state ------------------------------------------------------------------

LATER = datetime.now(UTC) + timedelta(days=2)


async def in_state(gw: Harness, status: str) -> str:
    """A campaign standing in `status` (the session is not linked, so nothing is sent meanwhile)."""
    if status == "scheduled":
        return (await create(gw.client, schedule={"startAt": LATER.isoformat()}, start=True))["id"]
    cid = (await create(gw.client))["id"]
    moves = {"draft": [], "running": ["start"], "paused": ["start", "pause"], "cancelled": ["cancel"]}
    for action in moves[status]:
        assert (await act(gw.client, cid, action)).status_code == 200
    return cid


EXPECTED = {
    ("draft", "start"): "running", ("draft", "cancel"): "cancelled",
    ("scheduled", "pause"): "paused", ("scheduled", "cancel"): "cancelled",
    ("running", "pause"): "paused", ("running", "cancel"): "cancelled",
    ("paused", "resume"): "running", ("paused", "cancel"): "cancelled",
}


@pytest.mark.parametrize("action", ["start", "pause", "resume", "cancel"])
@pytest.mark.parametrize("status", ["draft", "scheduled", "running", "paused", "cancelled"])
async def test_each_action_at_each_state(gw: Harness, status: str, action: str) -> None:
    cid = await in_state(gw, status)
    assert (await get(gw.client, cid))["status"] == status
    response = await act(gw.client, cid, action)
    if (status, action) in EXPECTED:
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == EXPECTED[status, action]
    else:
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "illegal_transition" and error["details"]["status"] == status
        assert (await get(gw.client, cid))["status"] == status


async def test_a_paused_campaign_with_its_start_ahead_resumes_to_scheduled(gw: Harness) -> None:
    cid = await in_state(gw, "scheduled")
    await act(gw.client, cid, "pause")
    resumed = await act(gw.client, cid, "resume")
    assert resumed.json()["data"]["status"] == "scheduled"


async def test_a_manual_pause_says_so(gw: Harness) -> None:
    cid = await in_state(gw, "paused")
    reason = (await get(gw.client, cid))["reason"]
    assert reason["code"] == "manual" and reason["resumesByItself"] is False and reason["at"]


@pytest.mark.parametrize("status", ["draft", "scheduled", "paused", "cancelled"])
async def test_a_campaign_that_is_not_running_can_be_deleted(gw: Harness, status: str) -> None:
    cid = await in_state(gw, status)
    response = await gw.client.delete(f"/api/campaigns/{cid}")
    assert response.status_code == 200 and response.json()["data"] == {"id": cid, "deleted": True}
    assert (await gw.client.get(f"/api/campaigns/{cid}")).status_code == 404


async def test_a_running_campaign_cannot_be_deleted(gw: Harness) -> None:
    cid = await in_state(gw, "running")
    response = await gw.client.delete(f"/api/campaigns/{cid}")
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "campaign_running", "message": response.json()["error"]["message"],
                                        "details": {"status": "running"},
                                        "requestId": response.headers["X-Request-ID"]}
