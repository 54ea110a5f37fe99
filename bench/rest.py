"""REST (issue 10, item 2): `GET /api/session/state` and `POST /api/messages/send` under concurrent
load, against a bare FastAPI app. The send figure is also issue 5's "messages accepted per second"."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bench.harness import Mode, Result, Table, Target
from bench.harness.httpload import Load, load
from bench.harness.servers import API_KEY, Server, gateway, link_sandbox, yardstick

TITLE = "REST throughput"
METHOD = """
`GET /api/session/state` and `POST /api/messages/send` on the gateway (its own process, sandbox
engine linked, default settings except the REST rate limit and the per-session send rate, both off,
so its access log writes a line per request as in production) under concurrent keep-alive load from
a separate process: `wrk` with one thread when it is installed (`./scripts/bench` installs it from
Debian when it can; a Lua script makes its requests POSTs with a JSON body), otherwise an asyncio
httpx generator in a child process (the tool is named in each row). The yardstick is a bare FastAPI
app (`bench/yardsticks/rest_app.py`) under the very same uvicorn settings
(`waqtor.server.uvicorn_config`), measured right after with the same load: for the state endpoint it
answers a constant JSON of the same shape and size; for the send it validates a body of the same
shape with pydantic and answers a constant message of the same shape and size. Each run is preceded
by a one-second warm-up run (in the full run). The server's CPU time per request (from
`/proc/<pid>/stat`, user + system, over the measured run) is the figure least disturbed by other work on
the machine.

Every send is the whole path of a text message with no send limit: the phone number parsed, the
message logged as `queued` (a database write), published as a `message` event, handed to the
sandbox engine, marked `sent` (a write), published as `message_ack`, counted in the session's
`messagesSent` (a write and a `session_update`) and read back for the answer. The sandbox then
reports each message delivered and read, 1 and 2 s later (`WAQTOR_SANDBOX_ACK_DELAY`), as a real
recipient's phone would: two more writes and two `message_ack` events per message, which fall inside
the measured run and are included in the gateway's CPU time per request. **The send's requests per
second are issue 5's "messages accepted per second"** (the Messaging section refers to them).
"""

CONNECTIONS: dict[Mode, int] = {"full": 50, "quick": 50, "smoke": 4}
SECONDS: dict[Mode, float] = {"full": 10, "quick": 1, "smoke": 1}
WARM_UP: dict[Mode, bool] = {"full": True, "quick": False, "smoke": False}
STATE = "/api/session/state"
SEND = "/api/messages/send"
# A German mobile number: valid for `phonenumbers`, so the gateway parses it as it would a real one.
SEND_BODY = json.dumps({"to": "+49 151 23456789", "text": "hello from the benchmark"})


@dataclass(frozen=True)
class Endpoint:
    label: str
    path: str
    body: str | None = None


ENDPOINTS = (Endpoint(f"GET {STATE}", STATE), Endpoint(f"POST {SEND}", SEND, SEND_BODY))


def _run(server: Server, endpoint: Endpoint, headers: dict[str, str], mode: Mode) -> tuple[Load, float]:
    """A warm-up (full runs), then the measured load run and the server's CPU time per request in µs (steadier
    than throughput on a busy machine: other processes slow the server down but do not add to its CPU
    time)."""
    url = server.http + endpoint.path
    if WARM_UP[mode]:
        load(url, headers, CONNECTIONS[mode], 1, endpoint.body)
    cpu = server.cpu_seconds()
    result = load(url, headers, CONNECTIONS[mode], SECONDS[mode], endpoint.body)
    return result, (server.cpu_seconds() - cpu) / max(result.requests, 1) * 1e6


def _measure(mode: Mode, is_gateway: bool) -> dict[str, tuple[Load, float]]:
    server = gateway() if is_gateway else yardstick("rest_app")
    with server:
        if is_gateway:
            link_sandbox(server)
        headers = {"X-API-Key": API_KEY} if is_gateway else {}
        return {endpoint.label: _run(server, endpoint, headers, mode) for endpoint in ENDPOINTS}


def run(mode: Mode) -> list[Result | Table]:
    gw_runs = _measure(mode, is_gateway=True)
    ys_runs = _measure(mode, is_gateway=False)
    out: list[Result | Table] = []
    rows: list[list[Any]] = []
    for endpoint in ENDPOINTS:
        (gw, gw_cpu), (ys, ys_cpu) = gw_runs[endpoint.label], ys_runs[endpoint.label]
        params = {"connections": CONNECTIONS[mode], "seconds": SECONDS[mode], "tool": gw.tool}
        note = f"{gw.errors} errors" if gw.errors else ""
        is_state = endpoint.path == STATE
        out += [
            Result(f"{endpoint.label} requests/s", round(gw.rps), "req/s", round(ys.rps), "bare FastAPI",
                   target=Target(">=", 0.5, relative=True) if is_state else None, better="higher",
                   params=params, note=note or ("" if is_state else "= messages accepted per second (issue 5)")),
            Result(f"{endpoint.label} p99 latency", round(gw.p99_ms, 2), "ms", round(ys.p99_ms, 2), "bare FastAPI",
                   params=params, note=note),
            Result(f"{endpoint.label} server CPU per request", round(gw_cpu), "µs", round(ys_cpu), "bare FastAPI",
                   params=params, note="" if is_state else "includes the delivered and read acks that follow"),
        ]
        rows += [[endpoint.label, name, r.tool, CONNECTIONS[mode], SECONDS[mode], r.requests, round(r.rps),
                  round(r.p50_ms, 2), round(r.p99_ms, 2), r.errors]
                 for name, r in (("gateway", gw), ("yardstick", ys))]
    out.append(Table("REST load runs", ["request", "server", "tool", "connections", "seconds", "requests",
                                        "req/s", "p50 ms", "p99 ms", "errors"], rows))
    return out
