"""Polls (`POST /api/messages/send-poll`, votes coming in, `poll_vote`) through the HTTP routes and the WebSocket,
on the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_bad_input import assert_error
from tests.api.test_replies_reactions import CHAT, CONTACT, inbound, received, sandbox, send
from tests.conftest import Harness, LiveServer
from tests.ws_client import command, open_ws, recv, recv_type
from waqtor.engines.base import PollSpec

POLL = {"question": "Which bread tomorrow?", "options": ["Rye", "Spelt", "Wheat"]}


async def test_a_poll_is_sent_and_logged_with_its_question_and_an_empty_tally(gw: Harness) -> None:
    await gw.scan()
    answer = await send(gw, "/api/messages/send-poll", **POLL)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert (data["type"], data["body"], data["status"]) == ("poll", "Which bread tomorrow?", "sent")
    assert data["poll"] == {"question": "Which bread tomorrow?", "multiple": False, "voters": {},
                            "options": [{"name": "Rye", "votes": 0}, {"name": "Spelt", "votes": 0},
                                        {"name": "Wheat", "votes": 0}]}
    assert sandbox(gw).polls == {data["waId"]: PollSpec("Which bread tomorrow?", ("Rye", "Spelt", "Wheat"))}
    assert (await gw.client.get(f"/api/messages/{data['id']}")).json()["data"]["poll"] == data["poll"]


async def test_a_poll_of_several_answers_can_quote_a_message(gw: Harness) -> None:
    await gw.scan()
    quoted = await received(gw, "what do you bake?")
    answer = await send(gw, "/api/messages/send-poll", question="Extras?", options=["Butter", "Jam"], multiple=True,
                        replyTo=quoted["id"])
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert (data["poll"]["multiple"], data["replyTo"]) == (True, {"id": quoted["id"], "waId": quoted["waId"]})


@pytest.mark.parametrize("body", [
    {"question": "Q?", "options": ["only one"]},
    {"question": "Q?", "options": [str(n) for n in range(13)]},
    {"question": "Q?", "options": ["Rye", "Rye"]},
    {"question": "Q?", "options": ["Rye", ""]},
    {"question": "Q?", "options": ["Rye", "   "]},
    {"question": "", "options": ["Rye", "Spelt"]},
    {"options": ["Rye", "Spelt"]},
    {"question": "Q?", "options": ["Rye", "Spelt"], "multiple": "several"},
])
async def test_a_malformed_poll_is_422_and_nothing_is_sent(gw: Harness, body: dict[str, Any]) -> None:
    await gw.scan()
    assert_error(await send(gw, "/api/messages/send-poll", **body), 422, "validation_error")
    assert (await gw.client.get("/api/messages")).json()["data"]["messages"] == []


async def vote(gw: Harness, wa_id: str, options: list[str], status: int = 200, **body: Any) -> dict[str, Any]:
    return await inbound(gw, status, kind="vote", messageId=wa_id, options=options, **body)


async def test_votes_keep_the_running_tally_the_latest_per_voter(gw: Harness) -> None:
    await gw.scan()
    poll = (await send(gw, "/api/messages/send-poll", question="Extras?", options=["Butter", "Jam", "Honey"],
                       multiple=True)).json()["data"]
    answered = await vote(gw, poll["waId"], ["Jam", "Butter"])
    assert answered["data"] | {"timestamp": None} == {"id": poll["waId"], "from": CHAT, "body": None, "type": None,
                                                      "timestamp": None, "kind": "vote", "fromMe": False}
    await vote(gw, poll["waId"], ["Jam"], fromMe=True)

    async def tally() -> dict[str, Any]:
        return (await gw.client.get(f"/api/messages/{poll['id']}")).json()["data"]["poll"]  # type: ignore[no-any-return]

    own = sandbox(gw)._own_jid()
    assert (await tally())["voters"] == {CHAT: ["Butter", "Jam"], own: ["Jam"]}  # in the poll's order
    assert [(o["name"], o["votes"]) for o in (await tally())["options"]] == [("Butter", 1), ("Jam", 2), ("Honey", 0)]
    await vote(gw, poll["waId"], ["Honey"])  # the contact changes its mind: the earlier vote is replaced
    assert [(o["name"], o["votes"]) for o in (await tally())["options"]] == [("Butter", 0), ("Jam", 1), ("Honey", 1)]
    await vote(gw, poll["waId"], [])  # and takes it back
    assert (await tally())["voters"] == {own: ["Jam"]}
    assert [o["votes"] for o in (await tally())["options"]] == [0, 1, 0]


async def test_the_sandbox_refuses_a_vote_the_poll_cannot_take(gw: Harness) -> None:
    await gw.scan()
    poll = (await send(gw, "/api/messages/send-poll", **POLL)).json()["data"]
    text = (await send(gw, text="not a poll")).json()["data"]
    refusals = [await gw.client.post("/api/sandbox/inbound", json=body) for body in (
        {"from": CONTACT, "kind": "vote", "messageId": poll["waId"], "options": ["Rye", "Spelt"]},
        {"from": CONTACT, "kind": "vote", "messageId": poll["waId"], "options": ["Oat"]},
        {"from": CONTACT, "kind": "vote", "messageId": text["waId"], "options": ["Rye"]},
    )]
    assert [(r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) for r in refusals] == [
        (400, "invalid_vote", "options: the poll takes one answer"),
        (400, "invalid_vote", "options: the poll has no answer 'Oat'"),
        (404, "message_not_found", f"the sandbox sent no poll {text['waId']!r} to chat {CHAT}")]
    assert_error(await gw.client.post("/api/sandbox/inbound", json={"from": CONTACT, "kind": "vote",
                                                                    "messageId": poll["waId"]}), 422,
                 "validation_error")
    assert_error(await gw.client.post("/api/sandbox/inbound", json={"from": CONTACT, "body": "hi",
                                                                    "options": ["Rye"]}), 422, "validation_error")
    assert (await gw.client.get(f"/api/messages/{poll['id']}")).json()["data"]["poll"]["voters"] == {}


async def test_votes_are_published_as_poll_vote_on_the_websocket(live: LiveServer) -> None:
    async with live.client() as http, await open_ws(live) as ws:
        await http.post("/api/sandbox/scan")
        poll = (await http.post("/api/messages/send-poll", json={"to": CONTACT, **POLL})).json()["data"]
        await command(ws, "subscribed", type="subscribe", events=["poll_vote"])
        for options in (["Spelt"], []):
            answer = await http.post("/api/sandbox/inbound", json={"from": CONTACT, "kind": "vote",
                                                                   "messageId": poll["waId"], "options": options})
            assert answer.status_code == 200, answer.text
            event = (await recv_type(ws, "poll_vote"))["data"]
            assert event == {"messageId": poll["id"], "waId": poll["waId"], "session": "default", "chat": CHAT,
                             "from": CHAT, "fromMe": False, "options": options, "timestamp": event["timestamp"]}


async def test_poll_votes_are_replayed_on_resume_for_the_session_subscribed(live: LiveServer) -> None:
    start = await live.gateway.bus.last_id()
    async with live.client() as http:
        await http.post("/api/sandbox/scan")
        poll = (await http.post("/api/messages/send-poll", json={"to": CONTACT, **POLL})).json()["data"]
        for options in (["Rye"], ["Wheat"]):
            answer = await http.post("/api/sandbox/inbound", json={"from": CONTACT, "kind": "vote",
                                                                   "messageId": poll["waId"], "options": options})
            assert answer.status_code == 200, answer.text
    async with await open_ws(live) as ws:
        await command(ws, "subscribed", type="subscribe", events=["poll_vote"], sessions=["default"])
        await ws.send(f'{{"type": "resume", "after": {start}}}')
        replay = []
        while (frame := await recv(ws))["type"] != "resumed":
            replay.append(frame)
    assert [(f["type"], f["session"], f["data"]["options"]) for f in replay] == [
        ("poll_vote", "default", ["Rye"]), ("poll_vote", "default", ["Wheat"])]
