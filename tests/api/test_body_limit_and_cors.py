"""Request bodies are bounded (413 payload_too_large), and CORS is closed unless origins are configured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.conftest import in_process, make_settings

ORIGIN = "https://app.example.com"


async def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(tmp_path: Path) -> None:
    async with in_process(make_settings(tmp_path, max_body=2048)) as gw:
        body = '{"to": "+4915112345678", "text": "' + "x" * 3000 + '"}'
        response = await gw.client.post("/api/messages/send", content=body,
                                        headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert "2048" in response.json()["error"]["message"]


async def test_a_chunked_body_is_cut_off_at_the_limit(tmp_path: Path) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "x", "scopes": ["read"], "pad": "'
        for _ in range(10):
            yield b"y" * 512
        yield b'"}'

    async with in_process(make_settings(tmp_path, max_body=2048)) as gw:
        response = await gw.client.post("/api/keys", content=chunks(), headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert (await gw.client.get("/api/keys")).json()["data"] == []


async def test_a_body_under_the_limit_goes_through(tmp_path: Path) -> None:
    async with in_process(make_settings(tmp_path, max_body=2048)) as gw:
        response = await gw.client.post("/api/keys", json={"name": "n" * 100, "scopes": ["read"]})
        assert response.status_code == 201


async def test_uploads_keep_their_own_larger_limit(tmp_path: Path) -> None:
    async with in_process(make_settings(tmp_path, max_body=2048)) as gw:
        files = {"file": ("a.txt", b"z" * 8192, "text/plain")}
        response = await gw.client.post("/api/messages/send-media", data={"to": "+4915112345678", "type": "document"},
                                        files=files)
        assert response.status_code != 413
        assert response.json()["error"]["code"] == "session_not_ready"


async def test_cors_is_closed_by_default(tmp_path: Path) -> None:
    async with in_process(make_settings(tmp_path)) as gw:
        preflight = await gw.client.options("/api/session/state", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-API-Key"})
        assert "access-control-allow-origin" not in preflight.headers
        simple = await gw.client.get("/api/session/state", headers={"Origin": ORIGIN})
        assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers


async def test_configured_origins_may_call_the_api_and_no_other(tmp_path: Path) -> None:
    async with in_process(make_settings(tmp_path, cors_origins=f"{ORIGIN}, https://admin.example.com")) as gw:
        preflight = await gw.client.options("/api/session/state", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "X-API-Key"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
        simple = await gw.client.get("/api/session/state", headers={"Origin": ORIGIN})
        assert simple.headers["access-control-allow-origin"] == ORIGIN
        other = await gw.client.get("/api/session/state", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_a_cors_origin_without_a_scheme_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="CORS origin"):
        make_settings(tmp_path, cors_origins="app.example.com")
