"""A message to send, already checked, and its JSON form (a send is carried to the instance that runs
the session as JSON)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from waqtor.engines.base import ContactCard, Location, PollSpec, TemplateSpec
from waqtor.messaging.phones import Recipient
from waqtor.storage.records import MediaRecord


@dataclass(frozen=True, slots=True)
class Draft:
    """A message to send, already checked: the recipient, its type and the part that type needs."""

    to: Recipient
    type: str = "text"
    text: str | None = None
    media: MediaRecord | None = None
    location: Location | None = None
    contact: ContactCard | None = None
    reply_to: str | None = None
    template: TemplateSpec | None = None
    typing: float = 0.0  # seconds of "typing…" shown in the chat before it is sent (text messages)
    poll: PollSpec | None = None


def draft_to_json(draft: Draft) -> dict[str, Any]:
    """The draft as JSON; its media by id (the file and its row are shared by every instance)."""
    return {
        "to": {"jid": draft.to.jid, "phone": draft.to.phone},
        "type": draft.type,
        "text": draft.text,
        "media": draft.media.id if draft.media is not None else None,
        "location": dataclasses.asdict(draft.location) if draft.location is not None else None,
        "contact": ({"displayName": draft.contact.display_name, "vcard": draft.contact.vcard}
                    if draft.contact is not None else None),
        "replyTo": draft.reply_to,
        "template": template_json(draft.template) if draft.template is not None else None,
        "typing": draft.typing,
        "poll": ({"question": draft.poll.question, "options": list(draft.poll.options), "multiple": draft.poll.multiple}
                 if draft.poll is not None else None),
    }


def template_json(template: TemplateSpec) -> dict[str, Any]:
    """A template as JSON: carried to another instance, and kept as a logged message's content."""
    return {"name": template.name, "language": template.language, "components": list(template.components)}


def template_from_json(data: dict[str, Any]) -> TemplateSpec:
    return TemplateSpec(str(data["name"]), str(data["language"]), tuple(data.get("components") or ()))


async def draft_from_json(data: dict[str, Any], media: Callable[[str], Awaitable[MediaRecord]]) -> Draft:
    """The draft `draft_to_json` wrote; `media(id)` finds its stored file (NotFound when it is gone)."""
    location, contact, template = data.get("location"), data.get("contact"), data.get("template")
    poll = data.get("poll")
    return Draft(
        to=Recipient(jid=str(data["to"]["jid"]), phone=data["to"].get("phone")),
        type=str(data["type"]),
        text=data.get("text"),
        media=await media(str(data["media"])) if data.get("media") else None,
        location=Location(**location) if location else None,
        contact=ContactCard(contact["displayName"], contact["vcard"]) if contact else None,
        reply_to=data.get("replyTo"),
        template=template_from_json(template) if template else None,
        typing=float(data.get("typing") or 0.0),
        poll=PollSpec(str(poll["question"]), tuple(poll["options"]), bool(poll["multiple"])) if poll else None,
    )
