"""`GET /api/chats` and `GET /api/chats/{chat}/messages`: the conversations of the message log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from waqtor.api import cursors
from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.message_schemas import MessagePage, MessageSource, MessageStatus
from waqtor.api.routes.chat_actions import Chat
from waqtor.api.routes.message_log import Cursor, PageSize, message_page
from waqtor.api.schemas import ERROR_RESPONSES, Envelope, ErrorEnvelope
from waqtor.messaging import phones
from waqtor.messaging.views import chat_view
from waqtor.storage.messages import MessageFilter

Session = Annotated[str | None, Query(min_length=1, max_length=64, description="Only this session.")]

router = APIRouter(prefix="/api/chats", tags=["chats"], dependencies=[Depends(require("read"))],
                   responses={**ERROR_RESPONSES, 400: {"model": ErrorEnvelope,
                                                       "description": "`invalid_phone` (chat), `invalid_cursor`."}})


class LastMessageOut(BaseModel):
    id: int = Field(description="Its id in the log (`GET /api/messages/{message_id}` has all of it).")
    waId: str | None
    type: str
    body: str | None = Field(description="The text or caption, cut to 100 characters (… at the end); null without "
                                         "text, or when it was deleted for everyone.")
    direction: Literal["in", "out"]
    fromMe: bool
    source: MessageSource | None
    status: MessageStatus
    timestamp: str
    edited: bool = Field(description="It was edited (`body` is the new text).")
    revoked: bool = Field(description="It was deleted for everyone.")


class ChatRowOut(BaseModel):
    session: str
    chat: str = Field(description="The chat id (`…@s.whatsapp.net`, a group `…@g.us`, `…@lid`).")
    phone: str | None = Field(description="The person's number (E.164) for a `…@s.whatsapp.net` chat; else null.")
    name: str | None = Field(description="The latest name the contact sent with a message (its push name); null "
                                         "for a group, or when none came yet.")
    unread: int = Field(description="Received messages not marked read (and not deleted for everyone).")
    muted: bool | None = Field(description="Always null: no engine tells the gateway a chat's settings.")
    archived: bool | None = Field(description="Always null: no engine tells the gateway a chat's settings.")
    lastMessage: LastMessageOut


class ChatPage(BaseModel):
    chats: list[ChatRowOut]
    nextCursor: str | None = Field(description="Pass as `cursor` for the next page (older activity); null at the end.")


@router.get("", response_model=Envelope[ChatPage], summary="List the chats of the message log, newest activity first")
async def list_chats(
    gateway: GatewayDep,
    identity: IdentityDep,
    session: Session = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Chats per page.")] = 20,
    cursor: Cursor = None,
) -> dict[str, Any]:
    before = cursors.positive_int(cursor, "before", minimum=1) if cursor is not None else None
    rows = await gateway.storage.chats.page(identity.listing_session(session), before, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = cursors.encode({"before": rows[-1].last.id}) if more else None
    return {"success": True, "data": {"chats": [chat_view(row) for row in rows], "nextCursor": next_cursor}}


@router.get("/{chat}/messages", response_model=Envelope[MessagePage], summary="A chat's messages, newest first")
async def chat_messages(gateway: GatewayDep, identity: IdentityDep, chat: Chat, session: Session = None,
                        limit: PageSize = 50, cursor: Cursor = None) -> dict[str, Any]:
    jid = phones.normalize(chat, gateway.settings.default_region).jid
    where = MessageFilter(session=identity.listing_session(session), chat=jid)
    return await message_page(gateway, where, limit, cursor)
