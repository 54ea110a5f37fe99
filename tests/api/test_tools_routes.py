"""GET /ws-test and GET /docs/websocket-test.html: the WebSocket test page, served without a key."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from importlib import resources

import httpx
import pytest

from tests.conftest import Harness

PATHS = ["/ws-test", "/docs/websocket-test.html"]


class InlineBlocks(HTMLParser):
    """Collects the text of every inline <script> and <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.current: str | None = None
        self.blocks: dict[str, list[str]] = {"script": [], "style": []}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.blocks:
            self.current = tag
            self.blocks[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        self.current = None

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.blocks[self.current][-1] += data


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("path", PATHS)
async def test_page_is_served_without_a_key(gw: Harness, path: str) -> None:
    transport = httpx.ASGITransport(app=gw.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as anonymous:
        response = await anonymous.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    packaged = resources.files("waqtor").joinpath("dashboard/static/websocket-test.html").read_bytes()
    assert response.content == packaged


@pytest.mark.parametrize("path", PATHS)
async def test_head_answers_like_get(gw: Harness, path: str) -> None:
    response = await gw.client.head(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"


async def test_policy_allows_exactly_the_page_inline_script_and_style(gw: Harness) -> None:
    response = await gw.client.get("/ws-test")
    header = response.headers["content-security-policy"]
    policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
    parser = InlineBlocks()
    parser.feed(response.text)
    assert policy["script-src"].split() == [sha256_source(text) for text in parser.blocks["script"]]
    assert policy["style-src"].split() == [sha256_source(text) for text in parser.blocks["style"]]
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["img-src"] == "'self' blob: data:"


async def test_page_headers_keep_it_from_leaking_or_being_sniffed(gw: Harness) -> None:
    response = await gw.client.get("/ws-test")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_page_routes_stay_out_of_the_api_schema(gw: Harness) -> None:
    paths = gw.app.openapi()["paths"]
    assert not any(re.match(r"/ws-test|/docs/", path) for path in paths)
