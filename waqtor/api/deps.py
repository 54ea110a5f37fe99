"""Typed dependencies shared by the routers: the gateway and the API-key check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, APIKeyQuery

from waqtor.errors import Unauthorized

if TYPE_CHECKING:
    from waqtor.app import Gateway

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The gateway's API key.")
api_key_query = APIKeyQuery(
    name="apiKey", auto_error=False, description="The API key as a query parameter (prefer the header)."
)


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


async def gateway_dependency(request: Request) -> Gateway:
    # async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread hop on every
    # request that cost the state endpoint about a third of its CPU time (bench/profiles.md).
    return get_gateway(request)


GatewayDep = Annotated["Gateway", Depends(gateway_dependency)]


def presented_key(header: str | None, query: str | None) -> str | None:
    """The key a caller presented: the header wins over the query parameter."""
    return header or query


async def require_key(
    request: Request,
    header: Annotated[str | None, Security(api_key_header)],
    query: Annotated[str | None, Security(api_key_query)],
) -> None:
    """Refuse the request with 401 `unauthorized` unless it carries the gateway's key."""
    key = presented_key(header, query)
    if key is None:
        raise Unauthorized("An API key is required: send it in the X-API-Key header or the apiKey query parameter.")
    if not get_gateway(request).keys.verify(key):
        raise Unauthorized("The API key was refused.")
