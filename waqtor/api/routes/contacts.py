"""`/api/contacts/...`: ask WhatsApp about people through a session's account: whether numbers are on
WhatsApp, a contact's profile and picture, and block or unblock one (waqtor.messaging.contacts).

Every route works on one session (`session` in the body or the query, `default` when left out). The Cloud
API offers none of it: those sessions answer 422 `not_supported_by_engine`, whatever their state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.message_schemas import MediaOut
from waqtor.api.schemas import ERROR_RESPONSES, FORWARD_RESPONSES, Envelope, ErrorDetail, ErrorEnvelope
from waqtor.messaging.contacts import MAX_CHECK
from waqtor.sessions.session import DEFAULT_SESSION

CONTACT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"model": ErrorEnvelope, "description": "`session_not_found`."},
    409: {"model": ErrorEnvelope, "description": "`session_not_ready`: the session is not connected."},
    422: {"model": ErrorEnvelope, "description": "`not_supported_by_engine` (the Cloud API engine), or "
          "`validation_error`."},
    502: {"model": ErrorEnvelope, "description": "WhatsApp refused or failed the question (`whatsapp_error`)."},
    **FORWARD_RESPONSES,
}
PERSON: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "`invalid_phone`: not a person's phone number; "
          "`not_on_whatsapp`: the number has no WhatsApp account."},
}

router = APIRouter(prefix="/api/contacts", tags=["contacts"], responses=CONTACT_ERRORS)

PhonePath = Annotated[str, Path(min_length=1, max_length=64, description="The person: a phone number in any "
                                "format (international with + or 00, or national in WAQTOR_DEFAULT_REGION).")]
SessionQuery = Annotated[str, Query(min_length=1, max_length=64, description="The session whose account asks.")]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session: str = Field(DEFAULT_SESSION, min_length=1, max_length=64, description="The session whose account asks.")
    phones: list[str] = Field(min_length=1, max_length=MAX_CHECK, description=f"1 to {MAX_CHECK} phone numbers, "
                              "in any format.")


class CheckOut(BaseModel):
    input: str = Field(description="The entry as it was sent.")
    phone: str | None = Field(description="The number in E.164 (`+4915112345678`); null when the entry is none.")
    onWhatsApp: bool | None = Field(description="Whether the number has a WhatsApp account; null when unknown "
                                    "(an invalid entry, or WhatsApp did not answer for it).")
    jid: str | None = Field(description="The account's WhatsApp id, to send to; null without an account.")
    error: ErrorDetail | None = Field(None, description="Why the entry is not a phone number (`invalid_phone`).")


class ProfileOut(BaseModel):
    phone: str
    jid: str
    name: str | None = Field(description="The verified business name, else the name the contact chose "
                             "(its push name) when the account has seen it.")
    about: str | None = Field(description="The contact's about text; null when unset or hidden.")
    business: bool = Field(description="A WhatsApp Business account.")


class PictureOut(BaseModel):
    phone: str
    jid: str
    pictureId: str | None = Field(description="WhatsApp's id of this version of the picture, when it tells.")
    media: MediaOut = Field(description="The picture in the media store: download it from its `url`.")


class SubscribedOut(BaseModel):
    phone: str
    jid: str
    subscribed: bool = Field(description="Always true: WhatsApp now tells the account when the contact goes "
                             "online or offline (`presence_update` events), until the connection drops.")


class BlockOut(BaseModel):
    phone: str
    jid: str
    blocked: bool


@router.post("/check", response_model=Envelope[list[CheckOut]], summary="Check which numbers are on WhatsApp",
             dependencies=[Depends(require("read"))])
async def check(gateway: GatewayDep, identity: IdentityDep, body: CheckIn) -> dict[str, Any]:
    identity.check_session(body.session)
    return {"success": True, "data": await gateway.contacts.check(body.session, body.phones)}


@router.get("/{phone}", response_model=Envelope[ProfileOut], summary="A contact's name, about text and kind",
            dependencies=[Depends(require("read"))], responses=PERSON)
async def profile(gateway: GatewayDep, identity: IdentityDep, phone: PhonePath,
                  session: SessionQuery = DEFAULT_SESSION) -> dict[str, Any]:
    identity.check_session(session)
    return {"success": True, "data": await gateway.contacts.profile(session, phone)}


@router.get("/{phone}/picture", response_model=Envelope[PictureOut], summary="A contact's profile picture",
            dependencies=[Depends(require("read"))],
            responses={**PERSON, 404: {"model": ErrorEnvelope, "description": "`no_picture`: the contact has none "
                                       "or hides it from the account; `session_not_found`."}})
async def picture(gateway: GatewayDep, identity: IdentityDep, phone: PhonePath,
                  session: SessionQuery = DEFAULT_SESSION) -> dict[str, Any]:
    identity.check_session(session)
    return {"success": True, "data": await gateway.contacts.picture(session, phone)}


@router.post("/{phone}/block", response_model=Envelope[BlockOut], summary="Block a contact",
             dependencies=[Depends(require("control"))], responses=PERSON)
async def block(gateway: GatewayDep, identity: IdentityDep, phone: PhonePath,
                session: SessionQuery = DEFAULT_SESSION) -> dict[str, Any]:
    identity.check_session(session)
    return {"success": True, "data": await gateway.contacts.block(session, phone, True)}


@router.post("/{phone}/unblock", response_model=Envelope[BlockOut], summary="Unblock a contact",
             dependencies=[Depends(require("control"))], responses=PERSON)
async def unblock(gateway: GatewayDep, identity: IdentityDep, phone: PhonePath,
                  session: SessionQuery = DEFAULT_SESSION) -> dict[str, Any]:
    identity.check_session(session)
    return {"success": True, "data": await gateway.contacts.block(session, phone, False)}


@router.post("/{phone}/presence/subscribe", response_model=Envelope[SubscribedOut],
             summary="Be told when a contact goes online or offline", dependencies=[Depends(require("read"))],
             responses=PERSON)
async def subscribe_presence(gateway: GatewayDep, identity: IdentityDep, phone: PhonePath,
                             session: SessionQuery = DEFAULT_SESSION) -> dict[str, Any]:
    identity.check_session(session)
    return {"success": True, "data": await gateway.contacts.subscribe_presence(session, phone)}
