"""The WebSocket test page, served by the gateway: `GET /ws-test` and `GET /docs/websocket-test.html`.

The page holds no secret (the user types the key into it), so it needs no key itself. It is package data
(`waqtor/dashboard/static/websocket-test.html`), read on first request. Its Content-Security-Policy lets
only its own inline script and style run, each pinned by hash, and loads nothing from elsewhere; the
other security headers are the dashboard's (waqtor/dashboard/headers.py).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from waqtor.dashboard.headers import page_headers

router = APIRouter(tags=["tools"])

PAGE = "dashboard/static/websocket-test.html"

_INLINE = re.compile(r"<(script|style)\b[^>]*>(.*?)</\1>", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    body: bytes
    csp: str


def content_security_policy(html: str) -> str:
    """A policy allowing exactly the inline `<script>` and `<style>` blocks of `html`, by SHA-256."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for tag, content in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(content.encode("utf-8")).digest()).decode("ascii")
        hashes[tag.lower()].append(f"'sha256-{digest}'")
    allowed = {tag: " ".join(found) or "'none'" for tag, found in hashes.items()}
    return "; ".join([
        "default-src 'none'",
        f"script-src {allowed['script']}",
        f"style-src {allowed['style']}",
        "img-src 'self' blob: data:",
        # The user may point the page at another gateway, so any ws/http endpoint may be reached.
        "connect-src 'self' ws: wss: http: https:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])


@lru_cache(maxsize=1)
def load_page() -> Page:
    html = resources.files("waqtor").joinpath(PAGE).read_text(encoding="utf-8")
    return Page(html.encode("utf-8"), content_security_policy(html))


def _page_response() -> Response:
    page = load_page()
    return Response(page.body, media_type="text/html; charset=utf-8", headers=page_headers(page.csp))


@router.api_route("/ws-test", methods=["GET", "HEAD"], include_in_schema=False)
async def websocket_test_page() -> Response:
    return _page_response()


@router.api_route("/docs/websocket-test.html", methods=["GET", "HEAD"], include_in_schema=False)
async def websocket_test_page_docs_path() -> Response:
    return _page_response()
