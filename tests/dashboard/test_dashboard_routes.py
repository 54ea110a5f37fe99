"""The dashboard's routes: `/` leads to `/dashboard/`, which serves the page and its files without a key,
every answer with the security headers, and none of it in the API's OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import resources

import httpx
import pytest

from tests.conftest import Harness

FILES = ["/dashboard/", "/dashboard/css/dashboard.css", "/dashboard/js/main.js", "/dashboard/img/icon.svg"]


@pytest.fixture
async def anonymous(gw: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no key, as a browser loading the page for the first time."""
    transport = httpx.ASGITransport(app=gw.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


def policy(response: httpx.Response) -> dict[str, list[str]]:
    directives = [part.split() for part in response.headers["content-security-policy"].split(";")]
    return {words[0]: words[1:] for words in directives if words}


@pytest.mark.parametrize("path", ["/", "/dashboard"])
async def test_root_and_bare_path_redirect_to_the_dashboard(anonymous: httpx.AsyncClient, path: str) -> None:
    response = await anonymous.get(path)
    assert response.status_code == 307
    assert response.headers["location"] == "/dashboard/"


async def test_dashboard_page_is_served_without_a_key(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/dashboard/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    packaged = resources.files("waqtor").joinpath("dashboard/static/dashboard/index.html").read_bytes()
    assert response.content == packaged


@pytest.mark.parametrize("path", FILES)
async def test_every_dashboard_file_carries_the_security_headers(
        anonymous: httpx.AsyncClient, path: str) -> None:
    response = await anonymous.get(path)
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    directives = policy(response)
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"], "scripts from the gateway only: no inline script, no eval"
    assert directives["style-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("path", ["/dashboard/js/main.js", "/dashboard/js/views/feed-view.js"])
async def test_modules_are_served_as_javascript(anonymous: httpx.AsyncClient, path: str) -> None:
    # With nosniff, a browser runs a module script only when its type is a JavaScript type.
    response = await anonymous.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")


async def test_files_are_revalidated_with_an_etag(anonymous: httpx.AsyncClient) -> None:
    first = await anonymous.get("/dashboard/js/main.js")
    again = await anonymous.get("/dashboard/js/main.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


async def test_head_answers_like_get(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.head("/dashboard/")
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"


async def test_unknown_file_is_a_not_found_envelope(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/dashboard/js/nothing-here.js")
    assert response.status_code == 404
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "not_found"


async def test_files_outside_the_dashboard_folder_cannot_be_reached(anonymous: httpx.AsyncClient) -> None:
    # The test page sits one folder up, in the same package: a path that climbs out must not reach it.
    outside = resources.files("waqtor").joinpath("dashboard/static/websocket-test.html").read_bytes()
    for path in ["/dashboard/%2e%2e/websocket-test.html", "/dashboard/..%2fwebsocket-test.html",
                 "/dashboard/js/%2e%2e/%2e%2e/websocket-test.html"]:
        response = await anonymous.get(path)
        assert response.status_code == 404, path
        assert response.content != outside


async def test_writing_methods_are_refused(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post("/dashboard/index.html")
    assert response.status_code == 405


async def test_dashboard_routes_are_not_part_of_the_api_document(gw: Harness) -> None:
    paths = gw.app.openapi()["paths"]
    assert "/" not in paths
    assert not [path for path in paths if path.startswith("/dashboard")]


async def test_test_page_shares_the_security_headers(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/ws-test")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert policy(response)["frame-ancestors"] == ["'none'"]
