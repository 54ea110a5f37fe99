"""One instance's share of the sessions: it stops a session at once when the lease passes on, hands one
over when it runs more than its share, and (on SQLite) takes back at once what a crashed run held."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from tests.api.test_bad_input import assert_error
from tests.conftest import Harness, eventually, in_process, make_settings
from tests.pg import fresh_database
from waqtor.engines.base import QRCode
from waqtor.storage import Storage
from waqtor.storage.tables import session_leases, session_state

# Short enough that a test waits a round (a third of it) in about a second, long enough that a loaded
# machine's stalls do not lose leases.
TTL = 3.0
ROUND = TTL / 3 + 0.2


def running_here(gw: Harness) -> list[str]:
    return sorted(session.name for session in gw.gateway.sessions.local())


async def test_a_session_whose_lease_passed_on_stops_here_at_once_and_is_written_no_more(tmp_path: Path) -> None:
    # A 6 s lease: the lease must pass on because another instance took it, not because a loaded machine
    # stalled a renewal past a 3 s lease before the test began.
    ttl = 2 * TTL
    async with fresh_database() as url, in_process(make_settings(tmp_path, database_url=url, lease_ttl=ttl)) as gw:
        await gw.scan()
        later = datetime.now(UTC) + timedelta(minutes=5)
        async with gw.gateway.storage.engine.begin() as conn:  # another instance took it, and wrote its state
            await conn.execute(update(session_leases).values(owner="elsewhere", expires_at=later))
            await conn.execute(update(session_state).values(status="connecting"))
        await eventually(lambda: running_here(gw) == [], timeout=10, what="the engine stopped here")
        await asyncio.sleep(ttl / 3 + 0.2)  # a round later: nothing was written over the new owner's state
        assert (await gw.state())["status"] == "connecting"
        assert (await gw.client.get("/health")).json()["instance"]["sessions"] == []
        # Commands now go to the owner, which this instance (no Redis) cannot reach.
        response = await gw.client.post("/api/sandbox/scan")
        assert_error(response, 503, "instance_unreachable")
        assert "WAQTOR_BUS_URL" in response.json()["error"]["message"] and response.headers["Retry-After"]


async def test_an_instance_running_more_than_its_share_hands_one_session_over(tmp_path: Path) -> None:
    # A 6 s lease, as below: a session must leave by being handed over, not because a loaded machine
    # stalled a renewal past a 3 s lease (a lost lease leaves the last state as it was, for the next owner).
    ttl = 2 * TTL
    async with fresh_database() as url, in_process(make_settings(tmp_path, database_url=url, lease_ttl=ttl)) as gw:
        assert (await gw.client.post("/api/sessions", json={"name": "shop", "engine": "sandbox"})).status_code == 201
        assert running_here(gw) == ["default", "shop"]
        storage = gw.gateway.storage

        async def peer() -> None:  # a second live instance, which takes nothing
            while True:
                await storage.cluster.heartbeat("peer", "p", ttl)
                await asyncio.sleep(0.1)

        task = asyncio.create_task(peer())
        try:
            await eventually(lambda: len(running_here(gw)) == 1, timeout=10, what="one session handed over")
            await asyncio.sleep(ttl / 3 + 0.2)  # a round later it keeps its share and no more
            assert len(running_here(gw)) == 1
            handed = ({"default", "shop"} - set(running_here(gw))).pop()
            assert handed not in await storage.cluster.owners()
            assert (await gw.state(handed))["status"] == "disconnected"
        finally:
            task.cancel()


async def test_an_engine_event_still_on_its_way_cannot_overwrite_the_state_of_a_session_handed_over(
        tmp_path: Path) -> None:
    # What made the test above flaky: a QR code the sandbox emitted as the session was handed over was
    # written after its final `disconnected`.
    async with in_process(make_settings(tmp_path, lease_ttl=300)) as gw:
        assert (await gw.client.post("/api/sessions", json={"name": "shop", "engine": "sandbox"})).status_code == 201
        left = gw.gateway.sessions.get("shop")
        await gw.gateway.sessions.give_up("shop")
        assert (await gw.state("shop"))["status"] == "disconnected"
        await left.monitor.handle(QRCode(code="2@late", expires_at=datetime.now(UTC) + timedelta(seconds=20)))
        assert (await gw.state("shop"))["status"] == "disconnected"
        stored = await gw.gateway.storage.sessions.load_state("shop")
        assert stored is not None and stored.status == "disconnected" and stored.qr_code is None


async def test_on_sqlite_a_restart_after_a_crash_takes_the_sessions_back_at_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, lease_ttl=300)
    async with in_process(settings):
        pass
    gone = await asyncio.create_subprocess_exec("true")
    await gone.wait()
    crashed = f"{socket.gethostname()[:60]}:{gone.pid}:abcdef"
    storage = Storage(settings.resolved_database_url)
    await storage.open()
    try:
        await storage.cluster.heartbeat(crashed, "p", 300)
        assert await storage.cluster.acquire("default", crashed, 300)
    finally:
        await storage.close()
    async with in_process(settings) as gw:
        assert running_here(gw) == ["default"], "not five minutes later, when the crashed run's lease ends"
        assert (await gw.client.get("/health")).json()["instance"]["instances"] == 1


async def test_on_postgresql_another_instances_lease_is_waited_out(tmp_path: Path) -> None:
    async with fresh_database() as url:
        settings = make_settings(tmp_path, database_url=url, lease_ttl=TTL)
        async with in_process(settings):
            pass
        storage = Storage(url)
        await storage.open()
        try:
            assert await storage.cluster.acquire("default", f"{socket.gethostname()}:1:abcdef", TTL)
        finally:
            await storage.close()
        async with in_process(settings) as gw:
            assert running_here(gw) == [], "PostgreSQL may be shared by other machines: no process check"
            await eventually(lambda: running_here(gw) == ["default"], timeout=TTL * 3, what="the lease expiring")


async def test_queued_sends_fail_when_their_session_stops_running_here(tmp_path: Path) -> None:
    async with in_process(make_settings(tmp_path, send_rate="1/minute")) as gw:
        await gw.scan()
        sent = [(await gw.client.post("/api/messages/send", json={"to": "+4915112345678", "text": f"m{n}"})).json()
                ["data"] for n in range(3)]
        # The first goes out at once (and may already be acknowledged); the rate holds back the others.
        assert sent[0]["status"] in ("sent", "delivered", "read")
        assert [m["status"] for m in sent[1:]] == ["queued", "queued"]
        assert (await gw.client.post("/api/sessions/default/stop")).status_code == 200
        for message in sent[1:]:
            logged = (await gw.client.get(f"/api/messages/{message['id']}")).json()["data"]
            assert logged["status"] == "failed" and logged["error"].startswith("interrupted")


async def test_a_session_stopped_for_a_late_renewal_runs_again_while_its_lease_is_still_this_instances(
        tmp_path: Path) -> None:
    # A longer lease than the other tests: here only the simulated late renewal may stop the session,
    # and a machine busy enough to stall the event loop for 2.4 s (TTL 3) made a real one first in a full run.
    async with in_process(make_settings(tmp_path, lease_ttl=2 * TTL)) as gw:
        await gw.scan()
        await gw.gateway.sessions.lost("default", "a renewal came too late (simulated)")
        assert running_here(gw) == []
        await eventually(lambda: running_here(gw) == ["default"], timeout=10, what="taken again")
        await eventually(lambda: gw.gateway.sessions.get("default").monitor.state.ready, what="its link restored")
