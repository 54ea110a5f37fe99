"""REST (issue 10, item 2): `GET /api/session/state` under concurrent load, against a bare FastAPI app."""

from __future__ import annotations

from bench.harness import Mode, Result, Table, Target
from bench.harness.httpload import Load, load
from bench.harness.servers import API_KEY, gateway, link_sandbox, yardstick

TITLE = "REST throughput"
METHOD = """
`GET /api/session/state` on the gateway (its own process, sandbox engine linked, default settings,
so its access log writes a line per request as in production) under concurrent keep-alive load from a
separate process: `wrk` with one thread when it is installed (`./scripts/bench` installs it from
Debian when it can), otherwise an asyncio httpx generator in a child process (the tool is named in
each row). The yardstick is a bare FastAPI app answering a constant JSON of the same shape and size
(`bench/yardsticks/rest_app.py`) under the very same uvicorn settings (`waqtor.server.uvicorn_config`),
measured right after with the same load. Each run is preceded by a short warm-up run. The server's
CPU time per request (from `/proc/<pid>/stat`, user + system, over the measured run) is the figure
least disturbed by other work on the machine.
`POST /api/messages/send` joins this benchmark when the messaging API lands (issue 5).
"""

CONNECTIONS: dict[Mode, int] = {"full": 50, "quick": 50, "smoke": 4}
SECONDS: dict[Mode, float] = {"full": 10, "quick": 3, "smoke": 1}
PATH = "/api/session/state"


def _measure(mode: Mode, is_gateway: bool) -> tuple[Load, float]:
    """The load run and the server's CPU time per request in µs (steadier than throughput on a busy
    machine: other processes slow the server down but do not add to its CPU time)."""
    server = gateway() if is_gateway else yardstick("rest_app")
    with server:
        if is_gateway:
            link_sandbox(server)
        headers = {"X-API-Key": API_KEY} if is_gateway else {}
        load(server.http + PATH, headers, CONNECTIONS[mode], 1)
        cpu = server.cpu_seconds()
        result = load(server.http + PATH, headers, CONNECTIONS[mode], SECONDS[mode])
        cpu_us = (server.cpu_seconds() - cpu) / max(result.requests, 1) * 1e6
        return result, cpu_us


def run(mode: Mode) -> list[Result | Table]:
    gw, gw_cpu = _measure(mode, is_gateway=True)
    ys, ys_cpu = _measure(mode, is_gateway=False)
    params = {"connections": CONNECTIONS[mode], "seconds": SECONDS[mode], "tool": gw.tool}
    note = f"{gw.errors} errors" if gw.errors else ""
    return [
        Result(f"GET {PATH} requests/s", round(gw.rps), "req/s", round(ys.rps), "bare FastAPI",
               target=Target(">=", 0.5, relative=True), better="higher", params=params, note=note),
        Result(f"GET {PATH} p99 latency", round(gw.p99_ms, 2), "ms", round(ys.p99_ms, 2), "bare FastAPI",
               params=params, note=note),
        Result(f"GET {PATH} server CPU per request", round(gw_cpu), "µs", round(ys_cpu), "bare FastAPI",
               params=params),
        Table("REST load runs", ["server", "tool", "connections", "seconds", "requests", "req/s", "p50 ms",
                                 "p99 ms", "errors"],
              [[name, r.tool, CONNECTIONS[mode], SECONDS[mode], r.requests, round(r.rps), round(r.p50_ms, 2),
                round(r.p99_ms, 2), r.errors] for name, r in (("gateway", gw), ("yardstick", ys))]),
    ]
