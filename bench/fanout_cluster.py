"""Fan-out across three instances (issue 9): one event to N WebSocket clients spread over three gateway
processes sharing PostgreSQL and Redis, against one gateway process with the same clients."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

import httpx

from bench.harness import Mode, Result, Table, Target
from bench.harness.servers import API_KEY, Server, gateway, link_sandbox
from bench.harness.stats import percentile
from bench.harness.wsload import ClientPool, marker

TITLE = "WebSocket fan-out across three instances"
METHOD = """
Three gateway processes (`python -m waqtor serve`, sandbox engine, each with its own data dir) share a
fresh PostgreSQL database and a Redis key prefix (`WAQTOR_DATABASE_URL`, `WAQTOR_BUS_URL`), as behind
a load balancer. N clients connect to `/ws`, a third to each instance, from three load-generator
processes (one per instance, the `websockets` sans-I/O clients of the fan-out benchmark) and subscribe
to `message` events. One event at a time is injected with `POST /api/sandbox/inbound` on the instance
that runs the session (so no forwarding hop is measured): that instance writes the message to
PostgreSQL and publishes it to the Redis stream, and each instance reads the stream and sends it to its
own clients. The time of an event runs from just before the injector sends the request to the moment
the last client's frame arrives (same monotonic clock), after a few warm-up events.

The yardstick is **one gateway process** in its default set-up (SQLite, in-process bus), measured in
the same run with the same clients (three load-generator processes, all on that one instance) and the
same injection: the single-instance figure of the fan-out benchmark. The detail table adds, in a full
run, one gateway process on PostgreSQL and Redis, which separates the cost of the shared services from
the effect of spreading clients over instances. *Server CPU per delivered frame* adds the CPU time of
every gateway process. On 2 cores the three gateways and their clients share the machine, so this
measures the overhead of running as a cluster, not the capacity a cluster of machines would add.
"""

CLIENTS: dict[Mode, int] = {"full": 1000, "quick": 90, "smoke": 6}
EVENTS: dict[Mode, int] = {"full": 150, "quick": 15, "smoke": 4}
WARMUP = 5
INSTANCES = 3
PHONE = "15550002222"
PG = os.environ.get("WAQTOR_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("WAQTOR_BENCH_REDIS", "redis://127.0.0.1:6379/0")


@contextmanager
def shared_services() -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database and Redis key prefix; both removed afterwards."""
    import asyncpg
    import redis

    name = f"waqtor_bench_{secrets.token_hex(5)}"
    prefix = f"bench-{secrets.token_hex(5)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(f"{PG}/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield {"database_url": f"{PG}/{name}", "bus_url": f"{REDIS}?prefix={prefix}"}
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@contextmanager
def started(servers: list[Server]) -> Iterator[list[Server]]:
    """Start `servers` at once (one of a cluster takes the session); stop them all afterwards."""
    for server in servers:
        server.ready_timeout = 30.0 * len(servers)
    with ExitStack() as stack, ThreadPoolExecutor(len(servers)) as pool:
        up = list(pool.map(_enter, servers))
        for server in up:
            if server is not None:
                stack.push(server.__exit__)
        if None in up:
            raise RuntimeError("a gateway did not start")
        yield servers


def cluster(count: int, **shared: str) -> list[Server]:
    return [gateway(**shared, instance_id=f"bench-{n}") for n in range(1, count + 1)]


def _enter(server: Server) -> Server | None:
    try:
        return server.__enter__()
    except Exception as exc:  # reported by the caller once every start has ended
        print(f"{server.name} did not start: {exc}")
        return None


def _owner(servers: list[Server]) -> Server:
    for server in servers:
        if "default" in httpx.get(server.http + "/health", timeout=10).json()["instance"]["sessions"]:
            return server
    raise RuntimeError("no instance runs the default session")


def _measure(servers: list[Server], clients: int, events: int) -> dict[str, float]:
    """Closed loop: one event at a time; p50/p99 of time to the last client, CPU per delivered frame."""
    owner = _owner(servers)
    link_sandbox(owner)
    urls = [f"{servers[i % len(servers)].ws}/ws?apiKey={API_KEY}" for i in range(INSTANCES)]
    with ExitStack() as stack:
        pools = [stack.enter_context(ClientPool(url, workers=1, subscribe=["message"])) for url in urls]
        shares = [clients // INSTANCES + (1 if i < clients % INSTANCES else 0) for i in range(INSTANCES)]
        for pool, share in zip(pools, shares, strict=True):
            pool.connect(share)
        for pool in pools:
            pool.notify(True)
        seqs = range(1, WARMUP + events + 1)
        cpu = sum(server.cpu_seconds() for server in servers)
        with httpx.Client(base_url=owner.http, headers={"X-API-Key": API_KEY}, timeout=30) as http:
            for seq in seqs:
                http.post("/api/sandbox/inbound", json={"from": PHONE, "body": marker(seq)}).raise_for_status()
                for pool in pools:
                    pool.wait_done(seq, timeout=15)
        cpu = sum(server.cpu_seconds() for server in servers) - cpu
        merged: dict[int, list[int]] = {}
        for pool in pools:
            stats, _, _ = pool.collect()
            for seq, (count, first, last) in stats.items():
                entry = merged.setdefault(seq, [0, first, last])
                entry[0] += count
                entry[1], entry[2] = min(entry[1], first), max(entry[2], last)
    measured = [merged[s] for s in seqs[WARMUP:] if s in merged and merged[s][0] >= clients]
    lasts = [entry[2] / 1e6 for entry in measured]
    return {"p50": percentile(lasts, 50), "p99": percentile(lasts, 99), "lost": events - len(measured),
            "cpu_us": cpu / (len(seqs) * clients) * 1e6}


def run(mode: Mode) -> list[Result | Table]:
    clients, events = CLIENTS[mode], EVENTS[mode]
    single_name, cluster_name = "1 instance (SQLite, memory bus)", f"{INSTANCES} instances (PostgreSQL, Redis)"
    found: dict[str, dict[str, float]] = {}
    if mode != "full":  # the small runs start everything at once: idle instances cost little, starts cost seconds
        with shared_services() as shared, started([gateway(), *cluster(INSTANCES, **shared)]) as servers:
            found[single_name] = _measure(servers[:1], clients, events)
            found[cluster_name] = _measure(servers[1:], clients, events)
    else:
        with started([gateway()]) as servers:
            found[single_name] = _measure(servers, clients, events)
        if mode == "full":
            with shared_services() as shared, started(cluster(1, **shared)) as servers:
                found["1 instance (PostgreSQL, Redis)"] = _measure(servers, clients, events)
        with shared_services() as shared, started(cluster(INSTANCES, **shared)) as servers:
            found[cluster_name] = _measure(servers, clients, events)
    one, three = found[single_name], found[cluster_name]
    params = {"clients": clients, "events": events, "instances": INSTANCES}
    note = f"{int(three['lost'])} events lost" if three["lost"] else ""
    rows = [[name, clients, int(f["lost"]), round(f["p50"], 2), round(f["p99"], 2), round(f["cpu_us"], 1)]
            for name, f in found.items()]
    return [
        Result(f"p50 time to last client, {clients:,} clients over {INSTANCES} instances", round(three["p50"], 2), "ms",
               round(one["p50"], 2), "one instance", note=note, params=params),
        Result(f"p99 time to last client, {clients:,} clients over {INSTANCES} instances", round(three["p99"], 2), "ms",
               round(one["p99"], 2), "one instance", note=note, params=params,
               target=Target("<=", 2.0, relative=True) if mode == "full" else None),
        Result(f"gateway CPU per delivered frame, {clients:,} clients over {INSTANCES} instances",
               round(three["cpu_us"], 1), "µs", round(one["cpu_us"], 1), "one instance", params=params,
               note="all gateway processes; includes the inbound request spread over the clients"),
        Table("Closed-loop fan-out per set-up (ms)",
              ["set-up", "clients", "lost", "p50 last client", "p99 last client", "gateway CPU µs per frame"], rows),
    ]
