"""/openapi.json, completed so that every answer the gateway gives is described by it.

Routes declare their success shapes and the errors particular to them. This adds, in one place, what
is true of every operation: any status it does not list answers the error envelope (a `default`
response: a body that is not JSON, a rate limit, a failure); every listed error status whose route
gave only a description gets the error envelope as its body; and the envelope is always JSON, also on
routes whose success is plain text, and also for 422 (FastAPI would describe its own `detail` shape,
which the gateway never sends). The fuzz test (tests/api/test_fuzz.py) checks the result against the
running gateway.

It also documents the API key on every operation whose route declares a scope (a `require(scope)`
dependency, waqtor/api/deps.py): that dependency reads the key from the request itself, so FastAPI
does not see the `X-API-Key` header and `apiKey` query schemes it accepts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from waqtor.api.deps import api_key_header, api_key_query
from waqtor.api.schemas import ErrorEnvelope

try:  # re-exported (`as`) for waqtor.api.methods, which reads the same routes
    from fastapi.routing import iter_route_contexts as iter_route_contexts
except ImportError:  # a FastAPI whose app.routes are the routes themselves, included routers flattened
    # The installed FastAPI's function takes and yields its own RouteContext, which older releases lack.
    def iter_route_contexts(routes: Sequence[Any]) -> Iterator[Any]:  # type: ignore[misc]  # signature differs
        return iter(routes)

REF = "#/components/schemas/{model}"
ERROR_CONTENT = {"application/json": {"schema": {"$ref": REF.format(model="ErrorEnvelope")}}}
# Schemas that stand for the gateway's error envelope (FastAPI's 422 model is replaced by it).
_ERROR_REFS = {REF.format(model="ErrorEnvelope"), REF.format(model="HTTPValidationError")}
DEFAULT_ERROR = {
    "description": "Any other error: `{\"success\": false, \"error\": {\"code\", \"message\", \"requestId\"}}` "
                   "(see docs/api-reference.md for the codes).",
    "content": ERROR_CONTENT,
}


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the error envelope to every operation of `schema` (in place); returns it."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    envelope = ErrorEnvelope.model_json_schema(ref_template=REF)
    components.update(envelope.pop("$defs", {}))
    components["ErrorEnvelope"] = envelope
    for path in schema.get("paths", {}).values():
        for method, operation in path.items():
            if method.startswith("x-") or not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, response in responses.items():
                if status[:1] in ("4", "5") and _is_error(response):
                    response["content"] = ERROR_CONTENT
            responses.setdefault("default", DEFAULT_ERROR)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _is_error(response: dict[str, Any]) -> bool:
    """Whether `response` describes the error envelope (or nothing at all)."""
    content = response.get("content") or {}
    return all(media.get("schema", {}).get("$ref") in _ERROR_REFS for media in content.values())


KEY_SCHEMES = (api_key_header, api_key_query)


def _scoped(route: Any) -> bool:
    """Whether `route` declares the scope a key needs (one of its dependencies has a `scope`)."""
    return any(hasattr(depends.dependency, "scope") for depends in getattr(route, "dependencies", ()))


def document_keys(schema: dict[str, Any], routes: list[BaseRoute]) -> dict[str, Any]:
    """Add the API key schemes to every operation of the scoped `routes` (in place), as FastAPI does
    for `Security` dependencies; returns `schema`."""
    requirements: list[dict[str, list[str]]] = [{scheme.scheme_name: []} for scheme in KEY_SCHEMES]
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    for scheme in KEY_SCHEMES:
        described = jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
        schemes.setdefault(scheme.scheme_name, described)
    paths = schema.get("paths", {})
    for route in iter_route_contexts(routes):
        if not isinstance(getattr(route, "original_route", route), APIRoute) or not route.include_in_schema:
            continue
        if not _scoped(route):
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                present = operation.setdefault("security", [])
                present[:0] = [item for item in requirements if item not in present]
    return schema


def install(app: FastAPI) -> None:
    """Make `app.openapi()` (and so /openapi.json and /docs) return the completed schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(document_keys(build(), app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to replace the schema
