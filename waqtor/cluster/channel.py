"""Commands between instances: a request (a JSON object) to one instance, its answer or its error.

The instance that receives a command for a session it does not run sends it to the instance that does
(`SessionManager.command`). A `CommandChannel` carries it: `RedisChannel` through the shared Redis, or
`LocalChannel` when there is none (one instance, nothing to carry). An error raised by the handler on
the far side comes back as the same kind of `WaqtorError` (status, code, message, details), so the
caller answers exactly as the owner would have.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from waqtor.errors import RateLimited, Unavailable, WaqtorError, kind_for_status

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def error_to_json(exc: WaqtorError) -> dict[str, Any]:
    return {"status": exc.status, "code": exc.code, "message": exc.message, "details": exc.details,
            "retryAfter": getattr(exc, "retry_after", None)}


def error_from_json(data: dict[str, Any]) -> WaqtorError:
    """The error a far handler raised, as a local exception of the same kind."""
    status, code, message = int(data["status"]), str(data["code"]), str(data["message"])
    retry = data.get("retryAfter")
    if status == 429:
        return RateLimited(message, retry_after=float(retry or 1), code=code)
    if status == 503:
        return Unavailable(message, retry_after=float(retry or 1), code=code, details=data.get("details"))
    return kind_for_status(status)(message, code=code, details=data.get("details"))


class CommandChannel(ABC):
    """Carries commands to other instances and runs the ones sent to this instance."""

    @abstractmethod
    async def start(self, handler: Handler) -> None:
        """Begin answering commands sent to this instance with `handler(request)`: its result, or the
        WaqtorError it raises."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop answering and release connections; idempotent."""

    @abstractmethod
    async def call(self, instance: str, request: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        """Run `request` on `instance`; its result, or the error its handler raised. Unavailable
        (`instance_unreachable`) when no answer comes within `timeout` (default: the channel's)."""

    async def healthy(self) -> bool:
        return True


class LocalChannel(CommandChannel):
    """No channel: this instance is alone (no shared Redis), so a session run elsewhere is unreachable."""

    async def start(self, handler: Handler) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def call(self, instance: str, request: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        raise Unavailable(
            f"the session runs on instance {instance}, which this instance cannot reach: several instances need "
            "a shared Redis (WAQTOR_BUS_URL=redis://...)",
            code="instance_unreachable",
        )
