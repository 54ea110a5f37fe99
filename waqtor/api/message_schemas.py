"""Request and response shapes of the message and media routes, so /openapi.json says exactly what
they take and answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from waqtor.sessions.session import DEFAULT_SESSION

MediaKind = Literal["image", "video", "audio", "document"]
MessageStatus = Literal["queued", "sent", "delivered", "read", "played", "failed", "received"]
def _storable(values: dict[str, str | int | float]) -> dict[str, str | int | float]:
    # A union lets lone surrogates (\ud800) through JSON parsing; no database stores them as UTF-8.
    for name, value in values.items():
        try:
            f"{name}{value}".encode()
        except UnicodeEncodeError:
            raise ValueError(f"variable {name!r} is not valid Unicode text") from None
    return values


Variables = Annotated[dict[str, str | int | float], AfterValidator(_storable)]

TO = "Recipient: a phone number in any common format (+49 151 1234567, 0049…, a local number with "
TO += "WAQTOR_DEFAULT_REGION) or a chat id (…@s.whatsapp.net, a group …@g.us)."
# A message to quote: the log's id (a number; in a form, digits) or a WhatsApp id (`3EB0…`, `wamid.…`).
ReplyRef = Annotated[int, Field(ge=1, le=2**63 - 1, strict=True)] | Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[0-9A-Za-z._:=+/-]+$")]

VARIABLES = "Fill the text as a template ({name}, {phone}, {date}, {time}, any custom field); a "
VARIABLES += "variable with no value is refused (missing_variables). Without it the text is sent as written."


# ---- requests -------------------------------------------------------------------------------------


class _Send(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=1, max_length=64, description=TO)
    session: str = Field(DEFAULT_SESSION, min_length=1, max_length=64, description="Session that sends it.")
    replyTo: ReplyRef | None = Field(
        None, description="Quote this message of the session's log (a real WhatsApp reply): its id in the log "
                          "(a number), or its WhatsApp id (`waId`). A number is looked up as the log's id first."
    )

    @property
    def reply_to(self) -> str | None:
        return None if self.replyTo is None else str(self.replyTo)


class SendTextIn(_Send):
    text: str = Field(min_length=1, max_length=65_536)
    variables: Variables | None = Field(None, description=VARIABLES)
    typingSeconds: float | None = Field(
        None, gt=0, le=10, description="Show \"typing…\" in the chat this many seconds (at most 10) before the "
                                       "message goes; it is answered `queued` at once. Not on the Cloud API.")


class SendMediaForm(_Send):
    """The fields of a multipart upload (besides the `file` part)."""

    caption: str | None = Field(None, min_length=1, max_length=4096)
    fileName: str | None = Field(None, min_length=1, max_length=255, description="Name shown to the recipient.")
    type: MediaKind | None = Field(
        None, description="Send as this kind; the content must be of it (any file may be a document)."
    )
    variables: Variables | None = Field(None, description=VARIABLES + " Applies to the caption.")


class SendMediaIn(SendMediaForm):
    url: str = Field(min_length=1, max_length=2048, description="http:// or https:// URL of the file.")


class SendLocationIn(_Send):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = Field(None, min_length=1, max_length=256)
    address: str | None = Field(None, min_length=1, max_length=512)


class SendContactIn(_Send):
    vcard: str | None = Field(None, min_length=1, max_length=16_384, description="A whole vCard (BEGIN:VCARD…).")
    name: str | None = Field(None, min_length=1, max_length=256, description="With `phone`: build the card.")
    phone: str | None = Field(None, min_length=1, max_length=64, description="The contact's number, any format.")

    @model_validator(mode="after")
    def _one_form(self) -> SendContactIn:
        if self.vcard is not None and (self.name is not None or self.phone is not None):
            raise ValueError("give either vcard, or name and phone, not both")
        if self.vcard is None and (self.name is None or self.phone is None):
            raise ValueError("give vcard, or both name and phone")
        return self


class TemplateParameter(BaseModel):
    """One parameter of a template component, in Meta's shape: its `type` and the field of that name
    (`{"type": "text", "text": "Ana"}`, `{"type": "currency", "currency": {...}}`, …); passed to Meta as is."""

    model_config = ConfigDict(extra="allow")
    type: Literal["text", "currency", "date_time", "image", "video", "document", "location", "payload",
                  "coupon_code", "action"]
    parameter_name: str | None = Field(None, min_length=1, max_length=512,
                                       description="For a template with named parameters.")


class TemplateComponent(BaseModel):
    """A part of the template to fill: its header, body or one button (`sub_type` and `index` say which)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["header", "body", "button"]
    sub_type: Literal["quick_reply", "url", "copy_code", "flow", "catalog", "mpm", "voice_call"] | None = Field(
        None, description="A button's kind; required for a button.")
    index: int | None = Field(None, ge=0, le=9, description="A button's position (0 first); required for a button.")
    parameters: list[TemplateParameter] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _button_named(self) -> TemplateComponent:
        if self.type == "button" and (self.sub_type is None or self.index is None):
            raise ValueError("a button component needs `sub_type` and `index`")
        if self.type != "button" and (self.sub_type is not None or self.index is not None):
            raise ValueError("only a button component has `sub_type` and `index`")
        return self


class SendTemplateIn(_Send):
    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$",
                      description="The template's name as approved in WhatsApp Manager (lowercase, digits, _).")
    language: str = Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$",
                          description="The template's language code: `en`, `en_US`, `pt_BR`…")
    components: list[TemplateComponent] | None = Field(
        None, max_length=20, description="The values to fill in, in Meta's shape; none for a template without.")


def _distinct(options: list[str]) -> list[str]:
    if len(set(options)) != len(options):
        raise ValueError("options must be distinct")
    return options


PollOption = Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]


class SendPollIn(_Send):
    question: str = Field(min_length=1, max_length=255, pattern=r"\S", description="The poll's question.")
    options: Annotated[list[PollOption], AfterValidator(_distinct)] = Field(
        min_length=2, max_length=12, description="2 to 12 distinct answers (each 1 to 100 characters, not blank).")
    multiple: bool = Field(False, description="True: a voter may choose several answers; false: one.")


# ---- answers --------------------------------------------------------------------------------------


MessageSource = Literal["api", "campaign", "phone", "contact"]


class MediaOut(BaseModel):
    id: str
    kind: MediaKind
    mimetype: str = Field(description="Detected from the content.")
    size: int
    fileName: str
    sha256: str
    url: str = Field(description="Where to download it (with the API key).")
    available: bool = Field(description="False once retention removed the file.")


class LocationOut(BaseModel):
    latitude: float
    longitude: float
    name: str | None
    address: str | None


class ContactOut(BaseModel):
    displayName: str | None = Field(description="The name shown (a received card may have none).")
    vcard: str | None


class ReplyOut(BaseModel):
    id: str | None = Field(description="The id of the button, list row or flow chosen, as the sender's message set it.")
    title: str | None = Field(description="What the person saw and tapped (also the message's `body`).")
    kind: Literal["button", "list", "flow"]
    description: str | None = Field(None, description="A list row's description, when it has one.")


class ReplyToOut(BaseModel):
    id: int | None = Field(description="The quoted message's id in the log; null when the log does not have it.")
    waId: str = Field(description="The quoted message's WhatsApp id.")


class ReactionOut(BaseModel):
    from_: str | None = Field(alias="from", description="Who reacted (a JID); null for the account's reaction "
                                                        "sent through the gateway.")
    fromMe: bool = Field(description="The account reacted (through the gateway, or from its phone).")
    emoji: str
    timestamp: str


class ReactionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    emoji: str = Field(max_length=32, description="One emoji (👍, ❤️, 👍🏽, 🇩🇪 …); \"\" removes the account's "
                                                   "reaction.")


class PollOptionOut(BaseModel):
    name: str
    votes: int = Field(description="How many voters chose it now.")


class PollOut(BaseModel):
    question: str
    options: list[PollOptionOut]
    multiple: bool = Field(description="A voter may choose several answers.")
    voters: dict[str, list[str]] = Field(description="Each voter (a JID) and the answers of their latest vote.")


class EditOut(BaseModel):
    body: str | None = Field(description="The text before this edit.")
    replacedAt: str = Field(description="When the edit replaced it.")


class MessageOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int = Field(description="The gateway's id of the message.")
    waId: str | None = Field(description="WhatsApp's id, once WhatsApp accepted it (or of a received one).")
    session: str
    direction: Literal["in", "out"]
    fromMe: bool = Field(description="The account sent it (direction `out`), through the gateway or from its phone.")
    source: MessageSource | None = Field(
        description="Where the message came from: `api` (the send routes), `campaign`, `phone` (the account's "
                    "phone or another linked device) or `contact` (received).")
    chat: str = Field(description="The chat: a JID you can send to (`…@s.whatsapp.net`, `…@g.us`, or `…@lid` "
                                  "when WhatsApp hides the number).")
    from_: str | None = Field(alias="from", description="Sender of a received message (or the account, for one "
                                                        "sent from the phone).")
    type: str
    body: str | None = Field(description="The text, the caption of media, or the title of the chosen reply.")
    media: MediaOut | None
    location: LocationOut | None
    contact: ContactOut | None = Field(description="A contact message's (first) card.")
    contacts: list[ContactOut] | None = Field(description="Every card of a contact message (several for a list).")
    reply: ReplyOut | None = Field(description="A `reply` message: the button, list row or flow chosen.")
    poll: PollOut | None = Field(None, description="A `poll` message: its question, answers and running tally.")
    replyTo: ReplyToOut | None = Field(description="The message this one quotes (or, for a `reply`, the message "
                                                 "with the buttons or list).")
    pushName: str | None
    status: MessageStatus
    error: str | None
    campaignId: str | None
    timestamp: str
    queuedAt: str | None
    sentAt: str | None
    deliveredAt: str | None
    readAt: str | None
    playedAt: str | None
    failedAt: str | None
    createdAt: str
    editedAt: str | None = Field(description="When it was last edited; null when never.")
    edits: list[EditOut] = Field(description="The texts it had before each edit, oldest first.")
    revokedAt: str | None = Field(description="When it was deleted for everyone (its text stays in the log).")
    revokedBy: str | None = Field(description="Who deleted it for everyone (a JID).")
    reactions: list[ReactionOut] = Field(description="The reactions to it, one per reactor (the latest), oldest "
                                                     "first.")


class MessagePage(BaseModel):
    messages: list[MessageOut]
    nextCursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null at the end.")


def form_schema() -> dict[str, Any]:
    """The multipart body of send-media: SendMediaForm's fields plus the `file` part."""
    schema = SendMediaForm.model_json_schema()
    schema["properties"]["file"] = {"type": "string", "format": "binary", "description": "The file."}
    schema["required"] = [*schema.get("required", []), "file"]
    return schema
