"""Crash safety: after `kill -9` and a restart a campaign continues where it stopped; no recipient is
sent twice, none is forgotten, and one whose send was cut off is settled from the message log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update

from tests.campaigns.helpers import create, phones, recipients, wait_for
from tests.conftest import API_KEY, free_port, in_process, make_settings
from waqtor.storage import Storage
from waqtor.storage.tables import campaigns

SENT = {"sent", "delivered", "read"}


async def test_a_restart_settles_each_cut_off_send_from_the_message_log(data_dir: Path) -> None:
    settings = make_settings(data_dir)
    cut, unconfirmed, confirmed, waiting = phones(4)
    async with in_process(settings) as gw:
        await gw.scan()
        campaign = await create(gw.client, recipients=recipients([cut, unconfirmed, confirmed, waiting]))
    cid = campaign["id"]

    # What a kill -9 can leave: claimed with no message logged yet; logged but never confirmed;
    # confirmed by the engine but not yet written to the recipient; and untouched.
    storage = Storage(settings.resolved_database_url)
    await storage.open()
    try:
        async with storage.engine.begin() as conn:
            await conn.execute(update(campaigns).where(campaigns.c.id == cid).values(status="running"))
        rows = {r.phone: r for r in await storage.campaigns.recipients(cid, None, None, 10)}
        now = rows[cut].updated_at
        for phone in (cut, unconfirmed, confirmed):
            assert await storage.campaigns.claim(rows[phone].id, cid, now)
        base = {"session": "default", "direction": "out", "sender": None, "type": "text", "text": "Hi",
                "campaign_id": cid, "timestamp": now, "queued_at": now, "created_at": now}
        lost = await storage.messages.insert({**base, "chat": rows[unconfirmed].jid, "status": "queued",
                                              "campaign_recipient_id": rows[unconfirmed].id})
        kept = await storage.messages.insert({**base, "chat": rows[confirmed].jid, "status": "sent", "wa_id": "3EB0AA",
                                              "sent_at": now, "campaign_recipient_id": rows[confirmed].id})
    finally:
        await storage.close()

    async with in_process(settings) as gw:
        await wait_for(gw.client, cid, "completed")
        found = {r["phone"]: r for r in (await gw.client.get(f"/api/campaigns/{cid}/recipients")).json()["data"][
            "recipients"]}
        assert found[unconfirmed]["status"] == "unknown" and "not sent again" in found[unconfirmed]["reason"]
        assert found[unconfirmed]["messageId"] == lost.id
        assert (found[confirmed]["status"], found[confirmed]["messageId"]) == ("sent", kept.id)
        assert found[cut]["status"] in SENT and found[waiting]["status"] in SENT
        log = (await gw.client.get(f"/api/messages/{lost.id}")).json()["data"]
        assert log["status"] == "failed" and log["error"].startswith("interrupted")
        messages = [json.loads(line) for line in (await gw.client.get(
            "/api/messages/export", params={"format": "jsonl", "direction": "out"})).text.splitlines()]
        per_chat = Counter(m["chat"] for m in messages if m["campaignId"] == cid)
        assert per_chat == {rows[p].jid: 1 for p in (cut, unconfirmed, confirmed, waiting)}


# ---- a real gateway process, killed -----------------------------------------------------------------


def _serve(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WAQTOR_API_KEY": API_KEY, "WAQTOR_ENGINE": "sandbox", "WAQTOR_HOST": "127.0.0.1",
           "WAQTOR_PORT": str(port), "WAQTOR_DATA_DIR": str(data), "WAQTOR_SANDBOX_ACK_DELAY": "0.01",
           "WAQTOR_SEND_RATE": "100000/minute", "WAQTOR_RATE_LIMIT": "0", "WAQTOR_LOG_LEVEL": "warning"}
    return subprocess.Popen([sys.executable, "-m", "waqtor", "serve"], cwd=data.parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _until(client: httpx.Client, proc: subprocess.Popen[bytes], check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the gateway exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            found = check(client)
        except httpx.TransportError:
            found = None
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _campaign(client: httpx.Client, cid: str) -> dict[str, Any]:
    return client.get(f"/api/campaigns/{cid}").json()["data"]  # type: ignore[no-any-return]


def test_a_campaign_killed_mid_way_ends_with_every_recipient_sent_once_or_unknown(tmp_path: Path) -> None:
    data, port, total = tmp_path / "data", free_port(), 200
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": API_KEY}, timeout=10)
    proc = _serve(data, port)
    try:
        _until(client, proc, lambda c: c.get("/health").status_code == 200, "the gateway")
        assert client.post("/api/sandbox/scan").status_code == 200
        body = {"name": "Crash", "message": {"text": "Hi {name}"}, "recipients": recipients(phones(total)),
                "throttle": {"minDelay": 0.01, "maxDelay": 0.03, "perMinute": None, "perHour": None, "perDay": None},
                "start": True}
        created = client.post("/api/campaigns", json=body)
        assert created.status_code == 201, created.text
        cid = created.json()["data"]["campaign"]["id"]
        _until(client, proc, lambda c: _campaign(c, cid)["counts"]["pending"] <= total - 25, "25 sends")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc = _serve(data, port)
        _until(client, proc, lambda c: c.get("/health").status_code == 200, "the restarted gateway")
        left = _campaign(client, cid)
        assert left["counts"]["pending"] > 0, "the kill came after the campaign had ended"
        done = _until(client, proc, lambda c: (found := _campaign(c, cid))["status"] == "completed" and found,
                      "the campaign to complete after the restart")
        assert done["counts"]["pending"] == done["counts"]["sending"] == 0
        every: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = client.get(f"/api/campaigns/{cid}/recipients",
                              params={"limit": 1000} | ({"cursor": cursor} if cursor else {})).json()["data"]
            every += page["recipients"]
            if not (cursor := page["nextCursor"]):
                break
        assert len(every) == total
        assert {r["status"] for r in every} <= SENT | {"unknown"}
        export = client.get("/api/messages/export", params={"format": "jsonl", "direction": "out"})
        log = [json.loads(line) for line in export.text.splitlines()]
        mine = [m for m in log if m["campaignId"] == cid]
        accepted = Counter(m["chat"] for m in mine if m["waId"] is not None)
        for recipient in every:
            jid = recipient["phone"].lstrip("+") + "@s.whatsapp.net"
            if recipient["status"] == "unknown":
                assert accepted[jid] == 0  # logged, never confirmed, and not sent again
            else:
                assert accepted[jid] == 1, recipient
        assert not [m for m in mine if m["status"] == "queued"]
    finally:
        client.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
