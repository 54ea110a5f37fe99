"""Request and response shapes of `/api/campaigns`, so /openapi.json says exactly what they take and answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from waqtor.api.message_schemas import MediaKind, MediaOut, Variables
from waqtor.campaigns.definition import DAY_NAMES, DEFAULT_STOP_AFTER, Day, parse_time
from waqtor.campaigns.service import CampaignSpec
from waqtor.campaigns.throttle import Throttle
from waqtor.sessions.session import DEFAULT_SESSION

CampaignStatus = Literal["draft", "scheduled", "running", "paused", "completed", "cancelled", "failed"]
RecipientStatus = Literal["pending", "sending", "sent", "delivered", "read", "failed", "skipped", "unknown"]
HHMM = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"
_defaults = Throttle()


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ThrottleIn(_In):
    minDelay: float = Field(_defaults.min_delay, ge=0, le=86_400, description="Least seconds between two messages.")
    maxDelay: float = Field(_defaults.max_delay, ge=0, le=86_400, description="Most seconds between two messages.")
    perMinute: int | None = Field(_defaults.per_minute, ge=1, le=1_000_000, description="Cap in any 60 s; null: none.")
    perHour: int | None = Field(_defaults.per_hour, ge=1, le=1_000_000, description="Cap in any hour; null: none.")
    perDay: int | None = Field(_defaults.per_day, ge=1, le=1_000_000, description="Cap in any 24 h; null: none.")

    @model_validator(mode="after")
    def _ordered(self) -> ThrottleIn:
        if self.maxDelay < self.minDelay:
            raise ValueError("maxDelay must not be below minDelay")
        return self


class WindowIn(_In):
    start: str = Field(pattern=HHMM, description="Local time the window opens, HH:MM (24-hour).")
    end: str = Field(pattern=HHMM, description="Local time it closes; before `start` runs over midnight.")
    timezone: str = Field("UTC", max_length=64, description="IANA time zone, e.g. Europe/Berlin.")
    days: list[Day] = Field(default_factory=lambda: list(DAY_NAMES), min_length=1, max_length=7,
                            description="Days it opens on (default every day).")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin") from None
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> WindowIn:
        if parse_time(self.start) == parse_time(self.end):
            raise ValueError("the window's start and end must differ")
        return self


class ScheduleIn(_In):
    startAt: datetime | None = Field(None, description="Not before this time (ISO 8601; UTC when no zone).")
    window: WindowIn | None = Field(None, description="Daily sending hours.")


class OptionsIn(_In):
    checkWhatsApp: bool = Field(False, description="Ask the engine whether each number is on WhatsApp first; "
                                "those that are not are skipped (engines that cannot tell send anyway).")
    stopAfterFailures: int | None = Field(DEFAULT_STOP_AFTER, ge=1, le=100_000, description="Pause the campaign "
                                          "after this many failed messages in a row (reason too_many_failures).")


class MessageIn(_In):
    text: str | None = Field(None, min_length=1, max_length=65_536,
                             description="The text (the caption with media), a template: {name}, {phone}, any column.")
    mediaUrl: str | None = Field(None, min_length=1, max_length=2048, description="A file to fetch once and send.")
    mediaId: str | None = Field(None, pattern=r"^[0-9a-f]{32}$", description="A stored file (see /api/media).")
    mediaType: MediaKind | None = Field(None, description="Send the file as this kind.")
    fileName: str | None = Field(None, min_length=1, max_length=255, description="Name shown to recipients.")

    @model_validator(mode="after")
    def _something(self) -> MessageIn:
        if self.mediaUrl is not None and self.mediaId is not None:
            raise ValueError("give mediaUrl or mediaId, not both")
        return self

    def check(self, uploaded: bool) -> None:
        has_media = uploaded or self.mediaUrl is not None or self.mediaId is not None
        if self.text is None and not has_media:
            raise ValueError("message: give a text, a media file, or both")
        if has_media and self.text is not None and len(self.text) > 4096:
            raise ValueError("message.text: a caption is at most 4096 characters")


class RecipientIn(_In):
    phone: str = Field(min_length=1, max_length=64, description="Any phone format, or a chat id.")
    name: str | None = Field(None, max_length=256, description="Fills {name}.")
    variables: Variables | None = Field(None, description="Values for the template's other variables.")


class CampaignDefinition(_In):
    """A campaign without its recipients: the `campaign` field of a multipart upload."""

    name: str = Field(min_length=1, max_length=200)
    session: str = Field(DEFAULT_SESSION, min_length=1, max_length=64, description="Session that sends it.")
    message: MessageIn
    schedule: ScheduleIn = Field(default_factory=ScheduleIn)
    throttle: ThrottleIn = Field(default_factory=ThrottleIn)
    options: OptionsIn = Field(default_factory=OptionsIn)
    phoneColumn: str | None = Field(None, min_length=1, max_length=200, description="CSV: the phone column's name.")
    nameColumn: str | None = Field(None, min_length=1, max_length=200, description="CSV: the name column's name.")
    start: bool = Field(False, description="Start it at once (else it is created as a draft).")

    def spec(self) -> CampaignSpec:
        start_at = self.schedule.startAt
        if start_at is not None:
            start_at = start_at.replace(tzinfo=UTC) if start_at.tzinfo is None else start_at.astimezone(UTC)
        t = self.throttle
        return CampaignSpec(
            name=self.name, session=self.session, text=self.message.text,
            throttle=Throttle(t.minDelay, t.maxDelay, t.perMinute, t.perHour, t.perDay),
            start_at=start_at, window=self.schedule.window.model_dump() if self.schedule.window else None,
            options=self.options.model_dump(), phone_column=self.phoneColumn, name_column=self.nameColumn,
            start=self.start,
        )


class CampaignIn(CampaignDefinition):
    recipients: list[RecipientIn] = Field(min_length=1, description="The recipients (or upload a CSV).")


class CampaignListIn(CampaignDefinition):
    """A JSON campaign as it is first read (CampaignIn is what it documents): the recipients are left
    as parsed, to be counted and then checked a slice at a time with RECIPIENTS."""

    recipients: list[Any] = Field(min_length=1)


RECIPIENTS: TypeAdapter[list[RecipientIn]] = TypeAdapter(list[RecipientIn])


# ---- answers ----------------------------------------------------------------------------------------


class Counts(BaseModel):
    pending: int
    sending: int
    sent: int
    delivered: int
    read: int
    failed: int
    skipped: int
    unknown: int


class ReasonOut(BaseModel):
    code: str = Field(description="manual, too_many_failures, temporary_ban, logged_out, connection_lost…")
    message: str
    at: str | None
    resumesByItself: bool = Field(description="True when a reconnect of the session resumes it.")


class MessageSpecOut(BaseModel):
    type: str
    text: str | None
    media: MediaOut | None


class ScheduleOut(BaseModel):
    startAt: str | None
    window: WindowIn | None


class CampaignOut(BaseModel):
    id: str
    name: str
    session: str
    status: CampaignStatus
    reason: ReasonOut | None = Field(description="Why it is paused or failed.")
    message: MessageSpecOut
    schedule: ScheduleOut
    throttle: ThrottleIn
    options: OptionsIn
    variables: list[str] = Field(description="The variables its recipients carry.")
    total: int = Field(description="Recipients.")
    counts: Counts
    percent: float = Field(description="Share of recipients done with (not pending or sending), 0–100.")
    etaSeconds: float | None = Field(description="Rough seconds left at its pace; null when nothing is left to "
                                     "send or it is not going to send (draft, final). Closed windows not counted.")
    createdAt: str
    updatedAt: str
    startedAt: str | None
    finishedAt: str | None


class ProblemOut(BaseModel):
    row: int = Field(description="Row of the CSV file (the header is row 1), or position in the list from 1.")
    input: str | None = Field(description="The phone as written.")
    code: Literal["invalid_phone", "duplicate", "missing_variables", "malformed_row"]
    message: str
    details: dict[str, Any]


class ColumnOut(BaseModel):
    header: str
    variable: str


class ReportOut(BaseModel):
    rows: int = Field(description="Rows read (empty lines not counted).")
    accepted: int
    rejected: int
    problemCounts: dict[str, int]
    problems: list[ProblemOut] = Field(description="The first 100 problems, in row order.")
    problemsTruncated: bool = Field(description="More problems were found than are listed.")
    problemsOmitted: int = Field(description="How many problems were found beyond those listed.")
    phoneColumn: str | None
    nameColumn: str | None
    columns: list[ColumnOut] = Field(description="CSV columns used as variables.")


class PreviewOut(BaseModel):
    row: int
    phone: str
    name: str | None
    text: str | None = Field(description="The text as it would be sent now.")


class CampaignCreatedOut(BaseModel):
    campaign: CampaignOut | None = Field(description="The stored campaign; null for a dry run.")
    report: ReportOut
    preview: list[PreviewOut] = Field(description="The first five messages.")
    dryRun: bool


class CampaignPage(BaseModel):
    campaigns: list[CampaignOut]
    nextCursor: str | None


class RecipientOut(BaseModel):
    id: int
    row: int
    phone: str
    name: str | None
    variables: dict[str, Any]
    status: RecipientStatus
    reason: str | None = Field(description="Why it failed, was skipped or is unknown.")
    messageId: int | None = Field(description="Its message in the log (/api/messages/{id}).")
    attemptedAt: str | None
    updatedAt: str | None


class RecipientPage(BaseModel):
    recipients: list[RecipientOut]
    nextCursor: str | None


class CampaignDeletedOut(BaseModel):
    id: str
    deleted: Literal[True] = True
