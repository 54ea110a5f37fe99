"""The dashboard's routes: `GET /` redirects to `/dashboard/`, which serves the single-page dashboard
and its files from package data (`waqtor/dashboard/static/dashboard/`).

Loading the page needs no key: its files hold no secret, and the user signs in with the key inside it
(the page then sends it in the `X-API-Key` header). Every file is answered with the dashboard's security
headers. These routes are pages, not API, so they are left out of `/openapi.json`; docs/api-reference.md
describes them.
"""

from __future__ import annotations

import os

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from waqtor.dashboard.headers import DASHBOARD_CSP, page_headers

PREFIX = "/dashboard"
ASSETS = ("waqtor", "dashboard/static/dashboard")

router = APIRouter(include_in_schema=False)


class PageFiles(StaticFiles):
    """Starlette's static files (ETag, HEAD, path checks), each answer carrying the security headers of
    the policy `csp`."""

    def __init__(self, *, csp: str, packages: list[str | tuple[str, str]], html: bool = False) -> None:
        super().__init__(packages=packages, html=html)
        self.csp = csp

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(page_headers(self.csp))
        return response


@router.api_route("/", methods=["GET", "HEAD"])
async def root() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/", status_code=307, headers=page_headers(DASHBOARD_CSP))


@router.api_route(PREFIX, methods=["GET", "HEAD"])
async def dashboard_without_slash() -> RedirectResponse:
    # The page's relative links (css/, js/) resolve against /dashboard/, never against /.
    return RedirectResponse(f"{PREFIX}/", status_code=307, headers=page_headers(DASHBOARD_CSP))


def install(app: FastAPI) -> None:
    """Add the redirects and mount the dashboard's files under /dashboard/."""
    app.include_router(router)
    app.mount(PREFIX, PageFiles(csp=DASHBOARD_CSP, packages=[ASSETS], html=True), name="dashboard")
