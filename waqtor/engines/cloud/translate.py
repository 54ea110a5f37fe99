"""pywa's updates in, the gateway's engine events out; the session settings checked and masked. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from waqtor.engines.base import AccountInfo, ContactCard, MessageIn, MessageReaction, MessageStatus
from waqtor.errors import InvalidInput

MASK = "********"
SECRETS = ("token", "appSecret", "verifyToken")
USER_SERVER = "s.whatsapp.net"

# Meta's Graph API error codes that mean the token itself is refused (expired, revoked, wrong app).
TOKEN_ERROR_CODES = frozenset({0, 3, 10, 190, 200})
# Meta's Graph API error codes of its own rate limits (calls per hour, the account's or a pair's sends).
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131056})
# Message types whose file the gateway fetches from Meta and keeps (voice is audio sent as a voice note).
DOWNLOADABLE = frozenset({"image", "video", "audio", "voice", "document", "sticker"})


class CloudConfig(BaseModel):
    """One Cloud API number: its phone number id and the secrets Meta gave for it."""

    model_config = ConfigDict(extra="forbid")

    phoneId: str = Field(pattern=r"^[0-9]{5,32}$", description="The phone number id (not the phone number).")
    token: str = Field(min_length=8, max_length=4096, description="A system-user access token.")
    appSecret: str = Field(min_length=8, max_length=256, description="The app secret that signs webhooks.")
    verifyToken: str = Field(min_length=8, max_length=256, description="Echoed by Meta to verify the webhook URL.")


def validate_config(config: dict[str, Any]) -> dict[str, Any]:
    """The settings as a plain dict; InvalidInput naming every wrong or missing one (never their values)."""
    try:
        return CloudConfig.model_validate(config).model_dump()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
                             for err in exc.errors(include_input=False))
        raise InvalidInput(f"invalid cloud engine settings: {problems}", code="invalid_engine_config") from None


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    """The settings with every secret replaced by a mask."""
    return {key: (MASK if key in SECRETS and value else value) for key, value in config.items()}


def digits(phone: str | None) -> str:
    return "".join(ch for ch in phone or "" if ch.isdigit())


def account(number: Any) -> AccountInfo:
    """The account described by pywa's BusinessPhoneNumber."""
    raw = getattr(number, "platform_type", None)
    return AccountInfo(
        phone=digits(number.display_phone_number),
        pushname=number.verified_name or None,
        platform="cloud api",
        platform_raw=str(raw) if raw else "CLOUD_API",
    )


def _user_jid(user: Any) -> str:
    # Users who hide their number behind a WhatsApp username are known only by their business-scoped id.
    if getattr(user, "wa_id", None):
        return f"{user.wa_id}@{USER_SERVER}"
    return str(user.bsuid)


def message_in(message: Any) -> MessageIn | MessageReaction:
    """A received pywa Message as MessageIn (`reply_to`: the message it quotes), or a reaction to a message
    as MessageReaction (an emoji of None, a removal, becomes "")."""
    kind = str(message.type)
    if kind == "reaction" and message.reaction is not None:
        reactor = _user_jid(message.from_user)
        return MessageReaction(id=message.reaction.message_id, chat=reactor, sender=reactor,
                               emoji=message.reaction.emoji or "", timestamp=message.timestamp)
    text = message.text if kind == "text" else getattr(message, "caption", None)
    media: dict[str, Any] | None = None
    part = getattr(message, kind, None) if kind in ("image", "video", "audio", "document", "sticker") else None
    if part is not None:
        if kind == "audio" and getattr(part, "voice", False):
            kind = "voice"
        media = {"mimetype": getattr(part, "mime_type", None), "id": getattr(part, "id", None)}
        if kind == "document":
            media["fileName"] = getattr(part, "filename", None)
    elif kind == "location" and message.location is not None:
        text = getattr(message.location, "name", None)
        media = {"latitude": message.location.latitude, "longitude": message.location.longitude}
    sender = _user_jid(message.from_user)
    return MessageIn(
        id=message.id,
        chat=sender,
        sender=sender,
        type=kind,
        text=text,
        timestamp=message.timestamp,
        push_name=message.from_user.name,
        media=media,
        reply_to=message.reply_to_message.id if message.reply_to_message is not None else None,
    )


def status(update: Any) -> MessageStatus:
    """A pywa MessageStatus as the gateway's: sent, delivered, read, played or failed."""
    error = None
    if update.error is not None:
        error = f"{update.error.message} (code {update.error.code})"
    return MessageStatus(id=update.id, status=str(update.status), timestamp=update.timestamp, error=error)


def token_refused(code: int, status_code: int | None) -> bool:
    """Whether a Graph API error means the access token is refused (not a passing failure)."""
    return status_code == 401 or code in TOKEN_ERROR_CODES


@dataclass(frozen=True, slots=True)
class _Language:
    value: str  # all pywa reads of a template's language


def template_language(code: str) -> Any:
    """pywa's TemplateLanguage for `code` (`en_US`), or a stand-in with the same `value` for a code pywa
    does not list yet (Meta adds languages)."""
    from pywa.types.templates import TemplateLanguage

    try:
        return TemplateLanguage(code)
    except (ValueError, TypeError):  # pywa 4.5's lookup of an unknown member raises TypeError
        return _Language(code)


def cloud_contact(card: ContactCard) -> Any:
    """pywa's Contact for a contact card: its name and every number of its vCard."""
    from pywa.types.others import Contact

    from waqtor.messaging import vcard

    phones = [Contact.Phone(phone=number, type="CELL", wa_id=waid) for number, waid in vcard.phones(card.vcard)]
    return Contact(name=Contact.Name(formatted_name=card.display_name, first_name=card.display_name), phones=phones)


def throttled(code: int) -> bool:
    """Whether a Graph API error is one of Meta's rate limits (send again later, more slowly)."""
    return code in RATE_LIMIT_CODES


def retry_hint(headers: Any) -> float | None:
    """The pause a Graph API answer asks for (its Retry-After in seconds), or None when it gives none."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < 86_400 else None


def _bad_body(what: str) -> InvalidInput:
    return InvalidInput(f"the webhook body is not a WhatsApp Business Account delivery: {what}",
                        code="invalid_webhook_body")


def _contacts_for(contacts: Any, ids: tuple[Any, ...]) -> Any:
    """The contact entries of the user an item is about (by `wa_id` or `user_id`); all of them when none
    matches (pywa reads the first)."""
    if not isinstance(contacts, list):
        return contacts
    mine = [c for c in contacts if isinstance(c, dict) and (c.get("wa_id") in ids or c.get("user_id") in ids)]
    return mine or contacts


def split_delivery(body: bytes) -> list[bytes]:
    """One webhook delivery as single updates, in order: one per message and per status of every change
    of every entry (other changes as they are), each shaped as Meta's delivery of one item, which is what
    pywa reads (`entry[0].changes[0]`, the first message or status). InvalidInput
    (`invalid_webhook_body`) when the body is not JSON or not shaped as a delivery."""
    try:
        update = json.loads(body)
    except ValueError:
        raise InvalidInput("the webhook body is not JSON", code="invalid_webhook_body") from None
    if not isinstance(update, dict) or not isinstance(update.get("entry"), list):
        raise _bad_body("expected an object with an `entry` list")
    pieces: list[bytes] = []
    for e, entry in enumerate(update["entry"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("changes", []), list):
            raise _bad_body(f"entry[{e}] is not an object with a `changes` list")
        head = {key: value for key, value in entry.items() if key != "changes"}
        for c, change in enumerate(entry.get("changes", [])):
            if not isinstance(change, dict) or not isinstance(change.get("field"), str) \
                    or not isinstance(change.get("value"), dict):
                raise _bad_body(f"entry[{e}].changes[{c}] is not an object with a `field` and a `value` object")
            value: dict[str, Any] = change["value"]
            items: list[dict[str, Any]] = []
            for key, ids in (("messages", ("from", "from_user_id")), ("statuses", ("recipient_id",
                                                                                     "recipient_user_id"))):
                listed = value.get(key)
                if change["field"] != "messages" or listed is None:
                    continue
                if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
                    raise _bad_body(f"entry[{e}].changes[{c}].value.{key} is not a list of objects")
                rest = {k: v for k, v in value.items() if k not in ("messages", "statuses")}
                for item in listed:
                    own = tuple(item.get(name) for name in ids if item.get(name))
                    items.append({**rest, key: [item], "contacts": _contacts_for(value.get("contacts"), own)}
                                 if "contacts" in value else {**rest, key: [item]})
            for piece in items or [value]:
                single = {**update, "entry": [{**head, "changes": [{**change, "value": piece}]}]}
                pieces.append(json.dumps(single).encode())
    return pieces
