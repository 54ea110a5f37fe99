"""`GET /api/messages…`: read the message log — filter, page, look one up, export."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from waqtor.api import cursors
from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.exports import export_answer
from waqtor.api.message_schemas import MessageOut, MessagePage, MessageSource, MessageStatus
from waqtor.api.schemas import ERROR_RESPONSES, Envelope, ErrorEnvelope
from waqtor.errors import NotFound
from waqtor.exports import csv_text
from waqtor.messaging import phones
from waqtor.messaging.views import EXPORT_COLUMNS, export_row, message_view
from waqtor.storage.messages import MessageFilter

EXPORT_BATCH = 500

router = APIRouter(prefix="/api/messages", tags=["messages"], dependencies=[Depends(require("read"))],
                   responses={**ERROR_RESPONSES,
                              400: {"model": ErrorEnvelope,
                                    "description": "`invalid_phone` (chat), `invalid_cursor`."}})


def _utc(value: datetime | None) -> datetime | None:
    """In UTC (a time without zone is UTC); a time beyond what UTC can hold is its end of time."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if value.year > 1 else datetime.min.replace(tzinfo=UTC)


def log_filter(
    gateway: GatewayDep,
    identity: IdentityDep,
    session: Annotated[str | None, Query(min_length=1, max_length=64, description="Only this session.")] = None,
    direction: Annotated[Literal["in", "out"] | None, Query(description="in: received; out: sent.")] = None,
    chat: Annotated[str | None, Query(min_length=1, max_length=64,
                                      description="Only this chat: a phone number or chat id.")] = None,
    status: Annotated[MessageStatus | None, Query(description="Only messages in this status.")] = None,
    since: Annotated[datetime | None, Query(description="From this time on (ISO 8601; UTC when no zone).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time (ISO 8601; UTC when no zone).")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200,
                                   description="Text or caption contains this (any case).")] = None,
    source: Annotated[MessageSource | None, Query(description="Only messages from here: api (the send routes), "
                                                  "campaign, phone (the account's phone or another linked device) "
                                                  "or contact (received).")] = None,
) -> MessageFilter:
    jid = phones.normalize(chat, gateway.settings.default_region).jid if chat is not None else None
    session = identity.listing_session(session)
    return MessageFilter(session=session, direction=direction, chat=jid, status=status, since=_utc(since),
                         until=_utc(until), q=q, source=source)


FilterDep = Annotated[MessageFilter, Depends(log_filter)]
PageSize = Annotated[int, Query(ge=1, le=500, description="Messages per page.")]
Cursor = Annotated[str | None, Query(max_length=200, description="nextCursor of the previous page.")]


@router.get("", response_model=Envelope[MessagePage], summary="List and search the message log")
async def list_messages(
    gateway: GatewayDep,
    where: FilterDep,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    return await message_page(gateway, where, limit, cursor)


async def message_page(gateway: GatewayDep, where: MessageFilter, limit: int, cursor: str | None) -> dict[str, Any]:
    """The answer of a page of the log, newest first (also `GET /api/chats/{chat}/messages`)."""
    before = cursors.positive_int(cursor, "before", minimum=1) if cursor is not None else None
    rows = await gateway.storage.messages.page(where, before, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = cursors.encode({"before": rows[-1].id}) if more else None
    return {"success": True, "data": {"messages": [message_view(r) for r in rows], "nextCursor": next_cursor}}


@router.get(
    "/export",
    response_class=StreamingResponse,
    summary="Export the message log as CSV or JSON Lines (streamed)",
    responses={200: {"description": "The matching messages, oldest first.",
                     "content": {"text/csv": {"schema": {"type": "string"}},
                                 "application/x-ndjson": {"schema": {"type": "string"}}}},
               429: {"model": ErrorEnvelope,
                     "description": "`too_many_exports`: the key has WAQTOR_EXPORTS_PER_KEY exports streaming."}},
)
async def export_messages(
    gateway: GatewayDep,
    identity: IdentityDep,
    where: FilterDep,
    format: Annotated[Literal["csv", "jsonl"], Query(description="csv or jsonl (one JSON object a line).")] = "csv",
) -> StreamingResponse:
    repo = gateway.storage.messages

    async def jsonl_chunks() -> AsyncIterator[str]:
        async for batch in repo.stream(where, EXPORT_BATCH):
            yield "".join(json.dumps(message_view(r), ensure_ascii=False) + "\n" for r in batch)

    async def chunks() -> AsyncIterator[str]:
        if format == "csv":
            return csv_text(EXPORT_COLUMNS, repo.stream(where, EXPORT_BATCH), export_row)
        return jsonl_chunks()

    stamp = gateway.clock().strftime("%Y%m%dT%H%M%SZ")
    return await export_answer(gateway.exports, identity, chunks,
                               media_type="text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson",
                               filename=f"messages-{stamp}.{format}")


@router.get("/{message_id}", response_model=Envelope[MessageOut], summary="One message of the log",
            responses={404: {"model": ErrorEnvelope, "description": "`message_not_found`."}})
async def get_message(
    gateway: GatewayDep, identity: IdentityDep,
    message_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="The message's id.")],
) -> dict[str, Any]:
    record = await gateway.storage.messages.get(message_id)
    # Another session's message is as absent as a missing one: a limited key learns nothing of it.
    if record is None or not identity.may_see(record.session):
        raise NotFound(f"no message with id {message_id}", code="message_not_found")
    return {"success": True, "data": message_view(record)}
