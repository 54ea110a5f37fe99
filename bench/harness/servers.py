"""Servers under test, each in its own process: the gateway (`waqtor serve`) and the yardsticks.

Every server is a context manager: entering starts the process and waits until it answers, leaving
stops it (SIGTERM, then SIGKILL after a grace period). Its stderr goes to a log file whose tail is
shown when it fails to start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "bench-key-0123456789abcdef"
HOST = "127.0.0.1"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def threads(pid: int) -> int:
    """The threads of process `pid` now, from /proc (0 when it has none to show)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """One server process listening on `port`."""

    def __init__(self, name: str, argv: list[str], port: int, env: dict[str, str] | None = None,
                 health: str | None = None) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.env = env or {}
        self.health = health
        self.ready_timeout = 30.0  # seconds to answer after the start (several servers starting at once need more)
        self.stop_grace = 20.0  # seconds to exit after SIGTERM before it is killed
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix=f"waqtor-bench-{name}-")
        self.dir = Path(self._dir.name)
        self.log_path = self.dir / "server.log"

    @property
    def http(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> Server:
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        try:
            self._wait_ready(self.ready_timeout)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self, timeout: float = 90.0) -> None:  # start-up takes long on a busy machine
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.health:
                    if httpx.get(self.http + self.health, timeout=1).status_code == 200:
                        return
                else:
                    with socket.create_connection((HOST, self.port), timeout=1):
                        return
            except (OSError, httpx.HTTPError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._dir.cleanup()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def rss_bytes(self) -> int:
        """Resident memory of the server process now, from /proc."""
        with open(f"/proc/{self.pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process has used so far."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def gateway(**settings: Any) -> Server:
    """`waqtor serve` on the sandbox engine with a fixed API key, a fresh data dir and no rate limits;
    `settings` are extra WAQTOR_* values (e.g. ws_send_queue=5000)."""
    port = free_port()
    server = Server("gateway", [sys.executable, "-m", "waqtor", "serve"], port, health="/health")
    server.env = {
        "WAQTOR_HOST": HOST,
        "WAQTOR_PORT": str(port),
        "WAQTOR_ENGINE": "sandbox",
        "WAQTOR_DATA_DIR": str(server.dir / "data"),
        "WAQTOR_API_KEY": API_KEY,
        # The load is the benchmark: no REST rate limit, no per-session send rate and no WebSocket limits
        # (thousands of clients share the one key) unless a benchmark asks for one.
        "WAQTOR_RATE_LIMIT": "0",
        "WAQTOR_SEND_RATE": "0",
        "WAQTOR_WS_PER_KEY": "0",
        "WAQTOR_WS_COMMAND_RATE": "0",
        **{f"WAQTOR_{key.upper()}": str(value) for key, value in settings.items()},
    }
    return server


def link_sandbox(server: Server) -> None:
    """Link the gateway's simulated phone, so the sandbox accepts inbound messages."""
    response = httpx.post(server.http + "/api/sandbox/scan", headers={"X-API-Key": API_KEY}, json={}, timeout=10)
    response.raise_for_status()


def yardstick(module: str, data_dir: bool = False) -> Server:
    """A yardstick server from bench/yardsticks/<module>.py, started with `--port` (and with
    `--data-dir`, a fresh directory, when `data_dir`)."""
    port = free_port()
    server = Server(f"yardstick-{module}", [sys.executable, "-m", f"bench.yardsticks.{module}", "--port", str(port)],
                    port)
    if data_dir:
        server.argv += ["--data-dir", str(server.dir / "data")]
    return server
