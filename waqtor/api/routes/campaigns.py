"""`/api/campaigns`: create (JSON or a CSV upload), list, read, page the recipients (or export them as
CSV), start, pause, resume, cancel, delete."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from waqtor.api import cursors
from waqtor.api.bodies import FORM_OVERHEAD, TooLarge, chunks, read_body
from waqtor.api.campaign_schemas import (
    RECIPIENTS,
    CampaignCreatedOut,
    CampaignDefinition,
    CampaignDeletedOut,
    CampaignIn,
    CampaignListIn,
    CampaignOut,
    CampaignPage,
    CampaignStatus,
    RecipientPage,
    RecipientStatus,
)
from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.exports import export_answer
from waqtor.api.forms import media_bound, read_form
from waqtor.api.schemas import ERROR_RESPONSES, Envelope, ErrorEnvelope, inline_refs
from waqtor.campaigns.importer import too_many_recipients
from waqtor.errors import PayloadTooLarge, UnsupportedMediaType
from waqtor.messaging.request import MediaFromUrl, MediaSource, MediaUpload, StoredMedia

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"],
                   responses={**ERROR_RESPONSES,
                              404: {"model": ErrorEnvelope, "description": "`campaign_not_found`."}})

CampaignId = Annotated[str, Path(min_length=1, max_length=64, description="The campaign's id (`cmp_…`).")]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorEnvelope,
          "description": "`illegal_transition`: not allowed from its status (`details.status`)."}}


# Recipients of a JSON body checked by one pydantic call: it holds the interpreter while it runs, so one
# call over 100,000 of them kept every other request waiting, even from a thread, for most of a second.
RECIPIENT_SLICE = 1_000


def _validation(exc: ValidationError, prefix: tuple[str, ...] = ("body",)) -> RequestValidationError:
    return RequestValidationError([{**err, "loc": (*prefix, *err["loc"])} for err in exc.errors(include_url=False)])


def _json_campaign(raw: bytes, limit: int) -> tuple[CampaignDefinition, list[dict[str, Any]]]:
    """A JSON body's campaign and its recipients as plain values (run in the import's thread): more
    than `limit` recipients is `too_many_recipients`, as for a CSV file, before any of them is checked."""
    try:
        body = CampaignListIn.model_validate_json(raw)
    except ValidationError as exc:
        raise _validation(exc) from None
    if len(body.recipients) > limit:
        raise too_many_recipients(limit)
    recipients: list[dict[str, Any]] = []
    for start in range(0, len(body.recipients), RECIPIENT_SLICE):
        try:
            checked = RECIPIENTS.validate_python(body.recipients[start:start + RECIPIENT_SLICE])
        except ValidationError as exc:
            raise RequestValidationError([  # the slice's positions, made the list's
                {**err, "loc": ("body", "recipients", start + int(err["loc"][0]), *err["loc"][1:])}
                for err in exc.errors(include_url=False)]) from None
        recipients += [recipient.model_dump() for recipient in checked]
    body.recipients = []  # the parsed values are not needed twice over
    return body, recipients


def _check_message(definition: CampaignDefinition, uploaded: bool) -> None:
    try:
        definition.message.check(uploaded)
    except ValueError as exc:
        raise RequestValidationError([{"type": "value_error", "loc": ("body", "message"), "msg": str(exc)}]) from None


def _too_large(what: str, limit: int) -> TooLarge:
    def too_large(size: int | None) -> PayloadTooLarge:
        if size is not None:
            return PayloadTooLarge(f"the {what} is {size} bytes, over {limit} (WAQTOR_CAMPAIGN_MAX_UPLOAD)")
        return PayloadTooLarge(f"the {what} is over {limit} bytes (WAQTOR_CAMPAIGN_MAX_UPLOAD)")

    return too_large


def _asked_media_type(fields: Mapping[str, str]) -> str | None:
    """The `message.mediaType` of the form's `campaign` field, when it came before the media part."""
    try:
        asked = json.loads(fields.get("campaign", "")).get("message", {}).get("mediaType")
    except (ValueError, AttributeError):
        return None
    return asked if isinstance(asked, str) else None


def _media(definition: CampaignDefinition, upload: UploadFile | None,
           sessions: frozenset[str] | None) -> MediaSource | None:
    """Where the campaign's file comes from: uploaded, fetched, or stored already (`mediaId`; a key
    limited to `sessions` may name only a file of their messages and campaigns, as on GET /api/media)."""
    message = definition.message
    if upload is not None:
        return MediaUpload(chunks(upload), message.fileName or upload.filename, message.mediaType)
    if message.mediaId is not None:
        return StoredMedia(message.mediaId, sessions)
    if message.mediaUrl is not None:
        return MediaFromUrl(message.mediaUrl, message.fileName, message.mediaType)
    return None


def _request_schema() -> dict[str, Any]:
    form = {
        "type": "object",
        "required": ["campaign", "recipients"],
        "properties": {
            "campaign": {"type": "string", "description": "The campaign as JSON (as the JSON body, without "
                         "`recipients`)."},
            "recipients": {"type": "string", "format": "binary", "description": "The CSV file."},
            "media": {"type": "string", "format": "binary", "description": "A file to send with the text."},
        },
    }
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": inline_refs(CampaignIn.model_json_schema())},
        "multipart/form-data": {"schema": form},
    }}}


@router.post(
    "",
    response_model=Envelope[CampaignCreatedOut],
    status_code=201,
    summary="Create a campaign (JSON recipients or a CSV upload), or check one with dryRun",
    responses={
        200: {"model": Envelope[CampaignCreatedOut], "description": "A dry run: checked, nothing stored."},
        400: {"model": ErrorEnvelope, "description": "`no_recipients` (the report in details), `invalid_csv`, "
              "`no_phone_column`, `too_many_columns`, `too_many_recipients`, `invalid_template`, "
              "`invalid_multipart`, media errors."},
        413: {"model": ErrorEnvelope, "description": "`payload_too_large`, `media_too_large`."},
        415: {"model": ErrorEnvelope, "description": "Neither JSON nor multipart."},
        429: {"model": ErrorEnvelope, "description": "`too_many_imports`: this instance reads as many recipient "
              "lists as it may (WAQTOR_CAMPAIGN_MAX_IMPORTS); with Retry-After."},
        507: {"model": ErrorEnvelope, "description": "`insufficient_storage`: the disk is full; nothing was kept."},
    },
    openapi_extra=_request_schema(),
    dependencies=[Depends(require("send"))],
)
async def create_campaign(
    gateway: GatewayDep,
    identity: IdentityDep,
    request: Request,
    response: Response,
    dryRun: Annotated[bool, Query(description="Check and preview only; nothing is stored or fetched.")] = False,
) -> dict[str, Any]:
    settings = gateway.settings
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    upload: UploadFile | None = None
    form = None
    raw_json: bytes | None = None
    try:
        if content_type == "application/json":
            limit = settings.campaign_max_upload
            raw_json = await read_body(request, limit, _too_large("body", limit))
        elif content_type == "multipart/form-data":
            store, csv_limit = gateway.messages.media, settings.campaign_max_upload
            form = await read_form(request, csv_limit + store.largest + FORM_OVERHEAD, {
                "recipients": lambda _head, _fields: (csv_limit, _too_large("CSV file", csv_limit)),
                "media": media_bound(store, _asked_media_type)}, max_fields=4)
            raw, csv_file, media_file = form.get("campaign"), form.get("recipients"), form.get("media")
            if not isinstance(raw, str) or not isinstance(csv_file, UploadFile):
                raise RequestValidationError([{"type": "missing", "loc": ("body", "campaign" if not isinstance(
                    raw, str) else "recipients"), "msg": "Field required: a `campaign` field and a `recipients` file"}])
            try:
                definition = CampaignDefinition.model_validate_json(raw)
            except ValidationError as exc:
                raise _validation(exc, ("body", "campaign")) from None
            source: bytes | list[dict[str, Any]] = await csv_file.read()  # held to its limit as it came
            upload = media_file if isinstance(media_file, UploadFile) else None
        else:
            raise UnsupportedMediaType("a campaign is created from application/json or multipart/form-data "
                                       "(a `campaign` JSON field and a `recipients` CSV file)")
        # The body is in; reading the list it holds is what the import slots bound (429 beyond).
        async with gateway.campaigns.importing() as job:
            if raw_json is not None:
                definition, source = await job.run(_json_campaign, raw_json, settings.campaign_max_recipients)
                raw_json = None
            identity.check_session(definition.session)
            _check_message(definition, upload is not None)
            data = await gateway.campaigns.submit(definition.spec(), source,
                                                  _media(definition, upload, identity.sessions),
                                                  dry_run=dryRun, job=job)
    finally:
        if form is not None:
            await form.close()
    if dryRun:
        response.status_code = 200
    return {"success": True, "data": data}


READ = [Depends(require("read"))]
CONTROL = [Depends(require("control"))]


@router.get("", response_model=Envelope[CampaignPage], summary="List campaigns, newest first, with their counts",
            responses={400: {"model": ErrorEnvelope, "description": "`invalid_cursor`."}}, dependencies=READ)
async def list_campaigns(
    gateway: GatewayDep,
    identity: IdentityDep,
    status: Annotated[CampaignStatus | None, Query(description="Only campaigns in this status.")] = None,
    session: Annotated[str | None, Query(min_length=1, max_length=64, description="Only this session's.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Campaigns per page.")] = 50,
    cursor: Annotated[str | None, Query(max_length=300, description="nextCursor of the previous page.")] = None,
) -> dict[str, Any]:
    session = identity.listing_session(session)
    before = cursors.time_and_id(cursor) if cursor is not None else None
    views, last = await gateway.campaigns.listing(status, session, before, limit)
    next_cursor = cursors.encode({"at": last.created_at.isoformat(), "id": last.id}) if last else None
    return {"success": True, "data": {"campaigns": views, "nextCursor": next_cursor}}


@router.get("/{campaign_id}", response_model=Envelope[CampaignOut], summary="One campaign with its counts",
            dependencies=READ)
async def get_campaign(gateway: GatewayDep, identity: IdentityDep, campaign_id: CampaignId) -> dict[str, Any]:
    return {"success": True, "data": await gateway.campaigns.show(campaign_id, identity.check_session)}


@router.get(
    "/{campaign_id}/recipients",
    response_model=Envelope[RecipientPage],
    summary="The campaign's recipients in order, by page, or all as CSV",
    responses={200: {"description": "A page of recipients, or with format=csv every one as a CSV file (streamed).",
                     "content": {"text/csv": {"schema": {"type": "string"}}}},
               400: {"model": ErrorEnvelope, "description": "`invalid_cursor`."},
               429: {"model": ErrorEnvelope,
                     "description": "`too_many_exports` (format=csv): the key has WAQTOR_EXPORTS_PER_KEY exports "
                                    "streaming."}},
    dependencies=READ,
)
async def list_recipients(
    gateway: GatewayDep,
    identity: IdentityDep,
    campaign_id: CampaignId,
    status: Annotated[RecipientStatus | None, Query(description="Only recipients in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Recipients per page.")] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="nextCursor of the previous page.")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json: a page; csv: every match, streamed.")] = "json",
) -> Any:
    if format == "csv":
        return await export_answer(gateway.exports, identity,
                                   lambda: gateway.campaigns.export(campaign_id, identity.check_session, status),
                                   media_type="text/csv; charset=utf-8", filename=f"{campaign_id}-recipients.csv")
    after = cursors.positive_int(cursor, "after", minimum=0) if cursor is not None else None
    rows, more = await gateway.campaigns.recipients_page(campaign_id, identity.check_session, status, after, limit)
    return {"success": True, "data": {"recipients": rows,
                                      "nextCursor": cursors.encode({"after": rows[-1]["id"]}) if more else None}}


def _action(name: str, summary: str) -> None:
    async def act(gateway: GatewayDep, identity: IdentityDep, campaign_id: CampaignId) -> dict[str, Any]:
        return {"success": True, "data": await gateway.campaigns.perform(campaign_id, name, identity.check_session)}

    act.__name__ = f"{name}_campaign"
    router.post(f"/{{campaign_id}}/{name}", response_model=Envelope[CampaignOut], summary=summary,
                responses=CONFLICT, dependencies=CONTROL)(act)


_action("start", "Start a draft (scheduled when its start time is ahead)")
_action("pause", "Pause a scheduled or running campaign")
_action("resume", "Resume a paused campaign")
_action("cancel", "Cancel a campaign (pending recipients are skipped)")


@router.delete("/{campaign_id}", response_model=Envelope[CampaignDeletedOut], summary="Delete a campaign",
               responses={409: {"model": ErrorEnvelope,
                                "description": "`campaign_running`: pause or cancel it first."}},
               dependencies=CONTROL)
async def delete_campaign(gateway: GatewayDep, identity: IdentityDep, campaign_id: CampaignId) -> dict[str, Any]:
    await gateway.campaigns.remove(campaign_id, identity.check_session)
    return {"success": True, "data": {"id": campaign_id, "deleted": True}}
