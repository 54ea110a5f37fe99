"""`POST /api/chats/{chat}/read` and `/presence`: read receipts and typing (`waqtor.messaging.chats`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.schemas import ERROR_RESPONSES, FORWARD_RESPONSES, Envelope, ErrorEnvelope
from waqtor.messaging import phones
from waqtor.sessions.session import DEFAULT_SESSION

Chat = Annotated[str, Path(min_length=1, max_length=64, description="The chat: a phone number in any format, or a "
                                                                    "chat id (`…@s.whatsapp.net`, `…@g.us`, `…@lid`).")]

router = APIRouter(prefix="/api/chats", tags=["chats"], dependencies=[Depends(require("send"))],
                   responses={**ERROR_RESPONSES, **FORWARD_RESPONSES,
                              400: {"model": ErrorEnvelope, "description": "`invalid_phone`: not a phone or chat id."},
                              409: {"model": ErrorEnvelope, "description": "`session_not_ready`."},
                              502: {"model": ErrorEnvelope, "description": "WhatsApp refused."}})


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session: str = Field(DEFAULT_SESSION, min_length=1, max_length=64, description="Session whose chat it is.")


class PresenceIn(ReadIn):
    state: Literal["typing", "recording", "paused"] = Field(
        description="typing: \"typing…\"; recording: \"recording audio…\"; paused: neither any more.")


class ChatOut(BaseModel):
    session: str
    chat: str = Field(description="The chat id.")


class ReadOut(ChatOut):
    marked: int = Field(description="Received messages marked read now (0: none was unread).")


class PresenceOut(ChatOut):
    state: Literal["typing", "recording", "paused"]


@router.post("/{chat}/read", response_model=Envelope[ReadOut], summary="Mark a chat's received messages read")
async def mark_read(gateway: GatewayDep, identity: IdentityDep, chat: Chat,
                    body: ReadIn | None = None) -> dict[str, Any]:
    body = body or ReadIn()
    identity.check_session(body.session)
    jid = phones.normalize(chat, gateway.settings.default_region).jid
    return {"success": True, "data": await gateway.messages.chats.mark_read(body.session, jid)}


@router.post(
    "/{chat}/presence", response_model=Envelope[PresenceOut], summary="Show typing or recording in a chat",
    responses={422: {"model": ErrorEnvelope, "description": "`not_supported_by_engine` (Cloud API), or "
                                                            "`validation_error`."}},
)
async def presence(gateway: GatewayDep, identity: IdentityDep, chat: Chat, body: PresenceIn) -> dict[str, Any]:
    identity.check_session(body.session)
    jid = phones.normalize(chat, gateway.settings.default_region).jid
    return {"success": True, "data": await gateway.messages.chats.presence(body.session, jid, body.state)}
