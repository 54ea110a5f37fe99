"""Incoming messages are logged, published and counted; the session's counters agree with the log."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import Harness, LiveServer, eventually, in_process, make_settings
from tests.messaging.samples import sample
from tests.ws_client import command, open_ws, recv_type
from waqtor.engines.base import MessageIn

SENDER = "4915100000001"


async def inbound(gw: Harness, **body: object) -> dict:  # type: ignore[type-arg]
    response = await gw.client.post("/api/sandbox/inbound", json={"from": SENDER} | body)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def test_an_incoming_message_is_logged_as_received(gw: Harness) -> None:
    await gw.scan()
    sent = await inbound(gw, body="hello there")
    rows = (await gw.client.get("/api/messages", params={"direction": "in"})).json()["data"]["messages"]
    assert len(rows) == 1
    row = rows[0]
    assert row["waId"] == sent["id"] and row["status"] == "received" and row["body"] == "hello there"
    assert row["from"] == row["chat"] == f"{SENDER}@s.whatsapp.net" and row["session"] == "default"


async def test_an_incoming_message_is_published_with_its_log_id(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        await command(ws, "subscribed", type="subscribe", events=["message"])
        await http.post("/api/sandbox/inbound", json={"from": SENDER, "body": "hi"})
        frame = await recv_type(ws, "message")
        logged = (await http.get(f"/api/messages/{frame['data']['id']}")).json()["data"]
        assert frame["data"] == logged


async def test_a_message_delivered_twice_by_whatsapp_is_logged_and_counted_once(gw: Harness) -> None:
    await gw.scan()
    engine = gw.gateway.sessions.get("default").engine
    event = MessageIn(id="3EB0DUPLICATE", chat=f"{SENDER}@s.whatsapp.net", sender=f"{SENDER}@s.whatsapp.net",
                      type="text", text="once", timestamp=datetime.now(UTC))
    await engine.ctx.emit(event)
    await engine.ctx.emit(event)
    rows = (await gw.client.get("/api/messages")).json()["data"]["messages"]
    assert [r["waId"] for r in rows] == ["3EB0DUPLICATE"]
    assert (await gw.state())["stats"]["messagesReceived"] == 1


async def test_an_unusable_engine_event_is_ignored_and_the_session_goes_on(gw: Harness) -> None:
    await gw.scan()
    engine = gw.gateway.sessions.get("default").engine
    await engine.ctx.emit(MessageIn(id="", chat="", sender="", type="text", text="x", timestamp=datetime.now(UTC)))
    await inbound(gw, body="still works")
    rows = (await gw.client.get("/api/messages")).json()["data"]["messages"]
    assert [r["body"] for r in rows] == ["still works"]


async def test_received_media_is_stored_under_the_data_dir_by_date(gw: Harness) -> None:
    await gw.scan()
    picture = sample("png", 3000)
    await inbound(gw, body="look", media={"data": base64.b64encode(picture).decode(), "fileName": "beach.jpg"})
    row = (await gw.client.get("/api/messages")).json()["data"]["messages"][0]
    assert row["type"] == "image" and row["body"] == "look"
    media = row["media"]
    assert (media["mimetype"], media["size"], media["fileName"]) == ("image/png", 3000, "beach.png")
    day = datetime.now(UTC)
    folder = gw.settings.data_dir / "media" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
    assert (folder / f"{media['id']}.png").read_bytes() == picture
    download = await gw.client.get(media["url"])
    assert download.status_code == 200 and download.content == picture


async def test_a_received_file_over_the_largest_limit_is_not_stored_whatever_the_engine_did(data_dir: Path) -> None:
    # The sandbox hands over whatever it is given: the message service counts the bytes itself.
    limits = {f"media_max_{kind}": 1000 for kind in ("image", "video", "audio", "document")}
    async with in_process(make_settings(data_dir, **limits)) as gw:
        await gw.scan()
        await inbound(gw, body="look", media={"data": base64.b64encode(sample("png", 3000)).decode()})
        row = (await gw.client.get("/api/messages")).json()["data"]["messages"][0]
        assert (row["type"], row["body"], row["media"]) == ("image", "look", None)
        assert row["error"] == "media not stored: the file is 3000 bytes, over the media limit of 1000 bytes"
        assert not any(path.is_file() for path in (data_dir / "media").rglob("*"))


async def test_the_session_counters_agree_with_the_log(gw: Harness) -> None:
    await gw.scan()
    await gw.client.post("/api/sandbox/contacts", json={"phone": "+4915112345678", "reply": "ok"})
    await gw.client.post("/api/sandbox/contacts", json={"phone": "+4915112345679", "fail": "send"})
    for n in range(3):
        await gw.client.post("/api/messages/send", json={"to": "+4915112345678", "text": f"m{n}"})
    await gw.client.post("/api/messages/send", json={"to": "+4915112345679", "text": "refused"})
    for n in range(2):
        await inbound(gw, body=f"in{n}")

    async def replies_in() -> bool:
        rows = (await gw.client.get("/api/messages", params={"direction": "in"})).json()["data"]["messages"]
        return len(rows) == 5

    await eventually(replies_in, what="three replies and two inbound messages")
    rows = (await gw.client.get("/api/messages", params={"limit": 100})).json()["data"]["messages"]
    sent_in_log = sum(1 for r in rows if r["direction"] == "out" and r["sentAt"])
    received_in_log = sum(1 for r in rows if r["direction"] == "in")
    stats = (await gw.state())["stats"]
    assert stats == {"messagesSent": sent_in_log, "messagesReceived": received_in_log}
    assert (sent_in_log, received_in_log) == (3, 5)


async def test_a_location_received_without_details_is_logged_without_them(gw: Harness) -> None:
    await gw.scan()
    engine = gw.gateway.sessions.get("default").engine
    await engine.ctx.emit(MessageIn(id="3EB0LOC", chat=f"{SENDER}@s.whatsapp.net", sender=f"{SENDER}@s.whatsapp.net",
                                    type="location", text=None, timestamp=datetime.now(UTC)))
    row = (await gw.client.get("/api/messages")).json()["data"]["messages"][0]
    assert (row["type"], row["location"], row["body"]) == ("location", None, None)


async def test_many_messages_arriving_at_once_are_all_logged_published_and_counted(live: LiveServer) -> None:
    # Their writes are group-committed (several share a transaction); none may be lost or counted twice.
    count = 150
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        await command(ws, "subscribed", type="subscribe", events=["message"])
        answers = await asyncio.gather(*(http.post("/api/sandbox/inbound", json={"from": SENDER, "body": f"n{n}"})
                                         for n in range(count)))
        assert all(answer.status_code == 200 for answer in answers)
        published = {(await recv_type(ws, "message"))["data"]["body"] for _ in range(count)}
        assert published == {f"n{n}" for n in range(count)}
        rows = (await http.get("/api/messages", params={"direction": "in", "limit": 500})).json()["data"]["messages"]
        assert sorted(r["body"] for r in rows) == sorted(f"n{n}" for n in range(count))
        assert len({r["id"] for r in rows}) == count
        state = (await http.get("/api/session/state")).json()["data"]
        assert state["stats"]["messagesReceived"] == count
    stored = await live.app.state.gateway.storage.sessions.load_state("default")
    assert stored is not None and stored.messages_received == count
