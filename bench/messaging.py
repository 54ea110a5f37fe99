"""Messaging (issue 5): the time from an inbound message to its arrival at a WebSocket client, at 500
messages per second offered (or the highest rate the gateway sustains), against a `websockets`-only
broadcast server. Messages accepted per second by `POST /api/messages/send` are measured once, in
bench/rest.py."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from bench.fanout import PHONE, Gateway, Latency, Subject, Yardstick, _sweep_step, closed_loop
from bench.harness import Mode, Result, Table, Target
from bench.harness.inject import post_paced
from bench.harness.servers import API_KEY, Server
from bench.harness.stats import percentile
from bench.harness.wsload import ClientPool, marker

TITLE = "Messaging"
METHOD = """
**Messages accepted per second** through `POST /api/messages/send` (sandbox, linked, no send limit)
are measured once, in the REST throughput benchmark: its `POST /api/messages/send requests/s` row is
that figure, with its p99 latency and CPU time per message, against a bare FastAPI app.

**Inbound message to WebSocket client.** The gateway runs as its own process (sandbox engine linked,
default settings, no REST rate limit); one WebSocket client, in a load-generator process, subscribes to
`message` events. Messages are injected with `POST /api/sandbox/inbound` from the benchmark process
over 32 keep-alive connections (`bench/harness/inject.py`: a bare asyncio HTTP/1.1 client, because
httpx's pool cost more CPU than the gateway at these rates); the text of each carries
`time.monotonic_ns()` taken when its request falls due (a request that waits for a free connection
counts that wait), and the client computes the latency the moment its frame arrives
(the same clock in every process on Linux). The figure therefore covers the whole inbound path: the
HTTP request, the duplicate check and the write to the message log, the session's `messagesReceived`
counter (a write and a `session_update`), and the `message` event's way through the bus and the
WebSocket bridge. First a baseline, one message at a time (the next when the client has the previous).
Then open-loop steps at a fixed offered rate: 500 messages/s first; a step **holds** when the injector
kept the rate (its requests were all answered, with 200, within 10 % of the step's planned
duration), every message reached the client, and p99 stayed within 4 × the baseline p99 + 20 ms. When 500/s does not
hold, the rate comes down to 80 % of what was achieved, and once a rate holds it is raised again
halfway towards the lowest rate that failed, within the step budget. The figures are the latency at
500/s when it holds, else at the highest rate that held, and that rate.

The yardstick is the `websockets`-only broadcast server of the fan-out benchmark
(`bench/yardsticks/broadcast.py`), fed over a WebSocket publisher connection with frames shaped like the
gateway's `message` event, measured with the same client, the same steps and the same rules: it
stores nothing, so it is the floor of "receive a message and forward it to a client". On 2 shared cores
the injector, the client and the server compete for the CPU, so the highest rate is partly the
injector's.
"""

OFFERED = 500.0
CLIENTS = 1
BASELINE: dict[Mode, int] = {"full": 200, "quick": 30, "smoke": 5}
STEP_SECONDS: dict[Mode, float] = {"full": 3.0, "quick": 0.5, "smoke": 0.25}
MAX_STEPS: dict[Mode, int] = {"full": 7, "quick": 2, "smoke": 2}
KEPT_PACE = 0.9  # achieved / offered: the injector's requests were answered as fast as they were sent


class Inbound(Gateway):
    """The fan-out benchmark's gateway subject, injecting open loop with the lean client."""

    errors = 0

    async def open_loop(self, server: Server, seqs: range, rate: float) -> float:
        def body(seq: int) -> bytes:
            return json.dumps({"from": PHONE, "body": marker(seq)}).encode()

        result = await post_paced(server.http + "/api/sandbox/inbound", {"X-API-Key": API_KEY}, body, seqs, rate)
        self.errors = result.errors
        return result.seconds


@dataclass
class Step:
    offered: float
    achieved: float
    sent: int
    arrived: int
    p50: float
    p99: float
    held: bool


@dataclass
class Outcome:
    baseline: Latency
    steps: list[Step]

    @property
    def best(self) -> Step | None:
        """The step at OFFERED when it held, else the highest offered rate that held."""
        held = [s for s in self.steps if s.held]
        return max(held, key=lambda s: s.offered) if held else None

    @property
    def reported(self) -> Step:
        """The step the figures come from: the best, else (no step held) the lowest rate tried."""
        return self.best or min(self.steps, key=lambda s: s.offered)


def _step(subject: Subject, server: Server, pool: ClientPool, seqs: range, rate: float, limit: float) -> Step:
    achieved, complete = asyncio.run(_sweep_step(subject, server, pool, seqs, rate, settle=5 + limit / 1000))
    stats, _, _ = pool.collect()
    latencies = [stats[s][2] / 1e6 for s in seqs if s in stats]
    p99 = percentile(latencies, 99)
    errors = getattr(subject, "errors", 0)
    held = complete and not errors and achieved >= KEPT_PACE * rate and p99 <= limit
    return Step(rate, achieved, len(seqs), len(latencies), percentile(latencies, 50), p99, held)


def _steps(subject: Subject, server: Server, pool: ClientPool, baseline: Latency, mode: Mode,
           first: float | None) -> list[Step]:
    """The search from OFFERED; `first`, when given, is a rate measured before it (the yardstick at
    the gateway's rate, for the comparison)."""
    limit = 4 * baseline.last_p99 + 20
    steps: list[Step] = []
    rate, failed = OFFERED, None
    seq = 100_000
    pool.notify(True)
    if first is not None and first < OFFERED:
        seqs = range(seq, seq + max(10, int(first * STEP_SECONDS[mode])))
        seq = seqs.stop
        steps.append(_step(subject, server, pool, seqs, first, limit))
    for _ in range(MAX_STEPS[mode]):
        seqs = range(seq, seq + max(10, int(rate * STEP_SECONDS[mode])))
        seq = seqs.stop
        step = _step(subject, server, pool, seqs, rate, limit)
        steps.append(step)
        if step.held and rate >= OFFERED:
            break
        if step.held:
            assert failed is not None
            if failed - rate < max(10.0, 0.1 * rate):
                break
            rate = round((rate + failed) / 2)
        else:
            failed = rate if failed is None else min(failed, rate)
            below = [s.offered for s in steps if s.held]
            rate = round(max(5.0, min(0.8 * step.achieved, 0.8 * rate)))
            if below and rate <= max(below):
                break  # already held just under here: nothing to learn below it
    pool.notify(False)
    return steps


def measure(subject: Subject, mode: Mode, first: float | None = None) -> Outcome:
    with subject.server() as server, ClientPool(subject.ws_url(server), workers=1,
                                                subscribe=subject.subscribe) as pool:
        pool.connect(CLIENTS)
        with subject.injector(server) as send:
            baseline = closed_loop(pool, send, BASELINE[mode], first_seq=1)
        return Outcome(baseline, _steps(subject, server, pool, baseline, mode, first))


def _ms(value: float) -> float:
    return round(value, 2)


def run(mode: Mode) -> list[Result | Table]:
    gw = measure(Inbound(), mode)
    best, shown = gw.best, gw.reported
    ys = measure(Yardstick(), mode, first=shown.offered)
    out: list[Result | Table] = [
        Result("inbound → WebSocket p50, one at a time", _ms(gw.baseline.last_p50), "ms",
               _ms(ys.baseline.last_p50), "websockets broadcast", params={"messages": gw.baseline.events},
               note=f"{gw.baseline.lost} lost" if gw.baseline.lost else ""),
        Result("inbound → WebSocket p99, one at a time", _ms(gw.baseline.last_p99), "ms",
               _ms(ys.baseline.last_p99), "websockets broadcast", params={"messages": gw.baseline.events}),
    ]
    ys_best = ys.best
    # The yardstick measured at the gateway's rate (its first step when that was below OFFERED).
    ys_same = next(s for s in ys.steps if s.offered == shown.offered)
    if best is None:
        where = f"{shown.offered:,.0f}/s (the lowest rate tried; no rate held)"
    elif best.offered >= OFFERED:
        where = f"{best.offered:,.0f}/s"
    else:
        where = f"{best.offered:,.0f}/s (the highest rate that held; {OFFERED:,.0f}/s did not)"
    params = {"offered": shown.offered, "achieved": round(shown.achieved), "messages": shown.sent}
    out += [
        Result(f"inbound → WebSocket p50 at {where}", _ms(shown.p50), "ms",
               _ms(ys_same.p50), "websockets broadcast", params=params),
        Result(f"inbound → WebSocket p99 at {where}", _ms(shown.p99), "ms",
               _ms(ys_same.p99), "websockets broadcast", params=params),
    ]
    out.append(Result(f"inbound messages/s sustained ({OFFERED:,.0f}/s offered)",
                      round(best.achieved) if best else 0, "msg/s",
                      round(ys_best.achieved) if ys_best else 0, "websockets broadcast",
                      target=Target(">=", OFFERED * KEPT_PACE), better="higher",
                      note="" if best else "no step held"))
    rows: list[list[Any]] = []
    for name, outcome in (("gateway", gw), ("yardstick", ys)):
        rows += [[name, round(s.offered), round(s.achieved), s.sent, s.arrived, _ms(s.p50), _ms(s.p99),
                  "held" if s.held else "did not hold"] for s in outcome.steps]
    out.append(Table("Open-loop steps", ["server", "offered/s", "achieved/s", "messages", "arrived",
                                         "p50 ms", "p99 ms", "verdict"], rows))
    out.append(Table("Baseline, one message at a time (ms)", ["server", "messages", "lost", "p50", "p99", "max"],
                     [[name, o.baseline.events, o.baseline.lost, _ms(o.baseline.last_p50), _ms(o.baseline.last_p99),
                       _ms(o.baseline.last_max)] for name, o in (("gateway", gw), ("yardstick", ys))]))
    return out
