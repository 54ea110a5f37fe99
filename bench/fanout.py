"""Fan-out (issue 3): one event to N WebSocket clients, against a `websockets`-only broadcast server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import httpx
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import connect as sync_connect

from bench.harness import Mode, Result, Table, Target
from bench.harness.servers import API_KEY, Server, gateway, link_sandbox, yardstick
from bench.harness.stats import percentile
from bench.harness.wsload import ClientPool, marker
from waqtor.events import Event

TITLE = "WebSocket fan-out"
METHOD = """
The gateway runs as its own process (`python -m waqtor serve`, sandbox engine, fresh SQLite data dir,
fixed API key, default settings). N clients connect to `/ws` from two load-generator processes (the
`websockets` library's sans-I/O client protocol driven straight from asyncio, compression off: the
library's full asyncio client, with a task per connection, made the clients the bottleneck) and
subscribe to `message` events. One event is
injected through a real path, `POST /api/sandbox/inbound` on the linked sandbox: the gateway counts
the message (a SQLite write and a `session_update`, which these clients do not receive) and publishes
a `message` event. **The figures therefore include the HTTP request and that write**, not only the
fan-out. The time of an event is measured from just before the injector sends the request to the
moment the last (and first) client's frame arrives, on the same monotonic clock.

The yardstick is a broadcast server written with the `websockets` library alone
(`bench/yardsticks/broadcast.py`): clients in a set, `websockets.broadcast()` of every frame received
on a publisher connection. It is measured with the same clients, the same frames (built like the
gateway's `message` event) and the same pacing, right after the gateway at each N.

*Latency*: events one at a time (the next when every client has the previous), after a few warm-up
events; p50 and p99 over the events of time-to-last-client. *Sustained rate*: events injected open-loop
at a fixed rate for a few seconds, the rate raised ×1.5 per step from a quarter of the rate the
closed-loop latency suggests (halved instead while no step has held yet); the figure is the highest
achieved rate at which every client got every event, no client was dropped, and p99
time-to-last-client stayed within 2 × the closed-loop p99 + 5 ms.
*Server CPU per delivered frame*: the server process's CPU time (user + system, `/proc/<pid>/stat`)
over the closed-loop events divided by events × clients: the cost of fan-out itself, and the figure
least disturbed by other work on the machine. On 2 cores the load generators share the CPU with the
server, so the yardstick's rate is bounded by the clients as much as by the server.
"""

SIZES: dict[Mode, tuple[int, ...]] = {"full": (100, 1000, 5000), "quick": (100,), "smoke": (4,)}
EVENTS: dict[Mode, dict[int, int]] = {"full": {100: 300, 1000: 150, 5000: 60}, "quick": {100: 30}}
WARMUP = 5
SWEEP_AT: dict[Mode, int] = {"full": 1000, "quick": 100, "smoke": 4}
STEP_SECONDS: dict[Mode, float] = {"full": 2.0, "quick": 0.5, "smoke": 0.25}
MAX_STEPS: dict[Mode, int] = {"full": 8, "quick": 2, "smoke": 2}
TARGET_AT = 1000
PHONE = "15550001111"


class Subject(Protocol):
    """A server under test with the way to reach and feed it."""

    name: str
    subscribe: ClassVar[list[str] | None]

    def server(self) -> Server: ...
    def ws_url(self, server: Server) -> str: ...
    @contextmanager
    def injector(self, server: Server) -> Iterator[Any]: ...
    async def open_loop(self, server: Server, seqs: range, rate: float) -> float: ...


class Gateway:
    name = "gateway"
    subscribe: ClassVar[list[str] | None] = ["message"]

    def server(self) -> Server:
        return gateway()

    def ws_url(self, server: Server) -> str:
        return f"{server.ws}/ws?apiKey={API_KEY}"

    @contextmanager
    def injector(self, server: Server) -> Iterator[Any]:
        link_sandbox(server)
        with httpx.Client(base_url=server.http, headers={"X-API-Key": API_KEY}, timeout=30) as client:
            def send(seq: int) -> None:
                client.post("/api/sandbox/inbound", json={"from": PHONE, "body": marker(seq)}).raise_for_status()
            yield send

    async def open_loop(self, server: Server, seqs: range, rate: float) -> float:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=server.http, headers={"X-API-Key": API_KEY}, timeout=30,
                                     limits=limits) as client:
            async def send(seq: int) -> None:
                response = await client.post("/api/sandbox/inbound", json={"from": PHONE, "body": marker(seq)})
                response.raise_for_status()
            return await _paced(seqs, rate, send)


def yardstick_frame(seq: int) -> str:
    """A frame shaped and sized like the gateway's `message` event, stamped now."""
    now = time.time()
    return Event(id=seq, type="message", session="default", timestamp=int(now * 1000), data={
        "id": f"SANDBOX{seq:016X}", "direction": "in", "chat": f"{PHONE}@s.whatsapp.net",
        "from": f"{PHONE}@s.whatsapp.net", "type": "text", "body": marker(seq), "pushName": None,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now)),
    }).to_json()


class Yardstick:
    name = "yardstick"
    subscribe: ClassVar[list[str] | None] = None

    def server(self) -> Server:
        return yardstick("broadcast")

    def ws_url(self, server: Server) -> str:
        return f"{server.ws}/ws"

    @contextmanager
    def injector(self, server: Server) -> Iterator[Any]:
        with sync_connect(f"{server.ws}/publish", compression=None, proxy=None) as ws:
            yield lambda seq: ws.send(yardstick_frame(seq))

    async def open_loop(self, server: Server, seqs: range, rate: float) -> float:
        async with async_connect(f"{server.ws}/publish", compression=None, proxy=None) as ws:
            async def send(seq: int) -> None:
                await ws.send(yardstick_frame(seq))
            return await _paced(seqs, rate, send)


async def _paced(seqs: range, rate: float, send: Any) -> float:
    """Start `send(seq)` for each seq at `rate` per second, open loop; the seconds injection took."""
    started = time.monotonic()
    tasks = []
    for i, seq in enumerate(seqs):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(seq)))
    await asyncio.gather(*tasks)
    return max(time.monotonic() - started, 1e-9)


@dataclass
class Latency:
    events: int
    lost: int
    first_p50: float
    last_p50: float
    last_p99: float
    last_max: float
    cpu_us_per_frame: float = float("nan")


def closed_loop(pool: ClientPool, send: Any, events: int, first_seq: int) -> Latency:
    """One event at a time; time-to-first and time-to-last client per event, in ms."""
    pool.notify(True)
    seqs = range(first_seq, first_seq + WARMUP + events)
    for seq in seqs:
        send(seq)
        pool.wait_done(seq, timeout=15)  # an event that times out is counted as lost below
    stats, _, _ = pool.collect()
    pool.notify(False)
    measured = [stats[seq] for seq in seqs[WARMUP:] if seq in stats and stats[seq][0] >= pool.size]
    firsts = [s[1] / 1e6 for s in measured]
    lasts = [s[2] / 1e6 for s in measured]
    return Latency(len(measured), events - len(measured), percentile(firsts, 50), percentile(lasts, 50),
                   percentile(lasts, 99), max(lasts, default=float("nan")))


async def _sweep_step(subject: Subject, server: Server, pool: ClientPool, seqs: range, rate: float,
                      settle: float) -> tuple[float, bool]:
    loop = asyncio.get_running_loop()
    pool.attach(loop)
    try:
        took = await subject.open_loop(server, seqs, rate)
        await pool.settle(seqs, settle)
        return len(seqs) / took, pool.all_done(seqs)
    finally:
        pool.detach(loop)
        pool.done.clear()


def sweep(subject: Subject, server: Server, pool: ClientPool, base: Latency, mode: Mode,
          first_seq: int) -> tuple[float, list[list[Any]]]:
    """Raise the open-loop rate until latency climbs; (highest rate that held, rows of the steps)."""
    limit = 2 * base.last_p99 + 5
    rate = max(1.0, round(0.25 * 1000 / max(base.last_p50, 0.05)))
    best = 0.0
    rows: list[list[Any]] = []
    seq = first_seq
    pool.notify(True)
    for _ in range(MAX_STEPS[mode]):
        seqs = range(seq, seq + max(10, int(rate * STEP_SECONDS[mode])))
        seq = seqs.stop
        achieved, complete = asyncio.run(_sweep_step(subject, server, pool, seqs, rate, settle=5 + limit / 1000))
        stats, live, _codes = pool.collect()
        lasts = [stats[s][2] / 1e6 for s in seqs if s in stats]
        p99 = percentile(lasts, 99)
        dropped = pool.size - live
        held = complete and dropped == 0 and p99 <= limit
        rows.append([subject.name, pool.size, round(rate), round(achieved), _ms(percentile(lasts, 50)),
                     _ms(p99), dropped, "held" if held else "climbed" if complete else "lost events"])
        if held:
            best = max(best, achieved)
            rate *= 1.5
        elif best == 0 and rate > 2:
            rate /= 2  # the first guess was already too fast: come down before climbing
        else:
            break
    pool.notify(False)
    return best, rows


def _ms(value: float) -> float:
    return round(value, 2)


def measure(subject: Subject, size: int, mode: Mode) -> tuple[Latency, float | None, list[list[Any]], float]:
    with subject.server() as server, ClientPool(subject.ws_url(server), workers=2,
                                                subscribe=subject.subscribe) as pool:
        connect_s = pool.connect(size)
        events = EVENTS.get(mode, {}).get(size, 5)
        with subject.injector(server) as send:
            cpu = server.cpu_seconds()
            latency = closed_loop(pool, send, events, first_seq=1)
            latency.cpu_us_per_frame = (server.cpu_seconds() - cpu) / ((events + WARMUP) * size) * 1e6
            rate: float | None = None
            rows: list[list[Any]] = []
            if size == SWEEP_AT[mode]:
                rate, rows = sweep(subject, server, pool, latency, mode, first_seq=10_000)
        return latency, rate, rows, connect_s


def run(mode: Mode) -> list[Result | Table]:
    out: list[Result | Table] = []
    detail: list[list[Any]] = []
    sweep_rows: list[list[Any]] = []
    rates: dict[str, float | None] = {}
    for size in SIZES[mode]:
        found: dict[str, Latency] = {}
        for subject in (Gateway(), Yardstick()):
            latency, rate, rows, connect_s = measure(subject, size, mode)
            found[subject.name] = latency
            detail.append([subject.name, size, latency.events, latency.lost, _ms(latency.first_p50),
                           _ms(latency.last_p50), _ms(latency.last_p99), _ms(latency.last_max),
                           round(latency.cpu_us_per_frame, 1), round(connect_s, 1)])
            sweep_rows += rows
            if rate is not None:
                rates[subject.name] = rate
        gw, ys = found["gateway"], found["yardstick"]
        params = {"clients": size, "events": gw.events}
        note = f"{gw.lost} events lost" if gw.lost else ""
        out.append(Result(f"p50 time to last client, {size:,} clients", _ms(gw.last_p50), "ms",
                          _ms(ys.last_p50), "websockets broadcast", note=note, params=params))
        out.append(Result(f"p99 time to last client, {size:,} clients", _ms(gw.last_p99), "ms",
                          _ms(ys.last_p99), "websockets broadcast",
                          target=Target("<=", 1.5, relative=True) if size == TARGET_AT else None,
                          note=note, params=params))
        if size == TARGET_AT or (size == SIZES[mode][-1] and TARGET_AT not in SIZES[mode]):
            out.append(Result(f"server CPU per delivered frame, {size:,} clients", round(gw.cpu_us_per_frame, 1),
                              "µs", round(ys.cpu_us_per_frame, 1), "websockets broadcast", params=params,
                              note="gateway's includes the inbound request, spread over the clients"))
        if size == SIZES[mode][0]:
            out.append(Result(f"spec's claim \"broadcast to all clients in <1 ms\" (p50, {size:,} clients)",
                              _ms(gw.last_p50), "ms", _ms(ys.last_p50), "websockets broadcast",
                              target=Target("<=", 1.0), params=params,
                              note="includes the inbound HTTP request; see the detail table for time to first client"))
    if "gateway" in rates:
        # A sweep whose last step still held ran out of steps: its rate is a lower bound.
        open_ended = [name for name in ("gateway", "yardstick")
                      if [row for row in sweep_rows if row[0] == name][-1:] and
                      [row for row in sweep_rows if row[0] == name][-1][-1] == "held"]
        out.append(Result(f"sustained events/s, {SWEEP_AT[mode]:,} clients", round(rates["gateway"] or 0), "events/s",
                          round(rates.get("yardstick") or 0), "websockets broadcast", better="higher",
                          params={"clients": SWEEP_AT[mode]},
                          note="; ".join(f"{name}: at least this (the sweep ran out of steps)" for name in open_ended)))
    out.append(Table("Closed-loop latency per server (ms)",
                     ["server", "clients", "events", "lost", "p50 first client", "p50 last client",
                      "p99 last client", "max last client", "server CPU µs per frame", "connect s"], detail))
    out.append(Table("Rate sweep (open loop)",
                     ["server", "clients", "target rate/s", "achieved rate/s", "p50 last ms", "p99 last ms",
                      "clients dropped", "verdict"], sweep_rows))
    return out
