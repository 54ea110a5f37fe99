"""API keys: created (shown once, stored as a hash), listed, revoked at once, rotated; scopes and
session limits enforced on every route, as docs/api-reference.md's table says."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.campaigns.helpers import create, definition
from tests.conftest import Harness, ShiftedClock, in_process
from tests.messaging.samples import sample
from waqtor.clock import iso_ms
from waqtor.config import Settings
from waqtor.storage.tables import api_keys

ROOT = Path(__file__).resolve().parents[2]
PATH_VALUES = {"name": "default", "campaign_id": "c" * 12, "key_id": "key_" + "0" * 16, "webhook_id": "w" * 12,
               "delivery_id": "d" * 12, "message_id": "1", "media_id": "0" * 32, "phone": "4915112345678",
               "chat": "4915112345678"}


async def new_key(gw: Harness, *scopes: str, **fields: Any) -> dict[str, Any]:
    response = await gw.client.post("/api/keys", json={"name": "test", "scopes": list(scopes), **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def as_key(gw: Harness, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app), base_url="http://gateway",
                             headers={"X-API-Key": key})


def documented_scopes() -> dict[tuple[str, str], str]:
    text = (ROOT / "docs" / "api-reference.md").read_text()
    rows = re.findall(r"^\| `(GET|POST|PATCH|DELETE) (/api/[^`]*)` \| (read|send|control|admin) \|$", text,
                      re.MULTILINE)
    return {(method, path): scope for method, path, scope in rows}


async def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(gw: Harness) -> None:
    created = await new_key(gw, "read", "send", sessions=["shop"])
    key = created["key"]
    assert key.startswith("wqt_") and len(key) >= 40 and created["prefix"] == key[:12]
    assert created["scopes"] == ["read", "send"] and created["sessions"] == ["shop"]
    listed = (await gw.client.get("/api/keys")).json()["data"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0] and key not in str(listed)
    async with gw.gateway.storage.engine.connect() as conn:
        row = (await conn.execute(select(api_keys))).one()
    assert row.hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(tuple(row))


async def test_a_key_is_admitted_for_its_scope_and_refused_others_with_insufficient_scope(gw: Harness) -> None:
    reader = (await new_key(gw, "read"))["key"]
    async with as_key(gw, reader) as client:
        assert (await client.get("/api/session/state")).status_code == 200
        refused = await client.post("/api/messages/send", json={"to": "+4915112345678", "text": "hi"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "insufficient_scope"
        assert (await client.get("/api/keys")).json()["error"]["code"] == "insufficient_scope"


async def test_every_api_route_needs_the_scope_the_reference_gives_it(gw: Harness) -> None:
    documented = documented_scopes()
    operations = [(m.upper(), p) for p, ops in gw.app.openapi()["paths"].items() if p.startswith("/api") for m in ops]
    assert set(operations) == set(documented), "docs/api-reference.md's scope table and the routes differ"
    keys = {scope: (await new_key(gw, scope))["key"] for scope in ("read", "send", "control", "admin")}
    for method, path in operations:
        scope = documented[(method, path)]
        url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)
        for other in ("read", "send", "control"):
            if other == scope:
                continue
            async with as_key(gw, keys[other]) as client:
                response = await client.request(method, url)
            assert response.status_code == 403, (method, path, other)
            assert response.json()["error"]["code"] == "insufficient_scope", (method, path, other)
        async with as_key(gw, keys[scope]) as client:
            response = await client.request(method, url)
        assert response.status_code not in (401, 403), (method, path, scope, response.text)


async def test_a_key_limited_to_a_session_reaches_only_that_session(gw: Harness) -> None:
    created = await gw.client.post("/api/sessions", json={"name": "shop", "engine": "sandbox"})
    assert created.status_code == 201, created.text
    key = (await new_key(gw, "read", "send", "control", sessions=["shop"]))["key"]
    async with as_key(gw, key) as client:
        assert (await client.get("/api/sessions/shop/state")).status_code == 200
        for method, url, body in [
            ("GET", "/api/sessions/default/state", None),
            ("GET", "/api/session/state", None),
            ("GET", "/api/status/client", None),
            ("POST", "/api/sessions/default/stop", None),
            ("POST", "/api/messages/send", {"session": "default", "to": "+4915112345678", "text": "hi"}),
            ("GET", "/api/messages?session=default", None),
            ("POST", "/api/sessions", {"name": "other", "engine": "sandbox"}),
        ]:
            response = await client.request(method, url, json=body)
            assert response.status_code == 403, (method, url, response.text)
            assert response.json()["error"]["code"] == "forbidden_session", (method, url)
        names = [s["name"] for s in (await client.get("/api/sessions")).json()["data"]]
        assert names == ["shop"]
        assert (await client.get("/api/messages")).status_code == 200  # narrowed to its one session
        assert (await client.get("/api/campaigns")).status_code == 200


async def test_another_sessions_campaign_is_404_to_a_limited_key_exactly_like_a_missing_one(gw: Harness) -> None:
    campaign = await create(gw.client)  # on `default`
    assert (await gw.client.post("/api/sessions", json={"name": "shop", "engine": "sandbox"})).status_code == 201
    key = (await new_key(gw, "read", "send", "control", sessions=["shop"]))["key"]
    cid, missing = campaign["id"], "c" * len(campaign["id"])
    async with as_key(gw, key) as client:
        for method, path in [("GET", ""), ("GET", "/recipients"), ("GET", "/recipients?format=csv"),
                             ("POST", "/start"), ("DELETE", "")]:
            hidden = await client.request(method, f"/api/campaigns/{cid}{path}")
            absent = await client.request(method, f"/api/campaigns/{missing}{path}")
            assert hidden.status_code == absent.status_code == 404, (method, path, hidden.text, absent.text)
            assert hidden.json()["error"]["code"] == absent.json()["error"]["code"] == "campaign_not_found"
            assert hidden.json()["error"]["message"] == absent.json()["error"]["message"].replace(missing, cid)
    assert (await gw.client.get(f"/api/campaigns/{cid}")).json()["data"]["status"] == "draft"  # untouched


async def test_a_key_limited_to_a_session_downloads_only_the_files_of_its_sessions(gw: Harness) -> None:
    await gw.scan()
    assert (await gw.client.post("/api/sessions", json={"name": "shop", "engine": "sandbox"})).status_code == 201
    await gw.scan(session="shop")

    async def sent_file(session: str, name: str) -> str:
        response = await gw.client.post("/api/messages/send-media", data={"to": "+4915112345678", "session": session},
                                        files={"file": (name, sample("png", 512))})
        assert response.status_code == 200, response.text
        return response.json()["data"]["media"]["id"]  # type: ignore[no-any-return]

    shop_file, default_file = await sent_file("shop", "shop.png"), await sent_file("default", "default.png")
    campaign = await gw.client.post("/api/campaigns", data={"campaign": json.dumps(definition(
        session="shop", message={"text": "For you"}))}, files={
        "recipients": ("list.csv", b"phone\n+4915112345679\n", "text/csv"),
        "media": ("leaflet.png", sample("png", 600), "image/png")})
    assert campaign.status_code == 201, campaign.text
    leaflet = campaign.json()["data"]["campaign"]["message"]["media"]["id"]
    key = (await new_key(gw, "read", "send", sessions=["shop"]))["key"]
    async with as_key(gw, key) as client:
        for media_id in (shop_file, leaflet):
            assert (await client.get(f"/api/media/{media_id}")).status_code == 200, media_id
        # Another session's file is not there for this key, exactly like a file that never existed…
        refused = await client.get(f"/api/media/{default_file}")
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "media_not_found"
        # …not even to send it from its own session in a campaign.
        reused = await client.post("/api/campaigns", json=definition(
            session="shop", message={"text": "yours now?", "mediaId": default_file},
            recipients=[{"phone": "+4915112345679"}]))
        assert reused.status_code == 404 and reused.json()["error"]["code"] == "media_not_found", reused.text
        mine = await client.post("/api/campaigns", json=definition(
            session="shop", message={"text": "again", "mediaId": shop_file}, recipients=[{"phone": "+4915112345679"}]))
        assert mine.status_code == 201, mine.text
    for media_id in (shop_file, leaflet, default_file):  # an unlimited key gets every file
        assert (await gw.client.get(f"/api/media/{media_id}")).status_code == 200, media_id


async def test_a_revoked_key_is_refused_at_once(gw: Harness) -> None:
    created = await new_key(gw, "read")
    async with as_key(gw, created["key"]) as client:
        assert (await client.get("/api/session/state")).status_code == 200
        deleted = await gw.client.delete(f"/api/keys/{created['id']}")
        assert deleted.json() == {"success": True, "data": {"id": created["id"], "deleted": True}}
        refused = await client.get("/api/session/state")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    again = await gw.client.delete(f"/api/keys/{created['id']}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "key_not_found"


async def test_rotation_both_keys_work_until_the_old_one_is_deleted(gw: Harness) -> None:
    old = await new_key(gw, "read")
    new = await new_key(gw, "read")
    async with as_key(gw, old["key"]) as old_client, as_key(gw, new["key"]) as new_client:
        assert (await old_client.get("/api/session/state")).status_code == 200
        assert (await new_client.get("/api/session/state")).status_code == 200
        await gw.client.delete(f"/api/keys/{old['id']}")
        assert (await old_client.get("/api/session/state")).status_code == 401
        assert (await new_client.get("/api/session/state")).status_code == 200


async def test_an_expired_key_is_refused(settings: Settings) -> None:
    clock = ShiftedClock()
    async with in_process(settings, clock=clock) as gw:
        created = await new_key(gw, "read", expiresAt=iso_ms(clock() + timedelta(hours=1)))
        async with as_key(gw, created["key"]) as client:
            assert (await client.get("/api/session/state")).status_code == 200
            clock.offset = timedelta(hours=2)
            assert (await client.get("/api/session/state")).status_code == 401


async def test_last_use_is_written_at_most_once_a_minute_per_key(settings: Settings) -> None:
    clock = ShiftedClock()
    async with in_process(settings, clock=clock) as gw:
        created = await new_key(gw, "read")

        async def use() -> None:
            async with as_key(gw, created["key"]) as client:
                assert (await client.get("/api/session/state")).status_code == 200

        async def listed_and_stored() -> tuple[str | None, str | None]:
            [listed] = (await gw.client.get("/api/keys")).json()["data"]
            async with gw.gateway.storage.engine.connect() as conn:
                stored = (await conn.execute(select(api_keys.c.last_used_at))).scalar_one()
            return listed["lastUsedAt"], iso_ms(stored) if stored else None

        assert await listed_and_stored() == (None, None)
        await use()
        first = iso_ms(clock())
        listed, stored = await listed_and_stored()
        assert stored is not None and stored <= first and listed == stored
        clock.offset = timedelta(seconds=30)
        await use()
        listed, again = await listed_and_stored()
        assert again == stored, "a use within the minute wrote to the database"
        assert listed is not None and listed > stored, "the list shows the newer use this instance saw"
        clock.offset = timedelta(seconds=61)
        await use()
        listed, later = await listed_and_stored()
        assert later is not None and later > stored


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": "x", "scopes": ["admin"], "sessions": ["shop"]}, 400, "invalid_scope"),
    ({"name": "x", "scopes": ["read"], "expiresAt": "2020-01-01T00:00:00Z"}, 400, "invalid_expiry"),
    ({"name": "x", "scopes": ["write"]}, 422, "validation_error"),
    ({"name": "x", "scopes": []}, 422, "validation_error"),
    ({"name": "x", "scopes": ["read"], "sessions": ["Not A Name"]}, 422, "validation_error"),
    ({"name": "", "scopes": ["read"]}, 422, "validation_error"),
])
async def test_a_bad_key_request_gets_a_clear_error(gw: Harness, body: dict[str, Any], status: int, code: str) -> None:
    response = await gw.client.post("/api/keys", json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert (await gw.client.get("/api/keys")).json()["data"] == []

