"""Typed dependencies shared by the routers: the gateway, and who the caller is and may do.

Every /api route declares the one scope it needs with `dependencies=[Depends(require(scope))]` (see
waqtor/access/scopes.py and the table in docs/api-reference.md). The dependency authenticates the key
(401 `unauthorized`), refuses a caller with too many recent failures (429 `too_many_failed_auth`),
checks the scope (403 `insufficient_scope`) and, for routes about one session, that the key may reach
that session (403 `forbidden_session`). Routes that need the caller's identity take `IdentityDep`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, APIKeyQuery

from waqtor.access.scopes import Identity
from waqtor.errors import Unauthorized
from waqtor.gateway import Gateway
from waqtor.sessions.session import DEFAULT_SESSION

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
api_key_query = APIKeyQuery(
    name="apiKey", auto_error=False, description="An API key as a query parameter (prefer the header)."
)


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway  # set by the app's lifespan, before any request
    return gateway


async def gateway_dependency(request: Request) -> Gateway:
    # async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread hop on every
    # request that cost the state endpoint about a third of its CPU time (bench/profiles.md).
    return get_gateway(request)


GatewayDep = Annotated[Gateway, Depends(gateway_dependency)]


def presented_key(header: str | None, query: str | None) -> str | None:
    """The key a caller presented: the header wins over the query parameter."""
    return header or query


def client_address(request_client: tuple[str, int] | None) -> str:
    return request_client[0] if request_client else "unknown"


async def authenticate(gateway: Gateway, address: str, key: str | None) -> Identity:
    """The identity of `key`; Unauthorized when it is missing or refused, RateLimited
    (`too_many_failed_auth`) while `address` has failed too often."""
    gateway.throttle.check(address)
    identity = await gateway.keys.verify(key)
    if identity is None:
        await gateway.throttle.failed(address)
        if key is None:
            raise Unauthorized("An API key is required: send it in the X-API-Key header or the apiKey query parameter.")
        raise Unauthorized("The API key was refused.")
    return identity


SessionFrom = Literal["path", "default"] | None


def key_of(request: Request) -> str | None:
    """The key a request presents, read as `api_key_header` and `api_key_query` read it (an empty value
    counts as none): the `X-API-Key` header, else the `apiKey` query parameter."""
    headers: list[tuple[bytes, bytes]] = request.scope["headers"]  # ASGI: (name, value) byte pairs
    for name, value in headers:
        if name == b"x-api-key":
            if value:
                return value.decode("latin-1")
            break
    return request.query_params.get("apiKey") or None


class ScopeCheck:
    """A route's scope dependency (see `require`); its `scope` tells waqtor.api.openapi and the docs
    check which scope the route asks for."""

    def __init__(self, scope: str, session: SessionFrom) -> None:
        self.scope = scope
        self.session = session
        self.__name__ = f"require_{scope}" + (f"_{session}_session" if session else "")

    async def __call__(self, request: Request) -> Identity:
        identity = await authenticate(get_gateway(request), client_address(request.client), key_of(request))
        identity.require(self.scope)
        if self.session == "path":
            identity.check_session(request.path_params["name"])
        elif self.session == "default":
            identity.check_session(DEFAULT_SESSION)
        request.state.identity = identity
        return identity


def require(scope: str, session: SessionFrom = None) -> ScopeCheck:
    """The dependency that admits a caller with `scope`; with `session="path"` the caller must also
    reach the session named by the `{name}` path parameter, with `"default"` the default session.

    It reads the key from the request itself rather than through `Security(api_key_header)` and
    `Security(api_key_query)` sub-dependencies: FastAPI's solving of those was about a seventh of the
    CPU time of a cheap GET (bench/profiles.md). waqtor.api.openapi documents both schemes on every
    operation whose route has a dependency with a `scope`."""
    return ScopeCheck(scope, session)


async def current_identity(request: Request) -> Identity:
    """The identity the route's scope dependency admitted (it runs before the route's parameters)."""
    identity: Identity = request.state.identity
    return identity


IdentityDep = Annotated[Identity, Depends(current_identity)]
