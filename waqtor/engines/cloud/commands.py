"""What Meta's webhook calls do to a Cloud API session, as session commands: they run on the instance
that runs the session (`waqtor.sessions.router`; Meta may call any instance behind the load balancer),
with JSON arguments and answers (the body base64-encoded)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from waqtor.engines.base import CommandTarget, EngineCommand
from waqtor.errors import SessionNotFound

if TYPE_CHECKING:  # pywa loads in about a second: only Cloud API sessions import the engine
    from waqtor.engines.cloud.engine import CloudEngine


def _engine(session: CommandTarget) -> CloudEngine:
    from waqtor.engines.cloud.engine import CloudEngine

    if not isinstance(session.engine, CloudEngine):
        raise SessionNotFound(session.name)
    return session.engine


async def verify(session: CommandTarget, args: dict[str, Any]) -> dict[str, Any]:
    """Meta's subscription check: the challenge echoed when the verify token is the session's."""
    return {"answer": await _engine(session).verify_webhook(args.get("mode"), args.get("token"), args.get("challenge"))}


async def deliver(session: CommandTarget, args: dict[str, Any]) -> dict[str, Any]:
    """A delivery of messages and statuses, processed when its signature is the session's app secret's."""
    await _engine(session).handle_webhook(base64.b64decode(args["body"]), args.get("signature"))
    return {}


COMMANDS: dict[str, EngineCommand] = {"cloud.verify": verify, "cloud.deliver": deliver}
