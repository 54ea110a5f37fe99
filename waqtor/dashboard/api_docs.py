"""The API's documentation pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), served whole by the gateway.

FastAPI's own pages load unpinned scripts from a CDN: blank on a server without internet access, and
run with no Content-Security-Policy on the dashboard's origin. These load everything from the gateway:
the two libraries from the `fastapi-offline` package (Swagger UI 5.32.6 and ReDoc 2.5.3, fixed by its
pinned version in pyproject.toml), and Swagger UI's start script and ReDoc's stylesheet from package
data (`waqtor/dashboard/static/api-docs/assets/`), all under `/docs-assets/`. The pages are package
data too.

Every answer has the dashboard's security headers, with a policy of its own for each page
(waqtor/dashboard/headers.py: `SWAGGER_CSP`, `REDOC_CSP`; the files get Swagger UI's). Like the
dashboard, the pages need no key: the document they show is public (`/openapi.json`), and Swagger UI's
"Authorize" keeps a key typed into it in the page only.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse

from waqtor.dashboard.headers import REDOC_CSP, SWAGGER_CSP, page_headers
from waqtor.dashboard.routes import PageFiles

ASSETS_PREFIX = "/docs-assets"
PAGES = "dashboard/static/api-docs"
OWN_FILES = f"{PAGES}/assets"
# Where fastapi-offline keeps the libraries' files; ours are looked up first.
LIBRARY_FILES = ("fastapi_offline", "static")

router = APIRouter(include_in_schema=False)


@cache
def _page(name: str) -> str:
    return resources.files("waqtor").joinpath(f"{PAGES}/{name}").read_text(encoding="utf-8")


def _answer(name: str, csp: str) -> HTMLResponse:
    return HTMLResponse(_page(name), headers=page_headers(csp))


@router.api_route("/docs", methods=["GET", "HEAD"])
async def swagger_ui() -> HTMLResponse:
    return _answer("swagger.html", SWAGGER_CSP)


@router.api_route("/redoc", methods=["GET", "HEAD"])
async def redoc() -> HTMLResponse:
    return _answer("redoc.html", REDOC_CSP)


def install(app: FastAPI) -> None:
    """Add `/docs` and `/redoc` and mount their files under `/docs-assets/`. Build `app` with
    `docs_url=None, redoc_url=None`, so FastAPI's own pages are not there too."""
    app.include_router(router)
    app.mount(ASSETS_PREFIX, PageFiles(csp=SWAGGER_CSP, packages=[("waqtor", OWN_FILES), LIBRARY_FILES]),
              name="docs-assets")
