"""Which methods a path has, so that every 405 tells the truth.

Starlette tries the routes in order and stops at the first that matches both path and method. Two
things go wrong with that on its own:
- a path that names an action, such as `/api/messages/send` (POST), also matches a route with a
  parameter, `/api/messages/{message_id}` (GET): a GET of it reached that route and answered 422 about
  an id nobody meant. Here a path with a route of its own (no parameter) is that route's alone: any
  other method answers 405.
- when no route takes the method, the 405's `Allow` named only the methods of the first route whose
  path matched, so `/api/webhooks/{webhook_id}` (GET, PATCH, DELETE in three routes) said `Allow: GET`.
  Here every 405, whoever raised it (the router, the dashboard's static files), lists every method of
  every route of the path, and unknown methods (`PROPFIND`) get the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from waqtor.api.errors import error_response
from waqtor.api.openapi import iter_route_contexts

STATIC_METHODS = frozenset({"GET", "HEAD"})
_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_LONGEST_METHOD = 32  # of a method named back in the message (the method is the caller's text)


@dataclass
class RouteMethods:
    """The methods of each path of a list of routes, read once."""

    literal: dict[str, frozenset[str]] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern[str], frozenset[str]]] = field(default_factory=list)

    @classmethod
    def of(cls, routes: list[BaseRoute]) -> RouteMethods:
        table = cls()
        for route in iter_route_contexts(routes):
            original = getattr(route, "original_route", route)
            if isinstance(original, WebSocketRoute) or not hasattr(route, "path_regex"):
                continue
            if isinstance(original, Mount):
                if isinstance(original.app, StaticFiles):
                    table.patterns.append((route.path_regex, STATIC_METHODS))
                continue
            methods = frozenset(route.methods or ())
            if not methods:
                continue
            path = route.path
            if route.param_convertors or path is None:
                table.patterns.append((route.path_regex, methods))
            else:
                table.literal[path] = table.literal.get(path, frozenset()) | methods
        return table

    def allowed(self, path: str) -> frozenset[str]:
        """Every method `path` has: its own routes' when it has any without a parameter, else those of
        every route whose pattern it matches; empty when no route has it."""
        if path in self.literal:
            return self.literal[path]
        return frozenset().union(*(methods for pattern, methods in self.patterns if pattern.match(path)))


def allow_header(methods: frozenset[str]) -> str:
    return ", ".join(sorted(methods, key=lambda m: (_ORDER.index(m) if m in _ORDER else len(_ORDER), m)))


def method_not_allowed(method: str, allowed: frozenset[str]) -> JSONResponse:
    """The 405 answer, with every method of the path in `Allow` and in the message."""
    allow = allow_header(allowed)
    return error_response(405, "method_not_allowed",
                          f"{method[:_LONGEST_METHOD]} is not allowed here; this path allows {allow}.",
                          headers={"Allow": allow})


def _route_path(scope: Scope) -> str:
    """The path the routes see (without the app's root path, as Starlette's router strips it)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _table(app: FastAPI) -> RouteMethods:
    table: RouteMethods | None = getattr(app.state, "route_methods", None)
    if table is None:  # made at the first request, when every route is in
        table = app.state.route_methods = RouteMethods.of(app.routes)
    return table


class ActionPaths:
    """ASGI middleware: a method a path without parameters does not have answers 405 before routing,
    rather than reaching a route with a parameter that happens to match the path."""

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self._owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            own = _table(self._owner).literal.get(_route_path(scope))
            if own is not None and scope["method"] not in own:
                await method_not_allowed(scope["method"], own)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _complete_405(request: Request, exc: Exception) -> JSONResponse:
    allowed = _table(request.app).allowed(_route_path(request.scope))
    if not allowed:  # a path this table cannot read (a mounted app): what the raiser said, if anything
        said = getattr(exc, "headers", None) or {}
        allowed = frozenset(m.strip() for m in said.get("Allow", "").split(",") if m.strip())
    return method_not_allowed(request.method, allowed)


def install(app: FastAPI) -> None:
    """Answer every 405 of `app` with the path's complete `Allow`. Add it before the middleware that
    should see such requests first (rate limit, body limit, CORS preflights)."""
    app.add_exception_handler(405, _complete_405)
    app.add_middleware(ActionPaths, owner=app)
