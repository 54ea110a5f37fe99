"""What the API does with campaigns: create (with the import report and a preview), read, page, act on
(start, pause, resume, cancel) and delete. Sending is the runner's; status changes go through its
`Lifecycle`, so this service and the runner can never disagree about a move."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from waqtor.campaigns import importer, model
from waqtor.campaigns.definition import throttle_json
from waqtor.campaigns.importer import Report, template_values
from waqtor.campaigns.imports import ImportJob, ImportSlots
from waqtor.campaigns.lifecycle import not_found
from waqtor.campaigns.numbers import normalize_many
from waqtor.campaigns.runner import CampaignRunner
from waqtor.campaigns.throttle import Throttle
from waqtor.campaigns.views import campaign_view, export_header, export_row, recipient_view
from waqtor.config import Settings
from waqtor.errors import Conflict, Forbidden, InvalidInput, SessionNotFound, WaqtorError
from waqtor.exports import csv_text
from waqtor.messaging.phones import Recipient
from waqtor.messaging.request import MediaSource
from waqtor.messaging.templates import variables_in
from waqtor.messaging.views import media_view
from waqtor.storage import Storage
from waqtor.storage.records import CampaignRecord, MediaRecord, RecipientRecord

PREVIEW_ROWS = 5

# The caller's check that it may reach a session: it raises Forbidden (`forbidden_session`) when not.
Reach = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A campaign as the caller defined it, checked for form by the API model."""

    name: str
    session: str
    text: str | None
    throttle: Throttle = field(default_factory=Throttle)
    start_at: datetime | None = None
    window: dict[str, Any] | None = None  # stored form, see definition.py
    options: dict[str, Any] = field(default_factory=dict)
    phone_column: str | None = None
    name_column: str | None = None
    start: bool = False


class CampaignService:
    def __init__(self, settings: Settings, storage: Storage, runner: CampaignRunner,
                 clock: Callable[[], datetime]) -> None:
        self._settings = settings
        self._storage = storage
        self._repo = storage.campaigns
        self.runner = runner
        self._clock = clock
        self.imports = ImportSlots(settings.campaign_max_imports)

    # ---- creation ---------------------------------------------------------------------------------------

    async def require_session(self, name: str) -> None:
        """SessionNotFound unless session `name` exists. Any instance may create a campaign for any
        session: the one that runs the session sends it."""
        if await self._storage.sessions.get(name) is None:
            raise SessionNotFound(name)

    def importing(self) -> AbstractAsyncContextManager[ImportJob]:
        """A slot to read a recipient list in (`ImportSlots.hold`): RateLimited (`too_many_imports`)
        when this instance reads as many already. The caller parses what it was sent with `job.run`
        and hands the job to `submit`."""
        return self.imports.hold()

    def check(self, spec: CampaignSpec, recipients: bytes | Sequence[dict[str, Any]]) -> Report:
        """Check the template and every recipient (the session with `require_session` first); the
        report lists each row's problem. Raises InvalidInput (`invalid_template`, `invalid_csv`,
        `no_phone_column`, `too_many_recipients`)."""
        template = spec.text or ""
        variables_in(template)
        limit = self._settings.campaign_max_recipients
        region = self._settings.default_region
        if isinstance(recipients, bytes):
            return importer.parse_csv(recipients, template, default_region=region, phone_column=spec.phone_column,
                                      name_column=spec.name_column, max_rows=limit, normalize=normalize_many)
        return importer.from_list(recipients, template, default_region=region, max_rows=limit,
                                  normalize=normalize_many)

    def preview(self, spec: CampaignSpec, report: Report) -> list[dict[str, Any]]:
        """The first messages as they would be sent now ({date} and {time} are filled at each send)."""
        shown = []
        for row in report.rows[:PREVIEW_ROWS]:
            to = Recipient(jid=row.jid, phone=row.phone if row.phone.startswith("+") else None)
            try:
                values = template_values(row.name, row.variables)
                text = self.runner.messages.render(spec.text, to, values) if spec.text else None
            except WaqtorError as exc:
                text = f"({exc.code}: {exc.message})"
            shown.append({"row": row.row, "phone": row.phone, "name": row.name, "text": text})
        return shown

    @staticmethod
    def require_recipients(report: Report) -> None:
        """InvalidInput (`no_recipients`, with the report in details) when no row was accepted."""
        if not report.rows:
            raise InvalidInput("no recipient can be sent to: every row has a problem (see details)",
                               code="no_recipients", details=report.view())

    async def submit(self, spec: CampaignSpec, recipients: bytes | Sequence[dict[str, Any]],
                     media: MediaSource | None, *, dry_run: bool, job: ImportJob) -> dict[str, Any]:
        """Check a campaign the API was given, in `job` (see `importing`), and, unless `dry_run`, store
        it (started when `spec.start`): the answer's data, `{"campaign", "report", "preview", "dryRun"}`.
        A dry run stores and fetches nothing. Raises what `require_session`, `check`,
        `require_recipients` and getting the file raise."""
        await self.require_session(spec.session)
        # Reading 100,000 rows takes a while: off the event loop, so other requests are served meanwhile.
        report = await job.run(self.check, spec, recipients)
        preview = self.preview(spec, report)
        if dry_run:
            return {"campaign": None, "report": report.view(), "preview": preview, "dryRun": True}
        self.require_recipients(report)
        stored = await self.runner.messages.obtain_media(media) if media is not None else None
        record = await self.create(spec, report, stored)
        view = (await self.views([record]))[0]
        return {"campaign": view, "report": report.view(), "preview": preview, "dryRun": False}

    async def create(self, spec: CampaignSpec, report: Report, media: MediaRecord | None) -> CampaignRecord:
        """Store the campaign (a draft, or started when `spec.start`); see `require_recipients`."""
        self.require_recipients(report)
        now = self._clock()
        values = {
            "id": model.new_campaign_id(), "name": spec.name, "session": spec.session, "status": model.DRAFT,
            "message": {"type": media.kind if media else "text", "text": spec.text,
                        "mediaId": media.id if media else None},
            "start_at": spec.start_at, "window": spec.window, "throttle": throttle_json(spec.throttle),
            "options": spec.options, "variables": report.variables, "report": report.view(),
            "total": len(report.rows), "created_at": now, "updated_at": now,
        }
        record = await self._repo.create(values, report.rows, now)
        if spec.start:
            record = await self.act(record.id, "start")
        return record

    # ---- reading ----------------------------------------------------------------------------------------

    async def get(self, campaign_id: str) -> CampaignRecord:
        record = await self._repo.get(campaign_id)
        if record is None:
            raise not_found(campaign_id)
        return record

    async def find(self, campaign_id: str, reach: Reach) -> CampaignRecord:
        """The campaign, once `reach` let the caller reach its session; NotFound (`campaign_not_found`)
        when there is none, and the same when it belongs to a session the caller may not reach (a key
        limited to some sessions learns nothing of the others' campaigns, not even that they exist)."""
        record = await self.get(campaign_id)
        try:
            reach(record.session)
        except Forbidden:
            raise not_found(campaign_id) from None
        return record

    async def show(self, campaign_id: str, reach: Reach) -> dict[str, Any]:
        """The API form of the campaign (see `find`)."""
        return (await self.views([await self.find(campaign_id, reach)]))[0]

    async def listing(self, status: str | None, session: str | None, before: tuple[datetime, str] | None,
                      limit: int) -> tuple[list[dict[str, Any]], CampaignRecord | None]:
        """A page of campaigns, newest first, in their API form, and the last of them when more follow
        (the next page starts after it)."""
        records = await self.page(status, session, before, limit + 1)
        more = len(records) > limit
        records = records[:limit]
        return await self.views(records), records[-1] if more else None

    async def views(self, records: Sequence[CampaignRecord]) -> list[dict[str, Any]]:
        """The API form of `records`, with their counts (one query for all)."""
        await self.runner.outcomes.flush()  # statuses this instance has not written yet count too
        counts = await self._repo.counts([r.id for r in records])
        found = []
        for record in records:
            media = None
            if record.message.get("mediaId"):
                stored = await self._storage.media.get(record.message["mediaId"])
                media = media_view(stored) if stored else None
            found.append(campaign_view(record, counts[record.id], self.runner.session_interval, media))
        return found

    async def page(self, status: str | None, session: str | None, before: tuple[datetime, str] | None,
                   limit: int) -> list[CampaignRecord]:
        return await self._repo.page(status, session, before, limit)

    async def recipients_page(self, campaign_id: str, reach: Reach, status: str | None, after: int | None,
                              limit: int) -> tuple[list[dict[str, Any]], bool]:
        """A page of the campaign's recipients in order, and whether more follow (see `find`)."""
        await self.find(campaign_id, reach)
        await self.runner.outcomes.flush()  # statuses this instance has not written yet count too
        rows = await self._repo.recipients(campaign_id, status, after, limit + 1)
        return [recipient_view(r) for r in rows[:limit]], len(rows) > limit

    async def export(self, campaign_id: str, reach: Reach, status: str | None) -> AsyncIterator[str]:
        """The campaign's recipients (those in `status`) as CSV text, streamed: their columns, then one
        per template variable (see `find`)."""
        variables = (await self.find(campaign_id, reach)).variables
        return csv_text(export_header(variables), self._stream(campaign_id, status),
                        lambda recipient: export_row(recipient, variables))

    async def _stream(self, campaign_id: str, status: str | None) -> AsyncIterator[Sequence[RecipientRecord]]:
        await self.runner.outcomes.flush()
        async for batch in self._repo.stream(campaign_id, status):
            yield batch

    # ---- lifecycle -------------------------------------------------------------------------------------

    async def act(self, campaign_id: str, action: str) -> CampaignRecord:
        """start, pause, resume or cancel; NotFound, or IllegalTransition (409) with the current status."""
        if action == "pause":
            return await self.runner.lifecycle.move(campaign_id, "pause", reason=model.MANUAL,
                                                     message="paused through the API")
        to = None
        if action in ("start", "resume"):
            record = await self.get(campaign_id)
            if record.start_at is not None and record.start_at > self._clock():
                to = model.SCHEDULED
        return await self.runner.lifecycle.move(campaign_id, action, to=to)

    async def perform(self, campaign_id: str, action: str, reach: Reach) -> dict[str, Any]:
        """`act` on a campaign the caller may reach (see `find`); the API form of it after."""
        await self.find(campaign_id, reach)
        return (await self.views([await self.act(campaign_id, action)]))[0]

    async def remove(self, campaign_id: str, reach: Reach) -> None:
        """`delete` a campaign the caller may reach (see `find`)."""
        await self.find(campaign_id, reach)
        await self.delete(campaign_id)

    async def delete(self, campaign_id: str) -> None:
        """Remove the campaign and its recipients (its messages stay in the log). Conflict
        (`campaign_running`) while it runs."""
        record = await self.get(campaign_id)
        if await self._repo.delete(campaign_id, model.DELETABLE):
            self.runner.wake(record.session)
            return
        record = await self.get(campaign_id)
        raise Conflict(f"campaign {campaign_id!r} is running; pause or cancel it first", code="campaign_running",
                       details={"status": record.status})
