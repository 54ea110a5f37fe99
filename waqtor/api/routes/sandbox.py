"""`/api/sandbox/*`: drive the simulated accounts and their contacts. Mounted only when the sandbox is offered
(default engine `sandbox`, or WAQTOR_SANDBOX_ENABLED=true). Each action runs on the instance that runs the
session (`waqtor.engines.sandbox.commands`)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from waqtor.access.scopes import Identity
from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.schemas import ERROR_RESPONSES, FORWARD_RESPONSES, Envelope
from waqtor.engines.sandbox.commands import not_sandbox
from waqtor.engines.sandbox.contacts import DEFAULT_ERROR
from waqtor.gateway import Gateway
from waqtor.messaging import phones, vcard
from waqtor.messaging.reactions import is_emoji
from waqtor.sessions.session import DEFAULT_SESSION

router = APIRouter(prefix="/api/sandbox", tags=["sandbox"], dependencies=[Depends(require("control"))],
                   responses={**ERROR_RESPONSES, 409: {"description": "The sandbox is not in a state for this."},
                              **FORWARD_RESPONSES})

PHONE = r"^\+?[0-9]{6,15}$"
SENDER = r"^(\+?[0-9]{6,15}|[0-9]{5,20}@lid)$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session: str = Field(DEFAULT_SESSION, description="Session to act on.")


class ScanIn(_Body):
    phone: str | None = Field(None, pattern=PHONE, description="Phone of the simulated account (digits).")
    pushname: str | None = Field(None, min_length=1, max_length=128)


class InboundMedia(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: str = Field(min_length=4, max_length=32_000_000, description="The file, base64-encoded.")
    fileName: str | None = Field(None, min_length=1, max_length=255)

    @field_validator("data")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ValueError("not base64") from None
        return value


class InboundContact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vcard: str = Field(min_length=1, max_length=10_000, description="The contact card (vCard 3.0 text).")


class InboundReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=256, description="The id of the button or list row chosen.")
    title: str = Field(min_length=1, max_length=1024, description="What the person tapped.")
    kind: Literal["button", "list"] = Field("button", description="A button or a list row.")


class InboundIn(_Body):
    from_: str = Field(alias="from", pattern=SENDER,
                       description="The contact: a phone number (digits, optional +) or a WhatsApp privacy id "
                                   "(`<digits>@lid`). With `fromMe`, the chat the account's phone wrote to.")
    kind: Literal["message", "edit", "revoke", "react", "vote"] = Field(
        "message", description="message: a new message; edit: its sender edits message `messageId` to `body`; "
                               "revoke: its sender deletes message `messageId` for everyone; react: the contact "
                               "reacts with `emoji` to message `messageId` of the chat (\"\" removes it); vote: "
                               "the contact votes for `options` on the poll `messageId` ([] takes the vote away).")
    fromMe: bool = Field(False, description="Written on the account's own phone, not by the contact.")
    messageId: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[0-9A-Za-z]+$",
                                  description="The WhatsApp id (`waId`) of the message to edit, delete, react to "
                                              "or vote on.")
    body: str | None = Field(None, min_length=1, max_length=65_536,
                             description="The text, the caption, or an edit's new text.")
    media: InboundMedia | None = Field(None, description="A file the sender attaches.")
    contacts: list[InboundContact] | None = Field(None, min_length=1, max_length=10,
                                                  description="Contact cards the sender shares.")
    reply: InboundReply | None = Field(None, description="A tap on a button or a list row of an earlier message.")
    replyTo: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[0-9A-Za-z]+$",
                                description="A message quoting this one: the WhatsApp id (`waId`) of a message of "
                                            "the chat.")
    emoji: str | None = Field(None, max_length=32, description="A reaction's emoji; \"\" removes the reaction.")
    options: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        None, max_length=12, description="A vote's answers, as the poll names them; [] takes the vote away.")

    @model_validator(mode="after")
    def _something(self) -> InboundIn:
        parts = [name for name in ("media", "contacts", "reply") if getattr(self, name) is not None]
        if self.kind != "message" and self.replyTo is not None:
            raise ValueError(f"replyTo: a {self.kind} quotes no message")
        if (self.kind == "react") != (self.emoji is not None):
            raise ValueError("emoji: Field required for a react" if self.kind == "react"
                             else f"emoji: a {self.kind} carries no emoji")
        if (self.kind == "vote") != (self.options is not None):
            raise ValueError("options: Field required for a vote" if self.kind == "vote"
                             else f"options: a {self.kind} carries no options")
        if self.emoji and not is_emoji(self.emoji):
            raise ValueError("emoji: must be exactly one emoji, or \"\" to remove the reaction")
        if self.kind == "message":
            if self.messageId is not None:
                raise ValueError("messageId: only an edit, a revoke, a reaction or a vote names a message")
            if len(parts) > 1:
                raise ValueError(f"{parts[1]}: a message carries one of media, contacts or reply")
            if self.body is None and not parts:
                raise ValueError("body: Field required (or a media file, contacts or a reply)")
            if self.body is not None and parts and parts[0] != "media":
                raise ValueError(f"body: a message with {parts[0]} has no body")
            return self
        if self.messageId is None:
            raise ValueError(f"messageId: Field required for a {self.kind}")
        if parts:
            raise ValueError(f"{parts[0]}: a {self.kind} carries no {parts[0]}")
        if self.kind == "edit" and self.body is None:
            raise ValueError("body: Field required for an edit (the new text)")
        if self.kind in ("revoke", "react", "vote") and self.body is not None:
            raise ValueError(f"body: a {self.kind} carries no body")
        return self


class ContactIn(_Body):
    phone: str = Field(min_length=1, max_length=64, description="The contact: any phone format, or a chat id.")
    onWhatsApp: bool = Field(True, description="False: sends to it are refused with not_on_whatsapp.")
    reply: str | None = Field(None, min_length=1, max_length=4096, description="Answer every message with this.")
    fail: Literal["send", "delivery"] | None = Field(
        None, description="send: the engine refuses sends; delivery: accepted, then failed."
    )
    error: str = Field(DEFAULT_ERROR, min_length=1, max_length=500, description="The failure's reason.")
    reads: bool = Field(True, description="False: messages stop at delivered.")
    name: str | None = Field(None, min_length=1, max_length=128, description="Its profile name (push name).")
    about: str | None = Field(None, min_length=1, max_length=500, description="Its about text.")
    business: bool = Field(False, description="A WhatsApp Business account.")
    picture: bool = Field(True, description="False: it has no profile picture (or hides it): 404 no_picture.")


class ContactOut(BaseModel):
    jid: str
    onWhatsApp: bool
    reply: str | None
    fail: Literal["send", "delivery"] | None
    error: str
    reads: bool
    name: str | None
    about: str | None
    business: bool
    picture: bool


class FailIn(_Body):
    kind: Literal["disconnect", "logout", "temporary_ban", "crash"] = Field(
        description="disconnect: a dropped connection; temporary_ban: WhatsApp bans the account for "
                    "WAQTOR_SANDBOX_RECONNECT_DELAY seconds; logout: the phone unlinks the device; crash: "
                    "the engine itself fails, and the gateway starts a fresh one after a pause."
    )


class AccountOut(BaseModel):
    phone: str
    pushname: str | None
    platform: str | None


class InboundOut(BaseModel):
    id: str = Field(description="The message's WhatsApp id (of the message edited or deleted, for those).")
    from_: str = Field(serialization_alias="from", description="Its sender (the account, with `fromMe`).")
    body: str | None = Field(description="The text, the caption, an edit's new text, or a reaction's emoji.")
    type: str | None = Field(description="The message's type; null for an edit, a revoke, a reaction or a vote.")
    timestamp: str
    kind: Literal["message", "edit", "revoke", "react", "vote"]
    fromMe: bool


class PresenceIn(_Body):
    from_: str = Field(alias="from", pattern=SENDER,
                       description="The contact: a phone number (digits, optional +) or a WhatsApp privacy id "
                                   "(`<digits>@lid`).")
    state: Literal["available", "unavailable", "typing", "recording", "paused"] = Field(
        description="available: the contact comes online; unavailable: it goes offline; typing, recording "
                    "(a voice note) or paused (neither any more): in its chat with the account.")
    lastSeen: AwareDatetime | None = Field(None, description="For `unavailable`: when the contact was last "
                                                             "online (left out: it hides it).")

    @model_validator(mode="after")
    def _seen_when_offline(self) -> PresenceIn:
        if self.lastSeen is not None and self.state != "unavailable":
            raise ValueError(f"lastSeen: only a contact going unavailable has one (not {self.state})")
        return self


class PresenceOut(BaseModel):
    from_: str = Field(serialization_alias="from", description="The contact's JID.")
    chat: str
    state: str
    lastSeen: str | None
    timestamp: str


class FailOut(BaseModel):
    kind: str
    status: str


async def _command(gateway: Gateway, identity: Identity, name: str, op: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run a sandbox command where the session runs; InvalidInput (`not_sandbox`) for another engine."""
    identity.check_session(name)
    if (await gateway.sessions.state_of(name)).engine != "sandbox":
        raise not_sandbox(name)
    return await gateway.sessions.command(name, op, args)


@router.post("/scan", response_model=Envelope[AccountOut], summary="Link the simulated phone (scan the QR)")
async def scan(gateway: GatewayDep, identity: IdentityDep, body: ScanIn | None = None) -> dict[str, Any]:
    body = body or ScanIn()
    args = {"phone": body.phone.lstrip("+") if body.phone else None, "pushname": body.pushname}
    return {"success": True, "data": await _command(gateway, identity, body.session, "sandbox.scan", args)}


@router.post("/inbound", response_model=Envelope[InboundOut], response_model_by_alias=True,
             summary="Deliver an incoming message, or an edit, deletion, reaction or poll vote",
             responses={404: {"description": "`message_not_found`: the sandbox carried no such message."}})
async def inbound(gateway: GatewayDep, identity: IdentityDep, body: InboundIn) -> dict[str, Any]:
    media = {"data": body.media.data, "fileName": body.media.fileName} if body.media is not None else None
    contacts = [{"displayName": vcard.display_name(card.vcard), "vcard": card.vcard} for card in body.contacts or []]
    args = {"from": body.from_.lstrip("+"), "body": body.body, "media": media, "kind": body.kind,
            "fromMe": body.fromMe, "messageId": body.messageId, "contacts": contacts or None,
            "reply": body.reply.model_dump() if body.reply is not None else None, "replyTo": body.replyTo,
            "emoji": body.emoji, "options": body.options}
    data = await _command(gateway, identity, body.session, "sandbox.inbound", args)
    data["from_"] = data.pop("from")
    return {"success": True, "data": data}


@router.post("/contacts", response_model=Envelope[ContactOut], summary="Set how a simulated contact behaves")
async def contacts(gateway: GatewayDep, identity: IdentityDep, body: ContactIn) -> dict[str, Any]:
    jid = phones.normalize(body.phone, gateway.settings.default_region).jid
    args = {"jid": jid, "onWhatsApp": body.onWhatsApp, "reply": body.reply, "fail": body.fail, "error": body.error,
            "reads": body.reads, "name": body.name, "about": body.about, "business": body.business,
            "picture": body.picture}
    return {"success": True, "data": await _command(gateway, identity, body.session, "sandbox.contact", args)}


@router.post("/presence", response_model=Envelope[PresenceOut], response_model_by_alias=True,
             summary="Have a contact go online or offline, or type in its chat")
async def presence(gateway: GatewayDep, identity: IdentityDep, body: PresenceIn) -> dict[str, Any]:
    args = {"from": body.from_.lstrip("+"), "state": body.state,
            "lastSeen": body.lastSeen.isoformat() if body.lastSeen is not None else None}
    data = await _command(gateway, identity, body.session, "sandbox.presence", args)
    data["from_"] = data.pop("from")
    return {"success": True, "data": data}


@router.post("/fail", response_model=Envelope[FailOut], summary="Inject a fault")
async def fail(gateway: GatewayDep, identity: IdentityDep, body: FailIn) -> dict[str, Any]:
    answer = await _command(gateway, identity, body.session, "sandbox.fail", {"kind": body.kind})
    return {"success": True, "data": answer}
