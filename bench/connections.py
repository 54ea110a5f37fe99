"""Connections (issue 10, item 3): idle authenticated WebSocket clients held by one gateway process."""

from __future__ import annotations

import time
from typing import Any

import httpx
from websockets.sync.client import connect as sync_connect

from bench.harness import Mode, Result, Table, Target
from bench.harness.servers import API_KEY, Server, gateway, link_sandbox, yardstick
from bench.harness.wsload import ClientPool
from bench.yardsticks.rest_app import STATE
from waqtor.events import Event

TITLE = "Idle WebSocket connections"
METHOD = """
One gateway process (sandbox engine linked, default settings) takes authenticated clients on `/ws`
(`?apiKey=`, default subscriptions) from two load-generator processes, in steps up to the largest
count; the clients stay idle except for the server's protocol pings. At each step, after a second to
settle, the gateway's resident memory is read from `/proc/<pid>/statm`; memory per client is the growth
over the same process before any client connected, divided by the clients. Then one `session_update`
is triggered through `POST /api/session/stats/reset`, and the step records how many clients received
it and how long the last one took. The yardstick is the `websockets`-only broadcast server
(`bench/yardsticks/broadcast.py`) holding the same clients and broadcasting a frame shaped like the
gateway's `session_update`.
"""

STEPS: dict[Mode, tuple[int, ...]] = {"full": (1000, 5000, 10_000), "quick": (500,), "smoke": (4,)}
MIB = 1024 * 1024
# Seconds to let the server settle before reading its memory (the quick run only needs a rough figure).
SETTLE: dict[Mode, float] = {"full": 1.0, "quick": 0.3, "smoke": 0.3}
PREFIX = '{"type":"session_update"'


def _trigger_gateway(server: Server) -> None:
    httpx.post(server.http + "/api/session/stats/reset", headers={"X-API-Key": API_KEY},
               timeout=30).raise_for_status()


def _session_update_frame() -> str:
    return Event(id=1, type="session_update", session="default", timestamp=int(time.time() * 1000),
                 data=STATE["data"]).to_json()


def _measure(is_gateway: bool, mode: Mode) -> list[dict[str, Any]]:
    server = gateway() if is_gateway else yardstick("broadcast")
    rows: list[dict[str, Any]] = []
    with server:
        if is_gateway:
            link_sandbox(server)
            url = f"{server.ws}/ws?apiKey={API_KEY}"
        else:
            url = f"{server.ws}/ws"
        time.sleep(SETTLE[mode])
        base = server.rss_bytes()
        with ClientPool(url, workers=2) as pool:
            held = 0
            for step in STEPS[mode]:
                connect_s = pool.connect(step - held)
                held = pool.size
                time.sleep(SETTLE[mode])
                rss = server.rss_bytes()
                pool.watch(PREFIX)
                t0 = time.monotonic_ns()
                if is_gateway:
                    _trigger_gateway(server)
                else:
                    with sync_connect(f"{server.ws}/publish", compression=None, proxy=None) as ws:
                        ws.send(_session_update_frame())
                reach_ms = pool.watched(t0, timeout=60)
                _, live, _ = pool.collect()
                rows.append({"clients": step, "held": live, "rss": rss, "base": base, "connect_s": connect_s,
                             "reached": live if reach_ms is not None else 0, "reach_ms": reach_ms})
    return rows


def run(mode: Mode) -> list[Result | Table]:
    gw_rows = _measure(True, mode)
    ys_rows = _measure(False, mode)
    out: list[Result | Table] = []
    table: list[list[Any]] = []
    for name, rows in (("gateway", gw_rows), ("yardstick", ys_rows)):
        for row in rows:
            per_client = (row["rss"] - row["base"]) / row["clients"] / 1024
            table.append([name, row["clients"], row["held"], round(row["rss"] / MIB, 1),
                          round(per_client, 1), row["reached"],
                          None if row["reach_ms"] is None else round(row["reach_ms"], 1),
                          round(row["connect_s"], 1)])
    gw, ys = gw_rows[-1], ys_rows[-1]
    n = gw["clients"]
    params = {"clients": n}
    out.append(Result(f"gateway RSS with {n:,} idle clients", round(gw["rss"] / MIB, 1), "MiB",
                      round(ys["rss"] / MIB, 1), "websockets server", target=Target("<=", 1024), params=params))
    out.append(Result(f"memory per idle client at {n:,}", round((gw["rss"] - gw["base"]) / n / 1024, 1), "KiB",
                      round((ys["rss"] - ys["base"]) / n / 1024, 1), "websockets server", params=params))
    out.append(Result(f"clients reached by one session_update, {n:,} held", gw["reached"], "clients",
                      ys["reached"], "websockets server", target=Target(">=", n), better="higher", params=params))
    if gw["reach_ms"] is not None:
        out.append(Result(f"session_update to the last of {n:,} clients", round(gw["reach_ms"], 1), "ms",
                          None if ys["reach_ms"] is None else round(ys["reach_ms"], 1), "websockets server",
                          params=params, note="includes the REST request that triggers it"))
    out.append(Table("Steps", ["server", "clients", "held", "RSS MiB", "KiB per client", "reached",
                               "reach ms", "connect s"], table))
    return out
