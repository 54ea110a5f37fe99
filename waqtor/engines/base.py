"""What a session drives, and what an engine tells the session.

An engine is one WhatsApp account's connection. The gateway creates one per session, gives it an
`EngineContext` (its name, a sink for its events, a small store for its link, the settings) and calls
`start`, `stop`, `logout` and `send`. The engine reports everything that happens through
`await ctx.emit(event)`, with one of the event classes below; it never touches the session state itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from waqtor.config import Settings
    from waqtor.engines.workers.pool import WorkerPool

log = logging.getLogger(__name__)

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
    """A message received by the account, or (`from_me`) one the account sent from the phone or another
    linked device. `id` is WhatsApp's id; `chat` and `sender` are JIDs a send can go to (the phone's
    `<digits>@s.whatsapp.net` when known, else `<lid>@lid`); `type` is text, image, video, audio, voice,
    document, location, contact, sticker, reaction, poll or reply; `text` the text, caption or chosen
    reply's title.

    - `media`, when the message carries a file, is `{"data": bytes, "mimetype": str | None, "fileName":
      str | None}`: the gateway stores the bytes (detecting the type from them) and logs the message
      with a reference. Without `data`, `media["error"]` says why the file is missing.
    - `content`: the details of a location (`latitude`, `longitude`, `name`, `address`), a contact
      (`displayName`, `vcard`, and `contacts`, every card, for several) or a reply (`id`, `title`,
      `kind`).
    - `reply_to`: the WhatsApp id of the message it answers: the message it quotes, or the message
      with the buttons or list of a reply."""

    id: str
    chat: str
    sender: str
    type: str
    text: str | None
    timestamp: datetime
    push_name: str | None = None
    media: dict[str, Any] | None = None
    from_me: bool = False
    content: dict[str, Any] | None = None
    reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class MessageEdited:
    """The message with WhatsApp id `id` in `chat` was edited by its sender (`from_me`: by the account,
    from the phone or another device); `text` is its new text or caption."""

    id: str
    chat: str
    text: str | None
    timestamp: datetime
    sender: str | None = None
    from_me: bool = False


@dataclass(frozen=True, slots=True)
class MessageRevoked:
    """The message with WhatsApp id `id` in `chat` was deleted for everyone, `by` this JID (its sender,
    or a group admin; `from_me`: by the account)."""

    id: str
    chat: str
    timestamp: datetime
    by: str | None = None
    from_me: bool = False


@dataclass(frozen=True, slots=True)
class MessageReaction:
    """`sender` (`from_me`: the account, from the phone or another device) reacted with `emoji` to the
    message with WhatsApp id `id` in `chat`; an empty `emoji` takes their reaction away."""

    id: str
    chat: str
    sender: str
    emoji: str
    timestamp: datetime
    from_me: bool = False


@dataclass(frozen=True, slots=True)
class PollVote:
    """`sender` (`from_me`: the account, from the phone or another device) voted on the poll with WhatsApp
    id `id` in `chat`: `options` are the SHA-256 hashes (hex) of the option names chosen, as WhatsApp
    carries them (`poll_option_hash`); none takes their vote away. A voter's latest vote replaces the
    earlier one."""

    id: str
    chat: str
    sender: str
    options: tuple[str, ...]
    timestamp: datetime
    from_me: bool = False


def poll_option_hash(name: str) -> str:
    """How WhatsApp names a poll option in a vote: the SHA-256 of its text (hex here)."""
    return hashlib.sha256(name.encode()).hexdigest()


def new_poll(question: str, options: Sequence[str], multiple: bool) -> dict[str, Any]:
    """A poll as the log keeps it (a message's `content`) before any vote: the running tally, with each
    voter's latest choice under `voters` (`waqtor.messaging.polls`)."""
    return {"question": question, "options": [{"name": name, "votes": 0} for name in options],
            "multiple": multiple, "voters": {}}


@dataclass(frozen=True, slots=True)
class PresenceUpdate:
    """What a contact shows: `sender` (a JID) is `available` (online) or `unavailable` (offline; `last_seen`
    when WhatsApp tells it), or in `chat` (their own chat with the account, or a group) is `typing`,
    `recording` a voice note, or `paused` (neither any more). For online and offline, `chat` is `sender`.
    Not logged: published as it comes (`presence_update`)."""

    chat: str
    sender: str
    state: str
    timestamp: datetime
    last_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """A status change of a message the account sent: sent, delivered, read, played or failed."""

    id: str
    status: str
    timestamp: datetime
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """Something is wrong that does not drop the connection (Meta's webhook deliveries refused, say):
    shown as the session's `lastError` until `Solved` with the same code, or the next (re)connect."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Solved:
    """The `Problem` with this code is over."""

    code: str


@dataclass(frozen=True, slots=True)
class Crashed:
    """A part of the engine died and it cannot go on (`reason` says what): the gateway stops it and
    starts a fresh one after a growing pause (`waqtor.sessions.restarts`)."""

    reason: str


EngineEvent = (Connecting | QRCode | Authenticated | Ready | Disconnected | LoggedOut | Problem | Solved | MessageIn
               | MessageStatus | MessageEdited | MessageRevoked | MessageReaction | Crashed | PresenceUpdate
               | PollVote)

# The events that go to the message service (the rest go to the session's monitor).
MessageEvent = MessageIn | MessageStatus | MessageEdited | MessageRevoked | MessageReaction | PollVote


# ---- what the gateway gives an engine ----------------------------------------------------------


MEDIA_TYPES = ("image", "video", "audio", "voice", "document")
CHAT_PRESENCES = ("typing", "recording", "paused")  # what `Engine.send_chat_presence` may show
OWN_PRESENCES = ("available", "unavailable")  # what `Engine.send_presence` may show


@dataclass(frozen=True, slots=True)
class OutgoingMedia:
    """A stored file to send: its local `path`, `kind` (image, video, audio, document) and the MIME
    type detected from its content."""

    id: str
    path: str
    kind: str
    mimetype: str
    size: int
    file_name: str


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class ContactCard:
    display_name: str
    vcard: str


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    """A WhatsApp message template approved in Meta's WhatsApp Manager: its `name`, `language` code
    (`en_US`) and `components` in Meta's shape (`{"type": "body", "parameters": [...]}` …)."""

    name: str
    language: str
    components: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Quoted:
    """The message a reply quotes, as the log has it: its WhatsApp `id`, its `sender` (a JID; None for
    one the account sent through the gateway), whether the account sent it (`from_me`), its `type` and
    its text or caption."""

    id: str
    sender: str | None
    from_me: bool
    type: str
    text: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingReaction:
    """A reaction of the account's to send: `emoji` (empty takes it away) on the message with WhatsApp id
    `message_id` in `chat`, sent by `sender` (a JID; None for the account's own message, `from_me`)."""

    chat: str
    message_id: str
    from_me: bool
    sender: str | None
    emoji: str


@dataclass(frozen=True, slots=True)
class PollSpec:
    """A poll to send: its `question`, 2 to 12 distinct `options`, and whether a voter may choose several
    (`multiple`) or one."""

    question: str
    options: tuple[str, ...]
    multiple: bool = False


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to send.

    - `to`: a normalised JID, `<digits>@s.whatsapp.net` for a person or `<id>@g.us` for a group.
    - `type`: `text`, `location`, `contact`, `template`, `poll`, or one of MEDIA_TYPES (`voice` is an audio
      shown as a voice note).
    - `text`: the body of a `text` message, or the caption of an image, video or document.
    - `reply_to`: the WhatsApp id of a message in the same chat to quote (optional), and `quoted` that
      message as the log has it (engines that send the quoted message along with the reply use it).
    - Exactly the part its type needs is set: `media` (a stored file; `media_bytes(media)` reads it,
      engines never fetch URLs themselves) for media types, `location`, `contact`, `template`, or `poll`.
    """

    to: str
    type: str = "text"
    text: str | None = None
    reply_to: str | None = None
    media: OutgoingMedia | None = None
    location: Location | None = None
    contact: ContactCard | None = None
    template: TemplateSpec | None = None
    quoted: Quoted | None = None
    poll: PollSpec | None = None


def media_bytes(media: OutgoingMedia) -> bytes:
    """The content of an outgoing media file; blocking, so engines call it in a thread. InvalidInput
    (`media_unreadable`) when the file cannot be read."""
    from waqtor.errors import InvalidInput

    try:
        with open(media.path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InvalidInput(f"cannot read media file {media.file_name!r}: {exc.strerror}",
                           code="media_unreadable") from None


@dataclass(frozen=True, slots=True)
class PairingCode:
    """A code to type on the phone instead of scanning the QR code, valid until `expires_at` (when the
    link attempt it belongs to ends; None when the engine cannot tell)."""

    code: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class SendResult:
    id: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class ContactProfile:
    """What WhatsApp shows of a contact: `name` (the business's verified name, else the push name the
    contact chose, when the account has seen it), `about` (the status text; None when hidden or unset) and
    whether it is a `business` account."""

    jid: str
    name: str | None
    about: str | None
    business: bool


@dataclass(frozen=True, slots=True)
class ProfilePicture:
    """A contact's profile picture: its bytes (`data`), or a public `url` the gateway downloads it from;
    `picture_id` is WhatsApp's id of this version of the picture, when it gives one."""

    data: bytes | None = None
    url: str | None = None
    picture_id: str | None = None


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
    # The gateway's engine worker processes, for engines that run there (waqtor.engines.workers).
    workers: WorkerPool | None = None


class Engine(ABC):
    """One WhatsApp account's connection. Methods raise `waqtor.errors` types, never the vendor's."""

    name: ClassVar[str]
    # Said by the QR routes instead of the usual "no QR" message, for engines that never show one.
    qr_note: ClassVar[str | None] = None
    # True when the vendor delivers again what the engine did not acknowledge (Meta's webhook): a failure
    # to handle a MessageIn or MessageStatus is then raised from `ctx.emit`, so the engine can refuse the
    # delivery; otherwise it is logged and the event dropped.
    redelivers: ClassVar[bool] = False

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._crash_report: asyncio.Task[None] | None = None

    def _without_file(self, message: MessageIn, reason: str) -> MessageIn:
        """`message` without its file, `reason` under media["error"] (and in the log): how an engine passes
        on a received file it could not fetch or keep. The message itself is never lost for it."""
        log.warning("session %s: message %s is logged without its %s: %s", self.ctx.session, message.id,
                    message.type, reason)
        return dataclasses.replace(message, media={**(message.media or {}), "error": reason})

    def report_crash(self, task: str, exc: BaseException) -> None:
        """A task of the engine's own died, so the engine cannot go on: tell the gateway (`Crashed`),
        which replaces the engine. Engines pass this as their TaskSet's `on_crash`; reported once."""
        if self._crash_report is None:
            reason = f"{task.rsplit(':', 1)[-1]} failed: {type(exc).__name__}: {exc}"
            loop = asyncio.get_running_loop()
            # ensure_future: `emit` is typed to return any awaitable, create_task takes only a coroutine.
            self._crash_report = asyncio.ensure_future(self.ctx.emit(Crashed(reason)), loop=loop)

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

    async def pair(self, phone: str) -> PairingCode:
        """Ask for a pairing code to link `phone` (digits) without a QR; returns the code to type on the
        phone and until when it can be typed. Conflict when the engine is not waiting for a link;
        InvalidInput when it has no pairing."""
        from waqtor.errors import InvalidInput

        raise InvalidInput(f"the {self.name} engine does not link with a pairing code", code="pairing_not_supported")

    async def forget(self) -> None:  # noqa: B027  a default that does nothing, not a missing override
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
        """Send `message`; SessionNotReady when not connected, EngineError when WhatsApp refuses it.
        Returning means WhatsApp accepted it (status `sent`); later steps (delivered, read, played,
        failed) arrive as `MessageStatus` events with the returned id."""

    async def is_on_whatsapp(self, jids: Sequence[str]) -> dict[str, bool] | None:
        """Which of `jids` (user JIDs, `<digits>@s.whatsapp.net`) have a WhatsApp account: an entry
        for each number WhatsApp answered for (one left out is unknown), or None when this engine
        cannot tell.

        The default is None ("cannot tell"), so an engine without the capability needs no code;
        callers then treat every number as unknown (campaigns send anyway). An engine that can tell
        raises SessionNotReady while it is not connected.
        """
        return None

    async def edit_message(self, chat: str, message_id: str, text: str) -> datetime:
        """Edit the text of the account's own message `message_id` (WhatsApp's id) in `chat` to `text`
        on WhatsApp; when WhatsApp took the edit. The gateway checks first that the message is the
        account's own sent text and within WhatsApp's edit window. NotSupportedByEngine by default;
        an engine that can edit raises SessionNotReady while it is not connected, EngineError when
        WhatsApp refuses."""
        from waqtor.errors import NotSupportedByEngine

        raise NotSupportedByEngine(self.name, "edit messages")

    async def revoke_message(self, chat: str, message_id: str) -> datetime:
        """Delete the account's own message `message_id` (WhatsApp's id) in `chat` for everyone on
        WhatsApp; when WhatsApp took the deletion. As `edit_message` otherwise."""
        from waqtor.errors import NotSupportedByEngine

        raise NotSupportedByEngine(self.name, "delete messages for everyone")

    async def mark_read(self, chat: str, messages: Sequence[tuple[str, str]]) -> None:
        """Tell WhatsApp the account read these received messages of `chat`: (WhatsApp id, sender JID)
        pairs, oldest first, at least one. NotSupportedByEngine by default; SessionNotReady while not
        connected, EngineError when WhatsApp refuses."""
        from waqtor.errors import NotSupportedByEngine

        raise NotSupportedByEngine(self.name, "mark messages read")

    async def send_chat_presence(self, chat: str, state: str) -> None:
        """Show the account `state` in `chat`: one of CHAT_PRESENCES (typing, recording a voice note, or
        paused: neither any more). As `mark_read` otherwise."""
        from waqtor.errors import NotSupportedByEngine

        raise NotSupportedByEngine(self.name, "show typing or recording in a chat")


    # ---- contacts (issue 18 item 8): engines without the capability refuse with NotSupportedByEngine ----

    async def check_numbers(self, jids: Sequence[str]) -> dict[str, str | None]:
        """For each of `jids` (`<digits>@s.whatsapp.net`) WhatsApp answered for: the JID of its account, or
        None when the number has none (one left out is unknown). The default answers from
        `is_on_whatsapp` (the JID is then the one asked for); NotSupportedByEngine when that cannot tell."""
        known = await self.is_on_whatsapp(jids)
        if known is None:
            raise _cannot(self.name, "check whether numbers are on WhatsApp")
        return {jid: jid if on else None for jid, on in known.items()}

    async def contact_profile(self, jid: str) -> ContactProfile:
        """The profile of the contact `jid`; SessionNotReady while not connected, InvalidInput
        (`not_on_whatsapp`) when it has no account, NotSupportedByEngine by default."""
        raise _cannot(self.name, "read contact profiles")

    async def profile_picture(self, jid: str) -> ProfilePicture | None:
        """The contact's profile picture, or None when it has none or hides it from the account;
        SessionNotReady while not connected, NotSupportedByEngine by default."""
        raise _cannot(self.name, "fetch profile pictures")

    async def set_blocked(self, jid: str, blocked: bool) -> None:
        """Block (or unblock) the contact `jid` for the account; SessionNotReady while not connected,
        NotSupportedByEngine by default."""
        raise _cannot(self.name, "block or unblock contacts")

    # ---- presence (issue 18 item 6) ----

    async def subscribe_presence(self, jid: str) -> None:
        """Ask WhatsApp to tell the account when the contact `jid` goes online or offline (as
        `PresenceUpdate` events; typing in a chat comes without asking). SessionNotReady while not
        connected, EngineError when WhatsApp refuses, NotSupportedByEngine by default."""
        raise _cannot(self.name, "subscribe to a contact's presence")

    async def send_presence(self, state: str) -> None:
        """Show the account as one of OWN_PRESENCES (`available`: online; `unavailable`: offline) to its
        contacts. As `subscribe_presence` otherwise."""
        raise _cannot(self.name, "set the account's own presence")

    async def react(self, reaction: OutgoingReaction) -> SendResult:
        """Send the account's reaction; SessionNotReady when not connected, EngineError when WhatsApp
        refuses it. The default: NotSupportedByEngine."""
        from waqtor.errors import NotSupportedByEngine

        raise NotSupportedByEngine(self.name, "send reactions")


def _cannot(engine: str, what: str) -> Exception:
    from waqtor.errors import NotSupportedByEngine

    return NotSupportedByEngine(engine, what)

class CommandTarget(Protocol):
    """What an engine's own session command (the sandbox's, the Cloud API webhook's) is handed: the
    session as the instance that runs it holds it (`waqtor.sessions.session.Session`)."""

    @property
    def name(self) -> str: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def status(self) -> str:
        """The session's status as its monitor last saw it."""
        ...


# An engine's session command: the JSON-ready answer, or a WaqtorError.
EngineCommand = Callable[[CommandTarget, dict[str, Any]], Awaitable[dict[str, Any]]]
