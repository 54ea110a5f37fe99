"""pywa's updates in, the gateway's engine events out; the session settings checked and masked. Pure."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from waqtor.engines.base import AccountInfo, ContactCard, MessageIn, MessageStatus
from waqtor.errors import InvalidInput

MASK = "********"
SECRETS = ("token", "appSecret", "verifyToken")
USER_SERVER = "s.whatsapp.net"

# Meta's Graph API error codes that mean the token itself is refused (expired, revoked, wrong app).
TOKEN_ERROR_CODES = frozenset({0, 3, 10, 190, 200})
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


def message_in(message: Any) -> MessageIn:
    """A received pywa Message as MessageIn."""
    kind = str(message.type)
    text = message.text if kind == "text" else getattr(message, "caption", None)
    media: dict[str, Any] | None = None
    part = getattr(message, kind, None) if kind in ("image", "video", "audio", "document", "sticker") else None
    if part is not None:
        if kind == "audio" and getattr(part, "voice", False):
            kind = "voice"
        media = {"mimetype": getattr(part, "mime_type", None), "id": getattr(part, "id", None)}
        if kind == "document":
            media["fileName"] = getattr(part, "filename", None)
    elif kind == "reaction" and message.reaction is not None:
        text = message.reaction.emoji
        media = {"messageId": message.reaction.message_id}
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


def cloud_contact(card: ContactCard) -> Any:
    """pywa's Contact for a contact card: its name and every number of its vCard."""
    from pywa.types.others import Contact

    from waqtor.messaging import vcard

    phones = [Contact.Phone(phone=number, type="CELL", wa_id=waid) for number, waid in vcard.phones(card.vcard)]
    return Contact(name=Contact.Name(formatted_name=card.display_name, first_name=card.display_name), phones=phones)
