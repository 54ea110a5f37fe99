"""Several gateway processes on one PostgreSQL database and one Redis, as behind a load balancer: any
instance serves any session, each session runs on exactly one, and a dead instance's work moves on.

Each test starts its own processes (a fresh database and key prefix each); starting a gateway process
costs a few seconds of CPU, so each test covers one whole scenario.
"""

from __future__ import annotations

import time
from typing import Any

from tests.cluster.instances import LEASE_TTL, Cluster, Instance, frames_until, open_ws
from tests.conftest import eventually
from tests.webhook_receiver import Receiver, Reply

# A dead owner's leases expire within a TTL of its last renewal, and the next round (a third of a TTL)
# takes them; the rest is room for a loaded machine.
TAKEOVER = LEASE_TTL * 2 + 3


async def runs(instance: Instance, *names: str) -> bool:
    return await instance.runs() == sorted(names)


async def call(instance: Instance, method: str, path: str, **body: Any) -> dict[str, Any]:
    async with instance.client() as client:
        response = await client.request(method, path, json=body or None)
    assert response.status_code in (200, 201), f"{method} {path} on {instance.name}: {response.text}"
    return response.json()["data"]  # type: ignore[no-any-return]


async def post(instance: Instance, path: str, **body: Any) -> dict[str, Any]:
    return await call(instance, "POST", path, **body)


async def get(instance: Instance, path: str) -> dict[str, Any]:
    return await call(instance, "GET", path)


async def two(cluster: Cluster) -> tuple[Instance, Instance]:
    """Two instances: the one that runs `default`, and the other (which runs nothing)."""
    instances = await cluster.start(2)
    owner = await cluster.owner("default")
    other = next(i for i in instances if i is not owner)
    return owner, other


async def test_an_instance_that_does_not_run_a_session_serves_it_fully(cluster: Cluster) -> None:
    a, b = await two(cluster)
    ws = await open_ws(b)
    try:
        # A command to b is carried out by a, which runs the session...
        linked = await post(b, "/api/sandbox/scan", phone="4915100000002", pushname="Shop")
        assert linked["phone"] == "4915100000002"
        # ...and the event a publishes reaches the WebSocket client on b.
        frames = await frames_until(ws, lambda f: f["type"] == "session_update" and f["data"]["status"] == "connected")
        assert frames[-1]["session"] == "default" and frames[-1]["data"]["info"]["phoneMasked"] == "***0002"
        # Reads come from the database a keeps current.
        assert (await get(b, "/api/session/state"))["status"] == "connected"
        sent = await post(b, "/api/messages/send", to="+4915112345678", text="from b")
        assert sent["status"] in ("sent", "delivered", "read") and sent["waId"]
        await frames_until(ws, lambda f: f["type"] == "message_ack" and f["data"]["id"] == sent["id"])
        assert (await get(a, f"/api/messages/{sent['id']}"))["body"] == "from b"
        assert (await post(b, "/api/session/stats/reset"))["stats"] == {"messagesSent": 0, "messagesReceived": 0}
        assert (await post(b, "/api/status/logout"))["status"] == "qr"
        qr = await get(b, "/api/session/qr")
        assert qr["hasQR"] is True and qr["qr"] == (await get(a, "/api/session/qr"))["qr"]
    finally:
        await ws.close()
    assert await runs(a, "default") and await runs(b), "the session never left a: b relayed everything"


async def test_sessions_are_created_started_stopped_and_deleted_through_any_instance(cluster: Cluster) -> None:
    a, b = await two(cluster)
    a_id = (await a.health())["instance"]["id"]
    created = await post(a, "/api/sessions", name="shop", engine="sandbox")
    assert created["name"] == "shop"
    await eventually(lambda: runs(b, "shop"), timeout=10, what="b, which has room, running shop")
    stopped = await post(a, "/api/sessions/shop/stop")
    assert (stopped["running"], stopped["desired"], stopped["instance"]) == (False, "stopped", None)
    assert await runs(b)
    started = await post(a, "/api/sessions/shop/start")
    assert started["running"] is True and started["instance"] is not None
    listed = {s["name"]: s for s in await get(b, "/api/sessions")}
    assert listed["shop"]["running"] and listed["default"]["instance"] == a_id
    await call(b, "DELETE", "/api/sessions/shop")
    assert [s["name"] for s in await get(a, "/api/sessions")] == ["default"]
    assert await runs(b) and await runs(a, "default")


async def test_when_an_instance_dies_its_linked_session_and_its_webhook_deliveries_continue_elsewhere(
        cluster: Cluster) -> None:
    receiver = Receiver()
    await receiver.start()
    try:
        # Every first attempt fails with a Retry-After, so the deliveries wait for a retry when a dies.
        receiver.always("/hook", Reply(status=503, headers={"Retry-After": "2"}))
        a, b = await two(cluster)
        hook = await post(a, "/api/webhooks", url=receiver.url("/hook"), events=["message"])
        await post(a, "/api/sandbox/scan", phone="4915100000003")
        for n in range(3):
            await post(a, "/api/sandbox/inbound", **{"from": "4915199999999", "body": f"m{n}"})

        async def deliveries() -> list[dict[str, Any]]:
            return (await get(b, f"/api/webhooks/{hook['id']}/deliveries"))["deliveries"]  # type: ignore[no-any-return]

        async def all_failed_once() -> bool:
            rows = await deliveries()
            return len(rows) == 3 and all(r["status"] == "failed" and r["attempts"] == 1 for r in rows)

        await eventually(all_failed_once, timeout=15, what="three deliveries waiting for their retry")
        ws = await open_ws(b)
        try:
            a.kill()
            receiver.always("/hook", Reply(status=200))
            killed = time.monotonic()
            await eventually(lambda: runs(b, "default"), timeout=TAKEOVER, what="b taking default over")
            took = time.monotonic() - killed
            frames = await frames_until(ws, lambda f: f["type"] == "session_update"
                                        and f["data"]["status"] == "connected")
        finally:
            await ws.close()
        assert took < TAKEOVER
        assert not [f for f in frames if f["type"] == "qr_code"], "the link moved with the session: no new QR"
        state = await get(b, "/api/session/state")
        assert state["status"] == "connected" and state["info"]["phoneMasked"] == "***0003"
        assert (await post(b, "/api/messages/send", to="+4915112345678", text="after the move"))["status"] != "failed"

        async def all_delivered() -> bool:
            return all(r["status"] == "delivered" for r in await deliveries())

        await eventually(all_delivered, timeout=20, what="b delivering what was queued while a lived")
        delivered = {r.json["data"]["body"] for r in receiver.requests if r.json["data"].get("direction") == "in"}
        assert delivered == {"m0", "m1", "m2"}
    finally:
        await receiver.stop()


async def test_three_instances_share_the_sessions_fairly_and_absorb_a_dead_one(cluster: Cluster) -> None:
    instances = await cluster.start(3)
    for n, name in enumerate(("s1", "s2", "s3", "s4", "s5")):
        await post(instances[n % 3], "/api/sessions", name=name, engine="sandbox")

    async def spread(alive: list[Instance], each: int) -> bool:
        held = [await instance.runs() for instance in alive]
        return all(len(names) == each for names in held) and len({n for names in held for n in names}) == 6

    await eventually(lambda: spread(instances, 2), timeout=30, what="two sessions on each of three instances")
    instances[2].kill()
    await eventually(lambda: spread(instances[:2], 3), timeout=TAKEOVER + 10,
                     what="three sessions on each of the two left")
