"""GET /api/session/qr?format=png|svg: the current QR code drawn as an image."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Harness, eventually, in_process, make_settings
from tests.qr_decode import decode_png, decode_svg
from waqtor import qr_image


@pytest.fixture
async def gw(data_dir: Path) -> AsyncIterator[Harness]:
    # A QR that does not rotate during a test, so two requests see the same code.
    async with in_process(make_settings(data_dir, sandbox_qr_interval=3600.0)) as harness:
        monitor = harness.gateway.sessions.get("default").monitor
        await eventually(lambda: monitor.state.has_qr, what="first QR")
        yield harness


async def current_code(gw: Harness) -> str:
    body = (await gw.client.get("/api/session/qr")).json()
    assert body["data"]["hasQR"] is True
    return body["data"]["qr"]  # type: ignore[no-any-return]


async def test_svg_is_the_rendering_of_the_code_the_json_route_gives(gw: Harness) -> None:
    code = await current_code(gw)
    response = await gw.client.get("/api/session/qr", params={"format": "svg"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text == qr_image.svg(code)
    assert decode_svg(response.text) == [code]


async def test_png_scans_as_the_code_the_json_route_gives(gw: Harness) -> None:
    code = await current_code(gw)
    response = await gw.client.get("/api/session/qr", params={"format": "png"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert decode_png(response.content) == [code]


async def test_images_are_never_cached(gw: Harness) -> None:
    for fmt in ("png", "svg"):
        response = await gw.client.get("/api/session/qr", params={"format": fmt})
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-disposition"] == f'inline; filename="qr.{fmt}"'


async def test_json_is_still_the_default_and_explicit_json_is_the_same(gw: Harness) -> None:
    default = (await gw.client.get("/api/session/qr")).json()
    explicit = (await gw.client.get("/api/session/qr", params={"format": "json"})).json()
    assert default == explicit
    assert set(default["data"]) == {"hasQR", "qr", "expiresAt"}


async def test_image_follows_the_code_when_it_rotates(gw: Harness) -> None:
    monitor = gw.gateway.sessions.get("default").monitor
    first = await current_code(gw)
    monitor.state = monitor.state.replace(qr_code=first[:-1] + ("A" if first[-1] != "A" else "B"))
    second = await current_code(gw)
    assert second != first
    response = await gw.client.get("/api/session/qr", params={"format": "png"})
    assert decode_png(response.content) == [second]


@pytest.mark.parametrize("fmt", ["png", "svg"])
async def test_image_when_there_is_no_qr_is_404_no_qr(gw: Harness, fmt: str) -> None:
    await gw.scan()
    response = await gw.client.get("/api/session/qr", params={"format": fmt})
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": {"code": "no_qr", "message": "No QR code available. Client may already be authenticated.",
                  "requestId": response.headers["X-Request-ID"]},
    }


@pytest.mark.parametrize("fmt", ["jpeg", "PNG", "", "svg "])
async def test_unknown_format_is_a_validation_error(gw: Harness, fmt: str) -> None:
    response = await gw.client.get("/api/session/qr", params={"format": fmt})
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"][0]["field"] == "query.format"


async def test_image_needs_the_api_key(gw: Harness) -> None:
    response = await gw.client.get("/api/session/qr", params={"format": "png"},
                                   headers={"X-API-Key": "wrong-key-0000000000"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_openapi_declares_the_image_media_types(gw: Harness) -> None:
    operation = gw.app.openapi()["paths"]["/api/session/qr"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "image/png", "image/svg+xml"}
    assert "404" in operation["responses"]
    [param] = [p for p in operation["parameters"] if p["name"] == "format"]
    assert param["schema"]["enum"] == ["json", "png", "svg"]
