"""neonize sessions in engine worker processes, with the real neonize library, offline.

WhatsApp is not reachable here, which is what these tests need: a connect attempt fails at once ("no such
host"), and a silent proxy (a local listener that accepts and never answers) makes an attempt hang in its
dial for as long as the library lets it, which is what a user behind a dead network sees.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Harness, eventually, free_port, in_process, make_settings
from tests.examples.process import Running
from waqtor.engines.base import EngineContext, EngineStore, Ready
from waqtor.engines.workers.engine import WorkerEngine
from waqtor.engines.workers.pool import Worker, WorkerPool
from waqtor.events import Event

KEY = "test-key-for-workers-000000000000"


class SilentProxy:
    """Accepts connections and never answers: a dial through it hangs."""

    def __init__(self) -> None:
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._held: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> SilentProxy:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._held:
            writer.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._held.append(writer)
        await reader.read(65536)  # the CONNECT request, never answered


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, parent pid, …); None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    fields = _stat(pid)
    # A zombie (exited, not yet reaped by its parent) is gone for our purposes.
    return fields is not None and fields[0] != "Z"


def link_device(store: Path, jid: str) -> None:
    """A device row as whatsmeow writes it when a phone links (keys of the right sizes; never used here)."""
    with sqlite3.connect(store) as conn:
        conn.execute(
            "INSERT INTO whatsmeow_device (jid, registration_id, noise_key, identity_key, signed_pre_key,"
            " signed_pre_key_id, signed_pre_key_sig, adv_key, adv_details, adv_account_sig, adv_account_sig_key,"
            " adv_device_sig) VALUES (?, 1, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
            (jid, os.urandom(32), os.urandom(32), os.urandom(32), os.urandom(64), os.urandom(32), b"\x00",
             os.urandom(64), os.urandom(32), os.urandom(64)))


def umask_of(pid: int) -> str:
    with open(f"/proc/{pid}/status") as status:
        return next(line.split()[1] for line in status if line.startswith("Umask:"))


def private_modes(directory: Path, pattern: str) -> dict[str, int]:
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in directory.glob(pattern)}


def own_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def worker_of(gw: Harness, session: str) -> Worker:
    workers = [w for w in gw.gateway.sessions.workers.workers if session in w.tenants and w.alive]
    assert len(workers) == 1, f"session {session} should be in exactly one live worker"
    return workers[0]


async def create(gw: Harness, name: str, config: dict[str, Any] | None = None) -> None:
    body: dict[str, Any] = {"name": name, "engine": "neonize"}
    if config:
        body["config"] = config
    response = await gw.client.post("/api/sessions", json=body)
    assert response.status_code == 201, response.text


@pytest.fixture
async def gw(data_dir: Path) -> AsyncIterator[Harness]:
    settings = make_settings(data_dir, engine="sandbox", reconnect_min=0.05, reconnect_max=0.2,
                             engine_sessions_per_worker=1, engine_restart_delay=0.05)
    async with in_process(settings) as harness:
        yield harness


async def test_stop_while_dialing_a_silent_server_answers_within_the_bound(gw: Harness) -> None:
    async with SilentProxy() as proxy:
        await create(gw, "shop", {"proxy": proxy.url})
        await eventually(lambda: proxy.accepted > 0, timeout=30, what="the dial to reach the silent proxy")
        worker = worker_of(gw, "shop")
        started = time.monotonic()
        response = await gw.client.post("/api/sessions/shop/stop")
        took = time.monotonic() - started
        assert response.status_code == 200, response.text
        assert response.json()["data"]["state"]["status"] == "disconnected"
        # The bound: a stop answers within 10 s whatever the library does.
        assert took < 10, f"stop took {took:.1f} s"
        await eventually(lambda: not pid_alive(worker.pid), timeout=10, what="the dialing worker to be gone")


async def test_a_killed_worker_brings_its_session_back_and_other_workers_never_notice(gw: Harness) -> None:
    # Both dial a silent proxy, so neither moves on by itself: what the state shows is what the crash did.
    async with SilentProxy() as proxy:
        await create(gw, "alpha", {"proxy": proxy.url})
        await create(gw, "beta", {"proxy": proxy.url})
        await eventually(lambda: proxy.accepted >= 2, timeout=30, what="both dials to reach the proxy")
        # alpha is linked: its device is in whatsmeow's store (migrated by the first attempts) and its link
        # names it, as after a real pairing.
        link_device(gw.gateway.settings.data_dir / "neonize.db", "4915100000001:4@s.whatsapp.net")
        await gw.gateway.storage.sessions.save_engine_data("alpha", {"jid": "4915100000001:4@s.whatsapp.net"})
        alpha, beta = worker_of(gw, "alpha"), worker_of(gw, "beta")
        assert alpha.pid != beta.pid, "one session per worker here"
        beta_errors: list[dict[str, Any]] = []

        async def record(event: Event) -> None:
            error = event.data.get("lastError") if event.type == "session_update" else None
            if error and event.session == "beta":
                beta_errors.append(error)

        gw.gateway.bus.add_publish_hook(record)
        os.kill(alpha.pid, signal.SIGKILL)
        monitor = gw.gateway.sessions.get("alpha").monitor

        def crashed() -> bool:
            error = monitor.state.last_error
            return error is not None and error["code"] == "engine_crashed"

        await eventually(crashed, timeout=15, what="alpha to show engine_crashed")
        assert "signal 9" in monitor.state.last_error["details"]["reason"]
        await eventually(lambda: any("alpha" in w.tenants and w.alive and w.pid != alpha.pid
                                     for w in gw.gateway.sessions.workers.workers),
                         timeout=30, what="alpha to run in a new worker")
        await eventually(lambda: proxy.accepted >= 3, timeout=30, what="alpha to dial again from its new worker")
        # It comes back from its stored link: the restart did not forget it.
        assert await gw.gateway.storage.sessions.load_engine_data("alpha") == {
            "jid": "4915100000001:4@s.whatsapp.net"}
        # beta's worker is the same process, and beta never saw a crash.
        assert worker_of(gw, "beta") is beta and pid_alive(beta.pid)
        assert gw.gateway.sessions.get("beta").monitor.state.last_error is None
        assert not beta_errors


async def test_failed_attempts_leave_the_gateway_flat_and_used_up_workers_are_recycled(data_dir: Path) -> None:
    settings = make_settings(data_dir, engine="sandbox", reconnect_min=0.001, reconnect_max=0.002,
                             engine_worker_recycle=40)
    async with in_process(settings) as gw:
        await create(gw, "shop")
        pool = gw.gateway.sessions.workers
        await eventually(lambda: any(w.wear.attempts >= 5 for w in pool.workers), timeout=30, what="5 attempts")
        threads, fds = len(__import__("threading").enumerate()), own_fds()
        first = worker_of(gw, "shop")
        seen: dict[int, int] = {}  # worker pid → the most fds it reported
        attempts_done = 0

        def progress() -> bool:
            nonlocal attempts_done
            for worker in pool.workers:
                seen[worker.pid] = max(seen.get(worker.pid, 0), worker.wear.fds)
            total = sum(w.wear.attempts for w in pool.workers if w.alive)
            attempts_done = max(attempts_done, total + 40 * (len(seen) - 1))
            return attempts_done >= 200

        await eventually(progress, timeout=120, what="200 failed attempts")
        assert len(seen) >= 4, "a worker is replaced every 40 attempts"
        assert not pid_alive(first.pid), "the used-up worker exited"
        # What one worker holds never grows past what 40 attempts leak, however many attempts were made.
        assert max(seen.values()) <= min(seen.values()) + 60
        # The gateway itself holds no thread and no descriptor per attempt.
        assert len(__import__("threading").enumerate()) <= threads + 2
        assert own_fds() <= fds + 10


async def test_the_gateway_exits_within_its_bound_on_sigterm_while_a_session_dials(data_dir: Path) -> None:
    port = free_port()
    env = {"WAQTOR_DATA_DIR": str(data_dir), "WAQTOR_ENGINE": "sandbox", "WAQTOR_PORT": str(port),
           "WAQTOR_HOST": "127.0.0.1", "WAQTOR_API_KEY": KEY}
    async with SilentProxy() as proxy:
        server = await Running.start([sys.executable, "-m", "waqtor", "serve"], Path.cwd(), env, "the gateway")
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": KEY}) as http:
                async def up() -> bool:
                    try:
                        return (await http.get("/health")).status_code == 200
                    except httpx.TransportError:
                        return False

                await eventually(up, timeout=30, what="the gateway to answer")
                body = {"name": "shop", "engine": "neonize", "config": {"proxy": proxy.url}}
                assert (await http.post("/api/sessions", json=body)).status_code == 201
                await eventually(lambda: proxy.accepted > 0, timeout=30, what="the dial to reach the silent proxy")
            workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _child_of(int(p), server.proc.pid)]
            assert workers, "the session's engine runs in a worker process of the gateway"
            started = time.monotonic()
            code = await server.stop(signal.SIGTERM, timeout=30)
            took = time.monotonic() - started
            # uvicorn, having shut down cleanly, ends by re-raising the signal it caught.
            assert code in (0, -signal.SIGTERM), server.stderr
            assert took < 15, f"the gateway took {took:.1f} s to exit"
            assert "Application shutdown complete" in server.stderr
            assert not any(pid_alive(pid) for pid in workers), "no worker outlives the gateway"
        finally:
            await server.kill()


def _child_of(pid: int, parent: int) -> bool:
    fields = _stat(pid)
    return fields is not None and int(fields[1]) == parent and "waqtor.engines.workers.main" in _cmdline(pid)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmd:
            return cmd.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


async def test_a_workers_device_store_and_whatever_it_writes_are_private(gw: Harness) -> None:
    async with SilentProxy() as proxy:
        await create(gw, "shop", {"proxy": proxy.url})
        await eventually(lambda: proxy.accepted > 0, timeout=30, what="the client to open its store and dial")
        assert umask_of(worker_of(gw, "shop").pid) == "0077", "files the library makes are its user's alone"
        store = private_modes(gw.settings.data_dir, "neonize.db*")
        assert store and set(store.values()) == {0o600}, store


async def test_contact_questions_reach_the_engine_in_the_worker(gw: Harness) -> None:
    from waqtor.errors import SessionNotReady

    await create(gw, "contacts")
    await eventually(lambda: any("contacts" in w.tenants and w.alive for w in gw.gateway.sessions.workers.workers),
                     what="the session placed in a worker")
    engine = gw.gateway.sessions.get("contacts").engine
    jid = "4915199999999@s.whatsapp.net"
    # The hosted neonize engine (never connected, offline) answers each one itself: not connected. A call the
    # worker did not know would come back as InvalidInput instead.
    for call in (engine.check_numbers([jid]), engine.contact_profile(jid), engine.profile_picture(jid),
                 engine.set_blocked(jid, True)):
        with pytest.raises(SessionNotReady):
            await call


class SandboxInWorker(WorkerEngine):
    """The sandbox hosted in an engine worker: the gateway's forwarding of each engine call, with no library."""

    name = "sandbox"
    hosted = "waqtor.engines.sandbox.engine:SandboxEngine"


async def test_edits_deletions_receipts_and_typing_cross_to_the_engine_in_its_worker(data_dir: Path) -> None:
    settings = make_settings(data_dir)
    pool = WorkerPool(settings)
    seen: list[Any] = []

    class Linked(EngineStore):
        async def load(self) -> dict[str, Any] | None:
            return {"phone": "4915112345678", "pushname": "Tariq"}

        async def save(self, data: dict[str, Any] | None) -> None:
            pass

    async def emit(event: Any) -> None:
        seen.append(event)

    engine = SandboxInWorker(EngineContext("shop", emit, Linked(), settings, workers=pool))
    try:
        await engine.start()
        await eventually(lambda: any(isinstance(e, Ready) for e in seen), what="ready in the worker")
        edited = await engine.edit_message("4915199999999@s.whatsapp.net", "3EB0SENT01", "fixed")
        revoked = await engine.revoke_message("4915199999999@s.whatsapp.net", "3EB0SENT01")
        assert isinstance(edited, datetime) and isinstance(revoked, datetime)
        await engine.mark_read("4915199999999@s.whatsapp.net", [("3EB0IN01", "4915199999999@s.whatsapp.net")])
        await engine.send_chat_presence("4915199999999@s.whatsapp.net", "typing")
    finally:
        await engine.stop()
        await pool.close()
