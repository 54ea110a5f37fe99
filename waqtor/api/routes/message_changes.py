"""`PATCH` and `DELETE /api/messages/{id}`: edit a sent message, delete it for everyone or take it out of the
log (`waqtor.messaging.changes` holds the rules)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from waqtor.access.scopes import Identity
from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.message_schemas import MessageOut
from waqtor.api.schemas import ERROR_RESPONSES, FORWARD_RESPONSES, Envelope, ErrorEnvelope
from waqtor.errors import NotFound
from waqtor.gateway import Gateway
from waqtor.storage.records import MessageRecord

MessageId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The message's id in the log.")]

router = APIRouter(prefix="/api/messages", tags=["messages"], dependencies=[Depends(require("send"))],
                   responses={**ERROR_RESPONSES, **FORWARD_RESPONSES,
                              404: {"model": ErrorEnvelope, "description": "`message_not_found`."}})


class EditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=65_536, description="The message's new text.")


class DeletedOut(BaseModel):
    id: int
    for_: Literal["everyone", "me"] = Field(serialization_alias="for")
    message: MessageOut | None = Field(description="The message as it now stands (deleted for everyone: "
                                                   "`revokedAt` set); null when it left the log (for me).")


async def _message(gateway: Gateway, identity: Identity, message_id: int) -> MessageRecord:
    record = await gateway.storage.messages.get(message_id)
    # Another session's message is as absent as a missing one: a limited key learns nothing of it.
    if record is None or not identity.may_see(record.session):
        raise NotFound(f"no message with id {message_id}", code="message_not_found")
    return record


@router.patch(
    "/{message_id}", response_model=Envelope[MessageOut], summary="Edit the text of a message the account sent",
    responses={409: {"model": ErrorEnvelope, "description": "`message_not_editable`, `edit_window_passed`, "
                     "`session_not_ready`."},
               422: {"model": ErrorEnvelope, "description": "`not_supported_by_engine` (Cloud API), or "
                     "`validation_error`."},
               502: {"model": ErrorEnvelope, "description": "WhatsApp refused the edit."}},
)
async def edit_message(gateway: GatewayDep, identity: IdentityDep, message_id: MessageId,
                       body: EditIn) -> dict[str, Any]:
    record = await _message(gateway, identity, message_id)
    return {"success": True, "data": await gateway.messages.changes.edit(record, body.text)}


@router.delete(
    "/{message_id}", response_model=Envelope[DeletedOut], response_model_by_alias=True,
    summary="Delete a message for everyone (on WhatsApp) or for me (from the log)",
    responses={409: {"model": ErrorEnvelope, "description": "`message_not_deletable`, `delete_window_passed`, "
                     "`session_not_ready`."},
               422: {"model": ErrorEnvelope, "description": "`not_supported_by_engine` (Cloud API, for everyone), "
                     "or `validation_error`."},
               502: {"model": ErrorEnvelope, "description": "WhatsApp refused the deletion."}},
)
async def delete_message(
    gateway: GatewayDep, identity: IdentityDep, message_id: MessageId,
    for_: Annotated[Literal["everyone", "me"], Query(alias="for", description=(
        "everyone: deleted on WhatsApp for everyone (the log keeps it, marked); me: taken out of the log "
        "only, WhatsApp is not told."))],
) -> dict[str, Any]:
    record = await _message(gateway, identity, message_id)
    changes = gateway.messages.changes
    if for_ == "everyone":
        message: dict[str, Any] | None = await changes.delete_for_everyone(record)
    else:
        await changes.delete_for_me(record)
        message = None
    return {"success": True, "data": {"id": record.id, "for_": for_, "message": message}}
