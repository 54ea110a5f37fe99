"""The per-session send rate: sends beyond it wait in a bounded queue, in order; a full queue refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.api.test_bad_input import assert_error
from tests.conftest import Harness, eventually, in_process, make_settings

TO = "+49 151 12345678"


async def post(gw: Harness, text: str) -> Any:
    return await gw.client.post("/api/messages/send", json={"to": TO, "text": text})


async def logged(gw: Harness, **params: Any) -> list[dict[str, Any]]:
    response = await gw.client.get("/api/messages", params={"limit": 500} | params)
    return response.json()["data"]["messages"]  # type: ignore[no-any-return]


async def test_sends_within_the_rate_go_out_at_once_and_beyond_it_wait_until_the_queue_is_full(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, send_rate="2/minute", send_queue_size=2)) as gw:
        await gw.scan()
        answers = [(await post(gw, f"m{n}")).json()["data"] for n in range(4)]
        assert [a["status"] == "queued" for a in answers] == [False, False, True, True]
        assert answers[0]["waId"] and answers[1]["waId"]
        assert answers[2]["waId"] is None and answers[3]["waId"] is None
        refused = await post(gw, "m4")
        assert_error(refused, 429, "send_queue_full")
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        assert len(await logged(gw)) == 4  # the refused send left no trace in the log


async def test_the_queue_drains_in_the_order_sends_were_accepted(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, send_rate="3/2 seconds", send_queue_size=10)) as gw:
        await gw.scan()
        answers = [(await post(gw, f"m{n}")).json()["data"] for n in range(6)]
        assert "queued" in {a["status"] for a in answers}

        async def all_sent() -> bool:
            return all(m["sentAt"] for m in await logged(gw))

        await eventually(all_sent, timeout=15, what="the queue to drain")
        rows = sorted(await logged(gw), key=lambda m: m["id"])
        assert [m["body"] for m in rows] == [f"m{n}" for n in range(6)]
        sent_times = [m["sentAt"] for m in rows]
        assert sent_times == sorted(sent_times)
        assert len({m["waId"] for m in rows}) == 6
        state = await gw.state()
        assert state["stats"]["messagesSent"] == 6


async def test_a_queued_send_whose_session_dropped_is_logged_failed(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, send_rate="1/2 seconds", send_queue_size=5)) as gw:
        await gw.scan()
        await post(gw, "first")
        queued = (await post(gw, "second")).json()["data"]
        assert queued["status"] == "queued"
        await gw.client.post("/api/sandbox/fail", json={"kind": "logout"})

        async def failed() -> bool:
            m = (await gw.client.get(f"/api/messages/{queued['id']}")).json()["data"]
            return m["status"] == "failed"

        await eventually(failed, timeout=10, what="the queued send to fail")
        m = (await gw.client.get(f"/api/messages/{queued['id']}")).json()["data"]
        assert m["error"].startswith("session_not_ready")


async def test_sends_still_queued_at_shutdown_are_logged_failed_not_sent_later(data_dir: Path) -> None:
    settings = make_settings(data_dir, send_rate="1/minute", send_queue_size=5)
    async with in_process(settings) as gw:
        await gw.scan()
        await post(gw, "sent")
        queued = (await post(gw, "waiting")).json()["data"]
        assert queued["status"] == "queued"
    async with in_process(settings) as gw:
        m = (await gw.client.get(f"/api/messages/{queued['id']}")).json()["data"]
        assert m["status"] == "failed" and m["error"].startswith("interrupted")
        assert m["waId"] is None


async def test_an_empty_send_rate_sends_everything_at_once(data_dir: Path) -> None:
    async with in_process(make_settings(data_dir, send_rate="", send_queue_size=1)) as gw:
        await gw.scan()
        answers = [(await post(gw, f"m{n}")).json()["data"] for n in range(30)]
        assert all(a["waId"] and a["status"] != "queued" for a in answers)
