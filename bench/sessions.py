"""Sessions (issue 10, item 4): memory and CPU of one gateway process with idle sandbox sessions and with
neonize sessions trying to connect offline, against a bare FastAPI app holding the same sessions."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from bench.harness import Mode, Result, Table
from bench.harness.servers import API_KEY, Server, gateway, threads, yardstick

TITLE = "Sessions"
METHOD = """
One gateway process (`waqtor serve`, its default engine the sandbox, default settings) holds sessions
created with `POST /api/sessions`. **Sandbox**: the linked `default` session is the first; each further
one is created and linked with `POST /api/sandbox/scan {"session": name}`, in steps to 1, 10 and 50
sessions, which then sit idle (no messages, no WebSocket clients). **neonize**: in a second gateway
process the `default` session is stopped, then neonize sessions are created in steps to 1 and 10.
This machine has no route to WhatsApp: every connection attempt fails to resolve `web.whatsapp.com`
within milliseconds, and each session backs off (`WAQTOR_RECONNECT_MIN` 2 s, doubling, with jitter)
and tries again, so the figure is the cost of sessions that are down and retrying, the state a
gateway is in when WhatsApp cannot be reached. After each step (and a settling second for the
sandbox), the process's CPU time (user + system, `/proc/<pid>/stat`) is read over a fixed window, and
its resident memory (`/proc/<pid>/statm`) at the end of it. **Memory per session is the slope** of
a least-squares line through (sessions, RSS) of the steps, so the process's own start-up memory does
not count. CPU is given as a percentage of one core over the window.

The yardstick is a bare FastAPI app under the same uvicorn settings (`bench/yardsticks/sessions_app.py`)
holding the same sessions with the least each needs: for a sandbox session its state in a dict, a row
in SQLite and a task that rewrites the row every 30 s; for a neonize session a neonize client dialling
from its own thread with the same backoff, a new client for each attempt as the gateway builds one.
Its neonize figures are what neonize (whatsmeow, in Go, inside the Python process) costs by itself;
the gateway's excess over them is the gateway's own. The four processes (gateway and yardstick, sandbox
and neonize) are measured side by side, each in its own process (the quick run puts both engines in
one process per server, so its neonize rows include the sandbox sessions).

**Published figures of browser-based gateways, for comparison (not measured here):** WAHA's FAQ gives
about 400 MB of memory per session for its browser engine (a Chromium per session) and about 200 MB
per session for its engines without a browser. Compare them with the memory per session rows below.
"""

SANDBOX_STEPS: dict[Mode, tuple[int, ...]] = {"full": (1, 10, 50), "quick": (1, 4, 12), "smoke": (1, 3)}
NEONIZE_STEPS: dict[Mode, tuple[int, ...]] = {"full": (1, 10), "quick": (1, 3), "smoke": (1, 2)}
SANDBOX_WINDOW: dict[Mode, float] = {"full": 10.0, "quick": 0.3, "smoke": 0.3}
NEONIZE_WINDOW: dict[Mode, float] = {"full": 30.0, "quick": 1.5, "smoke": 0.5}
SETTLE: dict[Mode, float] = {"full": 1.0, "quick": 0.5, "smoke": 0.1}
MIB = 1024 * 1024
ENGINES = ("sandbox", "neonize")


@dataclass
class Step:
    sessions: int
    rss: int
    cpu_percent: float
    threads: int


@dataclass
class Track:
    """One server and its engines, in turn: make each engine's steps of sessions and measure after
    each. (The quick and smoke runs put both engines in one process, to start fewer.)"""

    server: Callable[[], Server]
    engines: tuple[str, ...]
    is_gateway: bool

    def prepare(self, client: httpx.Client, engine: str) -> int:
        """Sessions of `engine` the server holds before the first is created here."""
        if not self.is_gateway:
            return 0
        if engine == "sandbox":
            client.post("/api/sandbox/scan", json={}).raise_for_status()
            return 1
        if len(self.engines) == 1:
            client.post("/api/sessions/default/stop").raise_for_status()
        return 0

    def create(self, client: httpx.Client, engine: str, index: int) -> None:
        name = f"{engine[0]}{index}"
        if self.is_gateway:
            client.post("/api/sessions", json={"name": name, "engine": engine}).raise_for_status()
            if engine == "sandbox":
                client.post("/api/sandbox/scan", json={"session": name}).raise_for_status()
        else:
            client.post("/sessions", json={"name": name, "engine": engine}).raise_for_status()

    def measure(self, mode: Mode) -> dict[str, list[Step]]:
        out: dict[str, list[Step]] = {}
        with self.server() as server, httpx.Client(base_url=server.http, headers={"X-API-Key": API_KEY},
                                                   timeout=60) as client:
            for engine in self.engines:
                out[engine] = self._steps(server, client, engine, mode)
        return out

    def _steps(self, server: Server, client: httpx.Client, engine: str, mode: Mode) -> list[Step]:
        sandbox = engine == "sandbox"
        window = SANDBOX_WINDOW[mode] if sandbox else NEONIZE_WINDOW[mode]
        out: list[Step] = []
        held = self.prepare(client, engine)
        for target in SANDBOX_STEPS[mode] if sandbox else NEONIZE_STEPS[mode]:
            while held < target:
                self.create(client, engine, held)
                held += 1
            if sandbox:
                time.sleep(SETTLE[mode])
            cpu, t0 = server.cpu_seconds(), time.monotonic()
            time.sleep(window)
            used = server.cpu_seconds() - cpu
            out.append(Step(target, server.rss_bytes(), used / (time.monotonic() - t0) * 100, threads(server.pid)))
        return out


def slope(steps: list[Step]) -> float:
    """Bytes per session: the least-squares slope of RSS over sessions."""
    xs = [s.sessions for s in steps]
    ys = [s.rss for s in steps]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def run(mode: Mode) -> list[Result | Table]:
    def ys() -> Server:
        return yardstick("sessions_app", data_dir=True)

    # The figures of record give each engine its own processes; the small runs start half as many.
    groups = [(engine,) for engine in ENGINES] if mode == "full" else [ENGINES]
    tracks = [(name, Track(make, engines, name == "gateway"))
              for engines in groups for name, make in (("gateway", gateway), ("yardstick", ys))]
    with ThreadPoolExecutor(len(tracks)) as pool:
        futures = [(name, pool.submit(track.measure, mode)) for name, track in tracks]
        found = {(name, engine): steps for name, future in futures for engine, steps in future.result().items()}
    out: list[Result | Table] = []
    for engine, unit, scale, kind, state in (("sandbox", "KiB", 1024, "sandbox", "idle"),
                                             ("neonize", "MiB", MIB, "neonize", "retrying offline")):
        gw, ys = found[("gateway", engine)], found[("yardstick", engine)]
        last, ys_last = gw[-1], ys[-1]
        params = {"sessions": [s.sessions for s in gw], "window_s": (SANDBOX_WINDOW if engine == "sandbox"
                                                                       else NEONIZE_WINDOW)[mode]}
        out += [
            Result(f"RSS with {last.sessions} {kind} sessions, {state}", round(last.rss / MIB, 1), "MiB",
                   round(ys_last.rss / MIB, 1), "bare FastAPI + sessions", params=params),
            Result(f"memory per {kind} session, {state} (slope)", round(slope(gw) / scale, 2), unit,
                   round(slope(ys) / scale, 2), "bare FastAPI + sessions", params=params,
                   note="published, not measured here: ~400 MB (browser engine), ~200 MB (non-browser), WAHA FAQ"),
            Result(f"CPU with {last.sessions} {kind} sessions, {state}", round(last.cpu_percent, 2), "% of a core",
                   round(ys_last.cpu_percent, 2), "bare FastAPI + sessions", params=params),
        ]
    rows: list[list[Any]] = []
    for (name, engine), steps in found.items():
        rows += [[name, engine, s.sessions, round(s.rss / MIB, 1), round(s.cpu_percent, 2), s.threads]
                 for s in steps]
    out.append(Table("Steps", ["server", "engine", "sessions", "RSS MiB", "CPU % of a core", "threads"], rows))
    return out
