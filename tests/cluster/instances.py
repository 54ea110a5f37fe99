"""Gateway instances as real processes (`python -m waqtor serve`) sharing one PostgreSQL database and one
Redis: what an operator runs behind a load balancer.

Each instance runs the sandbox engine on its own port with its own data dir, a short lease TTL (so a
takeover takes seconds) and its log in a file, shown when a test fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import API_KEY, free_port

ROOT = Path(__file__).resolve().parents[2]
# Renewed every third: a process may stall for about a second under load before it stops its sessions.
LEASE_TTL = 3.0


class Instance:
    def __init__(self, name: str, directory: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.dir = directory / name
        self.dir.mkdir(parents=True)
        self.log = self.dir / "gateway.log"
        self.env = {**env, "WAQTOR_PORT": str(self.port), "WAQTOR_DATA_DIR": str(self.dir / "data")}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws?apiKey={API_KEY}"

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.http, headers={"X-API-Key": API_KEY}, timeout=20)

    def launch(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "waqtor", "serve"], cwd=ROOT,
                                         env={**os.environ, "PYTHONPATH": str(ROOT), **self.env},
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    async def ready(self, timeout: float = 60.0) -> None:
        """Wait until the instance answers /health (200 or 503: it is up either way)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    pytest.fail(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
                try:
                    if (await client.get(self.http + "/health")).status_code in (200, 503):
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"{self.name} did not start within {timeout:.0f} s:\n{self.tail()}")
                await asyncio.sleep(0.05)

    async def health(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            return (await client.get(self.http + "/health")).json()  # type: ignore[no-any-return]

    async def runs(self) -> list[str]:
        """The sessions this instance runs, as its /health says."""
        return list((await self.health())["instance"]["sessions"])

    def kill(self) -> None:
        """kill -9: no shutdown, no lease released."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.proc.wait, 20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Cluster:
    """Instances sharing `database_url` and `bus_url`; `start()` adds some, `close()` stops them all."""

    def __init__(self, directory: Path, database_url: str, bus_url: str, **settings: Any) -> None:
        self.dir = directory
        self.instances: list[Instance] = []
        self.env = {
            "WAQTOR_HOST": "127.0.0.1",
            "WAQTOR_ENGINE": "sandbox",
            "WAQTOR_SANDBOX_ENABLED": "true",
            "WAQTOR_API_KEY": API_KEY,
            "WAQTOR_DATABASE_URL": database_url,
            "WAQTOR_BUS_URL": bus_url,
            "WAQTOR_LEASE_TTL": str(LEASE_TTL),
            "WAQTOR_FORWARD_TIMEOUT": "10",
            "WAQTOR_SANDBOX_ACK_DELAY": "0.01",
            "WAQTOR_RATE_LIMIT": "100000/minute",
            "WAQTOR_SEND_RATE": "100000/minute",
            **{f"WAQTOR_{key.upper()}": str(value) for key, value in settings.items()},
        }

    async def start(self, count: int = 1) -> list[Instance]:
        """Start `count` more instances at once and wait until each answers."""
        new = [Instance(f"instance{len(self.instances) + i + 1}", self.dir, self.env) for i in range(count)]
        self.instances += new
        for instance in new:
            instance.launch()
        await asyncio.gather(*(instance.ready() for instance in new))
        return new

    async def owner(self, session: str = "default", timeout: float = 20.0) -> Instance:
        """The instance that runs `session`, once one does."""
        deadline = time.monotonic() + timeout
        while True:
            for instance in self.instances:
                if instance.proc is not None and instance.proc.poll() is None and session in await instance.runs():
                    return instance
            if time.monotonic() > deadline:
                pytest.fail(f"no instance runs {session} after {timeout:.0f} s")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await asyncio.gather(*(instance.stop() for instance in self.instances))

    def logs(self) -> str:
        return "\n".join(f"==== {i.name} (port {i.port})\n{i.tail()}" for i in self.instances)


@asynccontextmanager
async def running(cluster: Cluster) -> AsyncIterator[Cluster]:
    """Stop every instance afterwards; print their logs when the test failed."""
    try:
        yield cluster
    except BaseException:
        sys.stderr.write(cluster.logs() + "\n")
        raise
    finally:
        await cluster.close()


async def open_ws(instance: Instance, **params: Any) -> ClientConnection:
    query = "".join(f"&{key}={value}" for key, value in params.items())
    return await connect(instance.ws + query, compression=None, max_size=None)


async def frames_until(ws: ClientConnection, match: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Every frame received until one for which `match(frame)` is true (included)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"no matching frame within {timeout} s; got {[f.get('type') for f in got]}")
        frame = json.loads(await asyncio.wait_for(ws.recv(), remaining))
        got.append(frame)
        if match(frame):
            return got
