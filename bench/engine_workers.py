"""neonize sessions in engine worker processes: memory and idle CPU per session, how long a stop takes
while a dial hangs, and whether threads and open files stay flat over many failed connection attempts.
Each against the same gateway with every neonize engine in its own process (the way before workers)."""

from __future__ import annotations

import math
import os
import signal
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Any

import httpx

from bench.harness import Mode, Result, Table, Target
from bench.harness.servers import API_KEY, CLOCK_TICKS, HOST, Server, gateway, threads

TITLE = "neonize sessions in engine workers"
METHOD = """
Every neonize session's engine (the real neonize library: Python over whatsmeow, a Go library) runs
in an **engine worker process** the gateway starts (`python -m waqtor.engines.workers.main`), up to
`engine_sessions_per_worker` sessions per worker. More sessions per worker share one Python interpreter
and one Go runtime, so they cost less memory; fewer mean fewer sessions lost when a worker dies (a
crash of the Go library ends its whole process: the *blast radius*). Two layouts are measured: the
default, **10 per worker**, and **1 per worker**. The **yardstick is the gateway as it was before
workers**: the same `waqtor serve` with every neonize engine in the gateway's own process
(`bench/yardsticks/inprocess_gateway.py`, which points the engine registry's `neonize` entry at
`waqtor.engines.neonize.engine:NeonizeEngine`), measured in the same run.

The machine has no route to WhatsApp. So that sessions sit in the state of a gateway waiting on the
network rather than failing every few milliseconds, each session is created with
`config={"proxy": ...}` pointing at a **silent proxy** (a local listener that accepts connections and
never answers) and `WAQTOR_CONNECT_TIMEOUT` 300 s: its dial hangs. (whatsmeow gives up on its own
after about 60 s and the session retries after a back-off.) The engine opens one connection at a time
per process (neonize's store start-up is serialised per event loop), so at any moment **one session
per worker is dialling** and the worker's other sessions wait their turn with their client built.

**Memory and idle CPU.** In a fresh gateway (sandbox `default` session, default settings), neonize
sessions are created with `POST /api/sessions` in steps to 1, 10 and 50 (quick run: 1 and 5; the quick
and smoke runs measure 10 per worker and the yardstick only, leaving out 1 per worker). After
each step, once the expected dials reached the proxy and a settling second passed, the processes of
the gateway and all its workers are read: **memory is PSS** (proportional set size, from
`/proc/<pid>/smaps_rollup`: a page shared by several processes, such as the Python and Go libraries'
code, counts once in total, split between them) summed over the gateway and its workers. **Memory
per session** is that total divided by the sessions (the gateway's own memory included: what a
deployment of that many sessions costs per session); the table also gives the *marginal* figure, the
total minus the same gateway with no neonize session, divided by the sessions. **Idle CPU per
session** is the CPU time (user + system, `/proc/<pid>/stat`) the gateway and its workers used over a
10 s window, divided by the sessions, in milliseconds per 10 s (1 ms per 10 s is 0.01 % of a core).
MB here is 10^6 bytes, the unit of the issue's goal (at most 40 MB per session at 50 sessions with the
default sharing). **Published, not measured here:** WAHA's Go engine (GOWS) is given at about 50 MB of
memory per session at 500 sessions.

**Stop while dialling.** The time from `POST /api/sessions/{name}/stop` to its answer, for a session
whose dial through the silent proxy hangs (the dial was seen at the proxy), median and max over 3 runs
(quick: 1), each in a fresh worker. With 10 per worker, a second session is created in the same worker
after the dial began (a worker with no other session is simply told to exit, which is quicker), so the
stop goes through the worker: the engine's own stop, and if that has not answered within
`engine_stop_timeout` (8 s), the worker is killed (its other sessions start again in a fresh one). The
issue's bound is 10 s. In the yardstick the engine stops in the gateway's process with nothing to cut
it short.

**Leaks over failed attempts.** 10 sessions without a proxy fail every attempt at once ("no such
host") and retry after 0.01 to 0.05 s (`WAQTOR_RECONNECT_MIN`/`MAX`). Threads (`/proc/<pid>/status`)
and open file descriptors (`/proc/<pid>/fd`) of the gateway plus its workers are counted once every
session has made its first attempts, then every tenth of the way through 1,000 further attempts
(quick: 100), counted from the engine's log lines. The figure is the growth from before to after. neonize
leaks a store handle with each attempt and some threads; the pool replaces a worker after
`engine_worker_recycle` (100) attempts, so with workers the counts should stay flat; in the yardstick
nothing replaces the process.

**Reading the figures (full run below).** A worker costs about 65 to 70 MB (PSS) with its first
session, and each further session in it only a few MB; the gateway itself is about 105 MB. So with
10 per worker, 50 sessions cost about 9 MB each (the goal: at most 40 MB), and with 1 per worker about
68 MB each, seven times as much, for a crash that takes down 1 session instead of up to 10 (they
start again from their stored link). Idle CPU is small either way (a few ms per 10 s per session;
the gateway alone uses about 100 ms per 10 s). A stop answers in about 8 s with 10 per worker (the
engine does not stop while it dials, so the worker is killed at `engine_stop_timeout`) and at once
with 1 per worker; the in-process engine had not answered after 30 s. Over 1,000 failed attempts the
workers' open files stay within a few dozen (recycled every 100 attempts), where the in-process
gateway gains one per attempt. **Recommendation: keep `engine_sessions_per_worker` at 10**: it meets
the memory goal with a wide margin and keeps every stop within the 10 s bound; 1 per worker is for
deployments of a few sessions that want each one isolated, at about 68 MB per session.
"""

STEPS: dict[Mode, tuple[int, ...]] = {"full": (1, 10, 50), "quick": (1, 5), "smoke": (1, 2)}
WINDOW: dict[Mode, float] = {"full": 10.0, "quick": 1.0, "smoke": 0.3}
SETTLE: dict[Mode, float] = {"full": 1.0, "quick": 0.3, "smoke": 0.1}
STOP_RUNS: dict[Mode, int] = {"full": 3, "quick": 1, "smoke": 1}
LEAK_ATTEMPTS: dict[Mode, int] = {"full": 1000, "quick": 100, "smoke": 20}
LEAK_SESSIONS = 2
# The in-process engine may never answer a stop while it dials: one run, given up after this long
# (counted as this long); then its gateway is killed, as its stop would hang too.
IN_PROCESS_STOP_LIMIT: dict[Mode, float] = {"full": 30.0, "quick": 10.0, "smoke": 3.0}
# The gateway's bound on a stop (`engine_stop_timeout`); the smoke run, whose timings mean nothing,
# shortens it to stay short.
ENGINE_STOP_TIMEOUT: dict[Mode, float] = {"full": 8.0, "quick": 8.0, "smoke": 1.0}
LEAK_SAMPLES = 10
CONNECT_TIMEOUT = 300.0  # seconds: a dial through the silent proxy stays one attempt while it is measured
STOP_LIMIT = 60.0  # seconds a stop may take before the benchmark gives up waiting for its answer
DIAL_LIMIT = 90.0  # seconds for the expected dials to reach the proxy
LEAK_LIMIT = 600.0  # seconds for the failed attempts
MB = 1_000_000
ATTEMPT_LINE = b" (retry "  # the engine logs every failed attempt as "... (retry N in S s)"
RECYCLED_LINE = b"recycled after"
CRASH_LINE = b"exited with signal"


@dataclass(frozen=True)
class Layout:
    name: str
    per_worker: int | None  # None: the yardstick, every engine in the gateway's process

    @property
    def in_process(self) -> bool:
        return self.per_worker is None

    def dialers(self, sessions: int) -> int:
        """Sessions dialling at once: one per event loop (per worker, or one in the gateway)."""
        return min(sessions, 1) if self.per_worker is None else math.ceil(sessions / self.per_worker)


SHARED = Layout("10 per worker (default)", 10)
ALONE = Layout("1 per worker", 1)
IN_PROCESS = Layout("in-process (yardstick)", None)
LAYOUTS = (SHARED, ALONE, IN_PROCESS)


def layouts(mode: Mode) -> tuple[Layout, ...]:
    """The layouts a run measures: the small runs leave out one session per worker, to stay short."""
    return LAYOUTS if mode == "full" else (SHARED, IN_PROCESS)
YARDSTICK = "same gateway, engines in-process"


# ---- processes ----------------------------------------------------------------------------------------

def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_stat_fields(int(entry))[1]) == pid:
                    out.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return out


def _cpu(pid: int) -> float:
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _pss(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _alive(pid: int) -> bool:
    try:
        return _stat_fields(pid)[0] != "Z"
    except (OSError, IndexError):
        return False


def _sum(pids: list[int], read: Callable[[int], float]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += read(pid)
        except OSError:  # a worker that ended meanwhile (recycled): it no longer counts
            continue
    return total


class Family:
    """A gateway process and its engine workers (its child processes); every worker ever seen is killed
    when the benchmark is done with the gateway, should one outlive it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.seen: set[int] = set()

    def pids(self) -> list[int]:
        children = _children(self.server.pid)
        self.seen.update(children)
        return [self.server.pid, *children]

    def cpu(self) -> dict[int, float]:
        out = {}
        for pid in self.pids():
            try:
                out[pid] = _cpu(pid)
            except OSError:
                continue
        return out

    def reap(self) -> None:
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in self.seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in self.seen:
            if _alive(pid):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


# ---- the silent proxy and the log ---------------------------------------------------------------------

class SilentProxy:
    """Accepts connections and never answers: a dial through it hangs (as tests/engines/test_workers.py's)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind((HOST, 0))
        self._sock.listen(1024)
        self._sock.settimeout(0.1)
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closing = False
        self._thread = threading.Thread(target=self._accept, name="silent-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._sock.getsockname()[1]}"

    @property
    def accepted(self) -> int:
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with self._lock:
                self._held.append(conn)

    def __enter__(self) -> SilentProxy:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._closing = True
        self._thread.join()
        self._sock.close()
        with self._lock:
            for conn in self._held:
                conn.close()


class LogCount:
    """Counts lines of the gateway's log (its workers write to the same file) as it grows."""

    def __init__(self, server: Server) -> None:
        self.path = server.log_path
        self._offset = 0
        self._rest = b""
        self.counts: dict[bytes, int] = {ATTEMPT_LINE: 0, RECYCLED_LINE: 0, CRASH_LINE: 0}

    def update(self) -> dict[bytes, int]:
        with open(self.path, "rb") as log:
            log.seek(self._offset)
            data = log.read()
        self._offset += len(data)
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        for line in lines:
            for needle in self.counts:
                if needle in line:
                    self.counts[needle] += 1
        return self.counts

    @property
    def attempts(self) -> int:
        return self.update()[ATTEMPT_LINE]


# ---- a gateway ----------------------------------------------------------------------------------------

@contextmanager
def running(layout: Layout, **settings: Any) -> Iterator[tuple[Server, Family, httpx.Client]]:
    server = gateway(connect_timeout=CONNECT_TIMEOUT, engine_sessions_per_worker=layout.per_worker or 10,
                     **settings)
    if layout.in_process:
        server.name = "gateway-in-process"
        server.argv = [sys.executable, "-m", "bench.yardsticks.inprocess_gateway"]
        server.stop_grace = 3.0  # it cannot exit while an engine dials (measured by the stops): killed soon
    server.ready_timeout = 90.0
    family = Family(server)
    try:
        with server, httpx.Client(base_url=server.http, headers={"X-API-Key": API_KEY}, timeout=STOP_LIMIT) as client:
            try:
                yield server, family, client
            finally:
                family.pids()  # every worker there is now is stopped with the gateway, or killed below
    finally:
        family.reap()


def create(client: httpx.Client, name: str, config: dict[str, Any] | None = None) -> None:
    body = {"name": name, "engine": "neonize", "config": config or {}}
    client.post("/api/sessions", json=body, timeout=120).raise_for_status()


class GatewayDied(RuntimeError):
    pass


def wait_for(what: str, check: Callable[[], bool], limit: float, server: Server) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if server.proc is not None and server.proc.poll() is not None:
            raise GatewayDied(f"{server.name} exited with {server.proc.returncode} waiting for {what}:\n"
                              f"{server.log_tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{server.name}: no {what} within {limit:.0f} s:\n{server.log_tail()}")
        time.sleep(0.05)


# ---- 1: memory and idle CPU -----------------------------------------------------------------------------

@dataclass
class Step:
    sessions: int
    processes: int
    pss: float
    cpu_per_10s: float  # CPU seconds of gateway + workers, scaled to a 10 s window
    threads: int


def measure_memory(layout: Layout, mode: Mode) -> list[Step]:
    out: list[Step] = []
    with SilentProxy() as proxy, running(layout) as (server, family, client):
        held = 0
        for target in (0, *STEPS[mode]):
            while held < target:
                create(client, f"m{held}", {"proxy": proxy.url})
                held += 1
            dialers = layout.dialers(target)
            wait_for(f"{dialers} dials at the proxy", lambda n=dialers: proxy.accepted >= n,  # type: ignore[misc]
                     DIAL_LIMIT, server)
            time.sleep(SETTLE[mode])
            cpu0, t0 = family.cpu(), time.monotonic()
            time.sleep(WINDOW[mode])
            cpu1, seconds = family.cpu(), time.monotonic() - t0
            used = sum(cpu1[pid] - cpu0[pid] for pid in cpu1.keys() & cpu0.keys())
            pids = family.pids()
            out.append(Step(target, len(pids), _sum(pids, _pss), used * 10 / seconds, int(_sum(pids, threads))))
    return out


# ---- 2: stop while dialling ---------------------------------------------------------------------------

def measure_stops(layout: Layout, mode: Mode) -> list[float]:
    out: list[float] = []
    runs, limit = STOP_RUNS[mode], STOP_LIMIT
    if layout.in_process:
        runs, limit = 1, IN_PROCESS_STOP_LIMIT[mode]
    with SilentProxy() as proxy, running(layout, engine_stop_timeout=ENGINE_STOP_TIMEOUT[mode]) as (
            server, _family, client):
        for run in range(runs):
            name, before = f"stop{run}", proxy.accepted
            create(client, name, {"proxy": proxy.url})
            wait_for(f"dial of {name} at the proxy", lambda n=before: proxy.accepted > n,  # type: ignore[misc]
                     DIAL_LIMIT, server)
            mate = f"mate{run}"
            if (layout.per_worker or 0) > 1:  # a second session in the same worker: the stop goes through it
                create(client, mate, {"proxy": proxy.url})
            t0 = time.monotonic()
            try:
                client.post(f"/api/sessions/{name}/stop", timeout=limit).raise_for_status()
                out.append(time.monotonic() - t0)
            except httpx.TimeoutException:
                out.append(limit)  # no answer at all: counted as the limit
                if layout.in_process and server.proc is not None:
                    server.proc.kill()  # its shutdown would wait on the same stuck stop
                    server.proc.wait()
                    break
            if (layout.per_worker or 0) > 1:
                client.post(f"/api/sessions/{mate}/stop", timeout=STOP_LIMIT).raise_for_status()
    return out


# ---- 3: threads and fds over failed attempts ------------------------------------------------------------

@dataclass
class Sample:
    attempts: int
    processes: int
    threads: int
    fds: int


@dataclass
class Leak:
    samples: list[Sample] = field(default_factory=list)
    recycled: int = 0
    crashed: int = 0
    gateway_died: bool = False


def measure_leak(layout: Layout, mode: Mode) -> Leak:
    out = Leak()
    with running(layout, reconnect_min=0.01, reconnect_max=0.05) as (server, family, client):
        log = LogCount(server)
        for index in range(LEAK_SESSIONS):
            create(client, f"f{index}")
        wait_for("first attempts", lambda: log.attempts >= 2 * LEAK_SESSIONS, DIAL_LIMIT, server)
        start = log.attempts
        total = LEAK_ATTEMPTS[mode]
        for k in range(LEAK_SAMPLES + 1):
            goal = start + total * k // LEAK_SAMPLES
            try:
                wait_for(f"{goal - start} failed attempts", lambda goal=goal: log.attempts >= goal,  # type: ignore[misc]
                         LEAK_LIMIT, server)
            except GatewayDied:
                if not layout.in_process:
                    raise
                out.gateway_died = True  # the old way: the Go library aborted the gateway itself
                break
            pids = family.pids()
            out.samples.append(Sample(log.attempts - start, len(pids), int(_sum(pids, threads)),
                                      int(_sum(pids, _fds))))
        counts = log.update()
        out.recycled, out.crashed = counts[RECYCLED_LINE], counts[CRASH_LINE]
    return out


# ---- the benchmark ------------------------------------------------------------------------------------

def _mb(value: float) -> float:
    return round(value / MB, 1)


def run(mode: Mode) -> list[Result | Table]:
    measured = layouts(mode)
    ours = tuple(layout for layout in measured if not layout.in_process)
    leak_layouts = (SHARED, IN_PROCESS)
    jobs: list[tuple[str, Layout, Callable[[], Any]]] = [
        *(("memory", layout, partial(measure_memory, layout, mode)) for layout in measured),
        *(("stop", layout, partial(measure_stops, layout, mode)) for layout in measured),
        *(("leak", layout, partial(measure_leak, layout, mode)) for layout in leak_layouts),
    ]
    # The figures of record measure memory and CPU with one gateway at a time, nothing else using the
    # cores; the stops and the attempts, which are not CPU figures, run two at a time. The small runs
    # start several gateways at once, to stay short.
    found: dict[tuple[str, str], Any] = {}
    alone, together = (jobs[:len(measured)], jobs[len(measured):]) if mode == "full" else ([], jobs)
    for kind, layout, job in alone:
        found[(kind, layout.name)] = job()
    with ThreadPoolExecutor(2 if mode == "full" else 4) as pool:
        futures = [(kind, layout, pool.submit(job)) for kind, layout, job in together]
        found.update({(kind, layout.name): future.result() for kind, layout, future in futures})

    memory: dict[str, list[Step]] = {layout.name: found[("memory", layout.name)] for layout in measured}
    stops: dict[str, list[float]] = {layout.name: found[("stop", layout.name)] for layout in measured}
    leaks: dict[str, Leak] = {layout.name: found[("leak", layout.name)] for layout in leak_layouts}
    n = STEPS[mode][-1]
    yard = memory[IN_PROCESS.name][-1]
    out: list[Result | Table] = []
    params = {"sessions": list(STEPS[mode]), "window_s": WINDOW[mode], "connect_timeout_s": CONNECT_TIMEOUT}
    for layout in ours:
        last = memory[layout.name][-1]
        out += [
            Result(f"memory (PSS, gateway + workers) per session, {n} sessions dialling, {layout.name}",
                   _mb(last.pss / n), "MB", _mb(yard.pss / n), YARDSTICK,
                   target=Target("<=", 40) if layout is SHARED else None, params=params,
                   note="published, not measured here: ~50 MB per session at 500 sessions (WAHA, GOWS engine)"),
            Result(f"idle CPU per session, {n} sessions dialling, {layout.name}",
                   round(last.cpu_per_10s * 1000 / n, 2), "ms per 10 s", round(yard.cpu_per_10s * 1000 / n, 2),
                   YARDSTICK, params=params),
        ]
    yard_stops = stops[IN_PROCESS.name]
    for layout in ours:
        times = stops[layout.name]
        stop_params = {"runs": len(times), "engine_stop_timeout_s": ENGINE_STOP_TIMEOUT[mode]}
        out += [
            Result(f"stop while dialling, median, {layout.name}", round(statistics.median(times), 2), "s",
                   round(statistics.median(yard_stops), 2), YARDSTICK, params=stop_params),
            Result(f"stop while dialling, max, {layout.name}", round(max(times), 2), "s", round(max(yard_stops), 2),
                   YARDSTICK, target=Target("<=", 10), params=stop_params),
        ]
    attempts = LEAK_ATTEMPTS[mode]
    shared_leak, yard_leak = leaks[SHARED.name].samples, leaks[IN_PROCESS.name].samples
    leak_params = {"attempts": attempts, "sessions": LEAK_SESSIONS, "engine_worker_recycle": 100}
    out += [
        Result(f"threads (gateway + workers) gained over {attempts:,} failed attempts, {SHARED.name}",
               shared_leak[-1].threads - shared_leak[0].threads, "threads",
               yard_leak[-1].threads - yard_leak[0].threads, YARDSTICK, params=leak_params),
        Result(f"open files (gateway + workers) gained over {attempts:,} failed attempts, {SHARED.name}",
               shared_leak[-1].fds - shared_leak[0].fds, "fds", yard_leak[-1].fds - yard_leak[0].fds, YARDSTICK,
               params=leak_params),
    ]

    rows: list[list[Any]] = []
    for layout in measured:
        steps = memory[layout.name]
        base = steps[0]
        for step in steps:
            per = step.sessions or 1
            rows.append([layout.name, step.sessions, step.processes, _mb(step.pss),
                         _mb(step.pss / per) if step.sessions else "—",
                         _mb((step.pss - base.pss) / per) if step.sessions else "—",
                         round(step.cpu_per_10s * 1000, 1),
                         round(step.cpu_per_10s * 1000 / per, 2) if step.sessions else "—", step.threads])
    out.append(Table("Memory and idle CPU by step (0 sessions: the gateway alone, its sandbox `default` session)",
                     ["layout", "neonize sessions", "processes", "PSS total MB", "PSS per session MB",
                      "marginal PSS per session MB", "CPU ms per 10 s", "CPU ms per 10 s per session", "threads"],
                     rows))
    out.append(Table("Stop while dialling (seconds, each run)", ["layout", "runs", "median s", "max s"],
                     [[layout.name, ", ".join(f"{t:.2f}" for t in stops[layout.name]),
                       round(statistics.median(stops[layout.name]), 2), round(max(stops[layout.name]), 2)]
                      for layout in measured]))
    leak_rows: list[list[Any]] = []
    for layout in leak_layouts:
        leak = leaks[layout.name]
        leak_rows += [[layout.name, s.attempts, s.processes, s.threads, s.fds] for s in leak.samples]
    died = " (the in-process gateway itself died before the end)" if leaks[IN_PROCESS.name].gateway_died else ""
    out.append(Table(f"Threads and open files over failed attempts ({LEAK_SESSIONS} sessions; workers recycled: "
                     f"{leaks[SHARED.name].recycled}, worker crashes: {leaks[SHARED.name].crashed}){died}",
                     ["layout", "failed attempts", "processes", "threads", "open fds"], leak_rows))
    return out
