"""What a session drives, and what an engine tells the session.

An engine is one WhatsApp account's connection. The gateway creates one per session, gives it an
`EngineContext` (its name, a sink for its events, a small store for its link, the settings) and calls
`start`, `stop`, `logout` and `send`. The engine reports everything that happens through
`await ctx.emit(event)`, with one of the event classes below; it never touches the session state itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from waqtor.config import Settings


# ---- events an engine emits -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connecting:
    """The engine is opening its connection."""


@dataclass(frozen=True, slots=True)
class QRCode:
    """A new QR code to scan; it stops being valid at `expires_at`."""

    code: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The phone accepted the link (or a stored link was restored)."""


@dataclass(frozen=True, slots=True)
class AccountInfo:
    phone: str
    pushname: str | None
    platform: str | None
    platform_raw: str | None = None


@dataclass(frozen=True, slots=True)
class Ready:
    """Connected and able to send, as `account`."""

    account: AccountInfo


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection dropped; `reconnecting` says whether the engine will try again by itself."""

    code: str
    message: str
    reconnecting: bool
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoggedOut:
    """The link is gone (unlinked from the phone, or by the gateway); a new QR is needed."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MessageIn:
    """A message received by the account."""

    id: str
    chat: str
    sender: str
    type: str
    text: str | None
    timestamp: datetime
    push_name: str | None = None
    media: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """A status change of a message the account sent: sent, delivered, read, played or failed."""

    id: str
    status: str
    timestamp: datetime
    error: str | None = None


EngineEvent = Connecting | QRCode | Authenticated | Ready | Disconnected | LoggedOut | MessageIn | MessageStatus


# ---- what the gateway gives an engine ----------------------------------------------------------


MEDIA_TYPES = ("image", "video", "audio", "voice", "document")


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to send.

    - `to`: a normalised JID, `<digits>@s.whatsapp.net` for a person or `<id>@g.us` for a group.
    - `type`: `text`, or one of MEDIA_TYPES (`voice` is an audio shown as a voice note).
    - `text`: the body of a `text` message (required for it); ignored for media (use the caption).
    - `reply_to`: id of a message in the same chat to quote (optional).
    - `media`: required for media types, None for text. A dict with these keys:

          data      bytes | None   the file's content, or
          path      str | None     a readable local file (exactly one of `data` and `path`)
          mime      str            its MIME type, e.g. "image/jpeg", "application/pdf"
          filename  str | None     the name shown for a document
          caption   str | None     the text shown under an image, video or document

      `media_bytes(media)` reads either form; engines never fetch URLs themselves.
    """

    to: str
    type: str = "text"
    text: str | None = None
    reply_to: str | None = None
    media: dict[str, Any] | None = None


def media_bytes(media: dict[str, Any]) -> bytes:
    """The content of an OutgoingMessage's `media` (reads `path` when there is no `data`); blocking, so
    engines call it in a thread. InvalidInput when neither is usable."""
    from waqtor.errors import InvalidInput

    data = media.get("data")
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    path = media.get("path")
    if isinstance(path, str) and path:
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise InvalidInput(f"cannot read media file {path!r}: {exc.strerror}", code="media_unreadable") from None
    raise InvalidInput("media needs `data` (bytes) or `path` (a local file)", code="media_missing")


@dataclass(frozen=True, slots=True)
class SendResult:
    id: str
    timestamp: datetime


class EngineStore(ABC):
    """Where an engine keeps what it needs to restore its link without a new QR."""

    @abstractmethod
    async def load(self) -> dict[str, Any] | None:
        """The saved data, or None."""

    @abstractmethod
    async def save(self, data: dict[str, Any] | None) -> None:
        """Replace the saved data (None forgets it)."""


@dataclass(frozen=True, slots=True)
class EngineContext:
    session: str
    emit: Callable[[EngineEvent], Awaitable[None]]
    store: EngineStore
    settings: Settings
    config: dict[str, Any] = field(default_factory=dict)


class Engine(ABC):
    """One WhatsApp account's connection. Methods raise `waqtor.errors` types, never the vendor's."""

    name: ClassVar[str]
    # Said by the QR routes instead of the usual "no QR" message, for engines that never show one.
    qr_note: ClassVar[str | None] = None

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The engine's settings for one session, checked; InvalidInput when they are wrong. Engines
        without settings accept only an empty dict."""
        from waqtor.errors import InvalidInput

        if config:
            raise InvalidInput(f"the {cls.name} engine takes no settings (got {', '.join(sorted(config))})",
                               code="invalid_engine_config")
        return {}

    @classmethod
    def public_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """`config` as the API may show it: secrets masked."""
        return dict(config)

    async def pair(self, phone: str) -> str:
        """Ask for a pairing code to link `phone` (digits) without a QR; returns the code to type on the
        phone. Conflict when the engine is not waiting for a link; InvalidInput when it has no pairing."""
        from waqtor.errors import InvalidInput

        raise InvalidInput(f"the {self.name} engine does not link with a pairing code", code="pairing_not_supported")

    async def forget(self) -> None:
        """Remove what the engine keeps outside the session row (called on a stopped engine when its
        session is deleted). Engines that keep nothing elsewhere have nothing to do."""

    @abstractmethod
    async def start(self) -> None:
        """Begin connecting (restoring a stored link when there is one); returns without waiting for it."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect and release every resource, keeping the link; idempotent."""

    @abstractmethod
    async def logout(self) -> None:
        """Unlink the account and forget the stored link; the engine then offers a new QR."""

    @abstractmethod
    async def send(self, message: OutgoingMessage) -> SendResult:
        """Send `message`; SessionNotReady when not connected, EngineError when WhatsApp refuses it."""
