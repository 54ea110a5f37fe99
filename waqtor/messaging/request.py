"""A send as a caller asks for it, before anything is checked: the recipient as written, the text or
caption as a template, and where a file comes from. `MessageService.send_request` turns it into a
`Draft` (waqtor.messaging.draft) and sends it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass

from waqtor.engines.base import Location, PollSpec, TemplateSpec
from waqtor.messaging.mime import Kind


@dataclass(frozen=True, slots=True)
class ContactRequest:
    """A contact card: a whole vCard, or a name and a phone number (any format) to build one from."""

    vcard: str | None = None
    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class MediaFromUrl:
    """A file to download: its URL, the name shown to the recipient, and the kind asked for."""

    url: str
    file_name: str | None = None
    kind: Kind | None = None


@dataclass(frozen=True, slots=True)
class MediaUpload:
    """A file the caller uploads: its bytes as they arrive, its name and the kind asked for."""

    chunks: AsyncIterator[bytes]
    file_name: str | None = None
    kind: Kind | None = None


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """A file the gateway keeps already, by its id; with `sessions` (a key limited to them) only a file
    of their messages and campaigns."""

    id: str
    sessions: Collection[str] | None = None


MediaSource = MediaFromUrl | MediaUpload | StoredMedia


@dataclass(frozen=True, slots=True)
class SendRequest:
    """One message to send on `session` to `to` (a phone number in any format, or a chat id). `text` is
    the text, or the caption of a file; with `variables` it is a template filled for the recipient.
    At most one of `location`, `contact`, `media`, `template` and `poll` (a WhatsApp message template, which
    only some engines can send); none of them is a text message."""

    session: str
    to: str
    text: str | None = None
    variables: Mapping[str, object] | None = None
    reply_to: str | None = None
    location: Location | None = None
    contact: ContactRequest | None = None
    media: MediaFromUrl | MediaUpload | None = None  # a message's file is new: never one stored already
    template: TemplateSpec | None = None
    typing: float = 0.0  # seconds of "typing…" before a text is sent (0: none)
    poll: PollSpec | None = None  # a poll (only some engines can send one)
