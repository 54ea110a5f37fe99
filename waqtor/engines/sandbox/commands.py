"""What the sandbox routes do to a simulated account, as session commands: they run on the instance
that runs the session (`waqtor.sessions.router`), with JSON arguments and answers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from waqtor.clock import iso_ms
from waqtor.engines.base import CommandTarget, EngineCommand
from waqtor.engines.sandbox.contacts import ContactBehaviour
from waqtor.engines.sandbox.engine import SandboxEngine
from waqtor.errors import InvalidInput


def not_sandbox(name: str) -> InvalidInput:
    return InvalidInput(f"session {name!r} does not run on the sandbox engine", code="not_sandbox")


def _engine(session: CommandTarget) -> SandboxEngine:
    if not isinstance(session.engine, SandboxEngine):
        raise not_sandbox(session.name)
    return session.engine


async def scan(session: CommandTarget, args: dict[str, Any]) -> dict[str, Any]:
    account = await _engine(session).scan(phone=args.get("phone"), pushname=args.get("pushname"))
    return {"phone": account.phone, "pushname": account.pushname, "platform": account.platform}


async def inbound(session: CommandTarget, args: dict[str, Any]) -> dict[str, Any]:
    engine = _engine(session)
    kind = args.get("kind") or "message"
    from_me = bool(args.get("fromMe"))
    sender = str(args["from"])
    if kind == "edit":
        edited = await engine.edit(sender, str(args["messageId"]), str(args["body"]), from_me=from_me)
        return {"id": edited.id, "from": edited.sender, "body": edited.text, "type": None,
                "timestamp": iso_ms(edited.timestamp), "kind": kind, "fromMe": from_me}
    if kind == "react":
        reaction = await engine.react_from(sender, str(args["messageId"]), str(args["emoji"]), from_me=from_me)
        return {"id": reaction.id, "from": reaction.sender, "body": reaction.emoji, "type": None,
                "timestamp": iso_ms(reaction.timestamp), "kind": kind, "fromMe": from_me}
    if kind == "vote":
        vote = await engine.vote_from(sender, str(args["messageId"]), list(args["options"]), from_me=from_me)
        return {"id": vote.id, "from": vote.sender, "body": None, "type": None,
                "timestamp": iso_ms(vote.timestamp), "kind": kind, "fromMe": from_me}
    if kind == "revoke":
        revoked = await engine.revoke(sender, str(args["messageId"]), from_me=from_me)
        return {"id": revoked.id, "from": revoked.by, "body": None, "type": None,
                "timestamp": iso_ms(revoked.timestamp), "kind": kind, "fromMe": from_me}
    media = args.get("media")
    attached = (base64.b64decode(media["data"]), media.get("fileName")) if media else None
    message = await engine.inbound(sender, args.get("body"), attached, from_me=from_me,
                                   contacts=args.get("contacts"), reply=args.get("reply"),
                                   reply_to=args.get("replyTo"))
    return {"id": message.id, "from": message.sender, "body": message.text, "type": message.type,
            "timestamp": iso_ms(message.timestamp), "kind": kind, "fromMe": from_me}


async def contact(session: CommandTarget, args: dict[str, Any]) -> dict[str, Any]:
    behaviour = ContactBehaviour(on_whatsapp=bool(args["onWhatsApp"]), reply=args.get("reply"), fail=args.get("fail"),
                                 error=str(args["error"]), reads=bool(args["reads"]), name=args.get("name"),
                                 about=args.get("about"), business=bool(args.get("business")),
                                 picture=bool(args.get("picture", True)))
    _engine(session).set_contact(str(args["jid"]), behaviour)
    return {"jid": args["jid"], "onWhatsApp": behaviour.on_whatsapp, "reply": behaviour.reply,
            "fail": behaviour.fail, "error": behaviour.error, "reads": behaviour.reads, "name": behaviour.name,
            "about": behaviour.about, "business": behaviour.business, "picture": behaviour.picture}


async def presence(session: CommandTarget, args: dict[str, Any]) -> dict[str, Any]:
    seen = args.get("lastSeen")
    update = await _engine(session).presence_from(str(args["from"]), str(args["state"]),
                                                  datetime.fromisoformat(seen).astimezone(UTC) if seen else None)
    return {"from": update.sender, "chat": update.chat, "state": update.state,
            "lastSeen": iso_ms(update.last_seen) if update.last_seen else None,
            "timestamp": iso_ms(update.timestamp)}


async def fail(session: CommandTarget, args: dict[str, Any]) -> dict[str, Any]:
    await _engine(session).fail(args["kind"])
    return {"kind": args["kind"], "status": session.status}


COMMANDS: dict[str, EngineCommand] = {"sandbox.scan": scan, "sandbox.inbound": inbound, "sandbox.contact": contact,
                                      "sandbox.fail": fail, "sandbox.presence": presence}
