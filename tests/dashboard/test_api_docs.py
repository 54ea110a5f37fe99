"""/docs and /redoc: every file from the gateway itself (no CDN), with the dashboard's security headers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.conftest import Harness
from waqtor.dashboard.headers import REDOC_CSP, SWAGGER_CSP, page_headers

PAGES = {"/docs": SWAGGER_CSP, "/redoc": REDOC_CSP}


class References(HTMLParser):
    """The URLs a page loads (src, href, spec-url) and the text of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href", "spec-url") and value]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


def anonymous(gw: Harness) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.app), base_url="http://gateway")


def assert_headers(response: httpx.Response, csp: str) -> None:
    for name, value in page_headers(csp).items():
        assert response.headers[name] == value, (str(response.url), name)


@pytest.mark.parametrize("policy", [SWAGGER_CSP, REDOC_CSP])
def test_the_policies_allow_no_other_site_and_no_inline_or_evaluated_script(policy: str) -> None:
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["default-src"] == "'none'" and directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert not re.search(r"https?:|\*|//|'unsafe-eval'", policy), policy


@pytest.mark.parametrize("path", list(PAGES))
async def test_a_docs_page_loads_only_files_the_gateway_serves_with_its_headers(gw: Harness, path: str) -> None:
    async with anonymous(gw) as client:  # no key: the pages and the document they show are public
        page = await client.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert_headers(page, PAGES[path])
        found = references(page.text)
        assert found.inline_scripts == []
        assert len(found.urls) >= 3
        for url in found.urls:
            absolute = urljoin(str(page.url), url)
            assert urlsplit(absolute).netloc == "gateway", f"{path} loads {url} from elsewhere"
            asset = await client.get(absolute)
            assert asset.status_code == 200 and asset.content, url
            if not absolute.endswith("openapi.json"):
                assert_headers(asset, SWAGGER_CSP)


async def test_the_libraries_are_served_whole_and_pinned(gw: Harness) -> None:
    async with anonymous(gw) as client:
        swagger = await client.get("/docs-assets/swagger-ui-bundle.js")
        redoc = await client.get("/docs-assets/redoc.standalone.js")
        start = await client.get("/docs-assets/swagger-start.js")
    assert 'PACKAGE_VERSION:"5.32.6"' in swagger.text and '"2.5.3"' in redoc.text
    assert swagger.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert '"openapi.json"' in start.text and "validatorUrl: null" in start.text


async def test_fastapis_own_cdn_pages_are_gone(gw: Harness) -> None:
    async with anonymous(gw) as client:
        assert (await client.get("/docs/oauth2-redirect")).status_code == 404
        for path in PAGES:
            assert "cdn.jsdelivr.net" not in (await client.get(path)).text
