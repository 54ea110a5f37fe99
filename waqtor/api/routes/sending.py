"""`POST /api/messages/send*`: text, media (by URL or upload), location, contact card, WhatsApp message
template and poll, each optionally a reply quoting a logged message (`replyTo`); `POST /api/messages/{id}/reaction`.

Each route checks that the key reaches the session, then hands the request to the message service
(`MessageService.send_request`), which checks the rest and sends it from the instance that runs the
session."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from waqtor.api.bodies import FORM_OVERHEAD, chunks, read_body
from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.forms import media_bound, read_form
from waqtor.api.message_schemas import (
    MessageOut,
    ReactionIn,
    SendContactIn,
    SendLocationIn,
    SendMediaForm,
    SendMediaIn,
    SendPollIn,
    SendTemplateIn,
    SendTextIn,
    form_schema,
)
from waqtor.api.schemas import ERROR_RESPONSES, FORWARD_RESPONSES, Envelope, ErrorEnvelope
from waqtor.engines.base import Location, PollSpec, TemplateSpec
from waqtor.errors import NotFound, UnsupportedMediaType
from waqtor.messaging.media import too_large
from waqtor.messaging.request import ContactRequest, MediaFromUrl, MediaUpload, SendRequest

Model = TypeVar("Model", bound=BaseModel)

JSON_LIMIT = 65_536  # a send-media JSON body holds a URL and a caption, never the file

SEND_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    400: {"model": ErrorEnvelope, "description": "`invalid_phone`, `missing_variables`, `invalid_template`, "
          "`not_on_whatsapp`, and for media `invalid_url`, `media_download_failed`, `empty_media`."},
    404: {"model": ErrorEnvelope, "description": "`session_not_found`, `message_not_found` (`replyTo`)."},
    409: {"model": ErrorEnvelope, "description": "`session_not_ready`: the session cannot send now; "
          "`message_not_sent`: `replyTo` names a message that never reached WhatsApp."},
    429: {"model": ErrorEnvelope, "description": "`send_queue_full` or `rate_limited`, with Retry-After."},
    502: {"model": ErrorEnvelope, "description": "The engine or WhatsApp refused the message (it is logged failed)."},
    **FORWARD_RESPONSES,
}

router = APIRouter(prefix="/api/messages", tags=["messages"], dependencies=[Depends(require("send"))],
                   responses=SEND_ERRORS)


@router.post("/send", response_model=Envelope[MessageOut], summary="Send a text message")
async def send_text(gateway: GatewayDep, identity: IdentityDep, body: SendTextIn) -> dict[str, Any]:
    identity.check_session(body.session)
    request = SendRequest(session=body.session, to=body.to, text=body.text, variables=body.variables,
                          reply_to=body.reply_to, typing=body.typingSeconds or 0.0)
    return {"success": True, "data": await gateway.messages.send_request(request)}


@router.post("/send-location", response_model=Envelope[MessageOut], summary="Send a location")
async def send_location(gateway: GatewayDep, identity: IdentityDep, body: SendLocationIn) -> dict[str, Any]:
    identity.check_session(body.session)
    place = Location(body.latitude, body.longitude, body.name, body.address)
    request = SendRequest(session=body.session, to=body.to, location=place, reply_to=body.reply_to)
    return {"success": True, "data": await gateway.messages.send_request(request)}


@router.post("/send-contact", response_model=Envelope[MessageOut], summary="Send a contact card (vCard)")
async def send_contact(gateway: GatewayDep, identity: IdentityDep, body: SendContactIn) -> dict[str, Any]:
    identity.check_session(body.session)
    contact = ContactRequest(vcard=body.vcard, name=body.name, phone=body.phone)
    request = SendRequest(session=body.session, to=body.to, contact=contact, reply_to=body.reply_to)
    return {"success": True, "data": await gateway.messages.send_request(request)}


@router.post(
    "/send-template", response_model=Envelope[MessageOut],
    summary="Send a WhatsApp message template (Cloud API; also outside the 24-hour window)",
    responses={422: {"model": ErrorEnvelope, "description": "`not_supported_by_engine`: the session's engine cannot "
                     "send templates (neonize), whatever its state; or `validation_error`."}},
)
async def send_template(gateway: GatewayDep, identity: IdentityDep, body: SendTemplateIn) -> dict[str, Any]:
    identity.check_session(body.session)
    components = tuple(part.model_dump(exclude_none=True) for part in body.components or ())
    template = TemplateSpec(body.name, body.language, components)
    request = SendRequest(session=body.session, to=body.to, template=template, reply_to=body.reply_to)
    return {"success": True, "data": await gateway.messages.send_request(request)}


@router.post(
    "/send-poll", response_model=Envelope[MessageOut], summary="Send a poll (single or multiple answers)",
    responses={422: {"model": ErrorEnvelope, "description": "`not_supported_by_engine`: the session's engine cannot "
                     "send polls (cloud), whatever its state; or `validation_error`."}},
)
async def send_poll(gateway: GatewayDep, identity: IdentityDep, body: SendPollIn) -> dict[str, Any]:
    identity.check_session(body.session)
    poll = PollSpec(body.question, tuple(body.options), body.multiple)
    request = SendRequest(session=body.session, to=body.to, poll=poll, reply_to=body.reply_to)
    return {"success": True, "data": await gateway.messages.send_request(request)}


@router.post(
    "/send-media",
    response_model=Envelope[MessageOut],
    summary="Send an image, video, audio file or document (by URL or upload)",
    responses={
        413: {"model": ErrorEnvelope, "description": "`media_too_large`: over the limit of its kind."},
        415: {"model": ErrorEnvelope,
              "description": "`media_type_mismatch`, or a body that is neither JSON nor multipart."},
        507: {"model": ErrorEnvelope, "description": "`insufficient_storage`: the disk is full; nothing was kept."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": SendMediaIn.model_json_schema()},
                "multipart/form-data": {"schema": form_schema()},
            },
        }
    },
)
async def send_media(gateway: GatewayDep, identity: IdentityDep, request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        raw = await read_body(request, JSON_LIMIT, lambda _size: too_large("JSON body", None, JSON_LIMIT))
        body = _validated(SendMediaIn, raw)
        identity.check_session(body.session)
        media = MediaFromUrl(body.url, body.fileName, body.type)
        return {"success": True, "data": await gateway.messages.send_request(_media_request(body, media))}
    if content_type != "multipart/form-data":
        raise UnsupportedMediaType(
            "send-media takes application/json (with a url) or multipart/form-data (with a file part)"
        )
    store = gateway.messages.media
    # The file is held to its kind's limit as it arrives (`type` counts when it comes before the file).
    form = await read_form(request, store.largest + FORM_OVERHEAD,
                           {"file": media_bound(store, lambda fields: fields.get("type"))}, max_fields=16)
    try:
        fields: dict[str, Any] = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        if "variables" in fields:
            try:
                fields["variables"] = json.loads(fields["variables"])
            except ValueError:
                fields["variables"] = "not JSON"  # the model reports it as a validation error
        form_body = _validated(SendMediaForm, fields)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise RequestValidationError([{"type": "missing", "loc": ("body", "file"),
                                           "msg": "Field required: the file part"}])
        identity.check_session(form_body.session)
        uploaded = MediaUpload(chunks(upload), form_body.fileName or upload.filename, form_body.type)
        return {"success": True, "data": await gateway.messages.send_request(_media_request(form_body, uploaded))}
    finally:
        await form.close()


def _media_request(body: SendMediaForm, media: MediaFromUrl | MediaUpload) -> SendRequest:
    return SendRequest(session=body.session, to=body.to, text=body.caption, variables=body.variables,
                       reply_to=body.reply_to, media=media)


def _validated(model: type[Model], raw: bytes | dict[str, Any]) -> Model:
    try:
        return model.model_validate_json(raw) if isinstance(raw, bytes) else model.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in exc.errors(include_url=False)]
        ) from None


@router.post(
    "/{message_id}/reaction", response_model=Envelope[MessageOut],
    summary="React to a message with an emoji (an empty emoji removes the reaction)",
    responses={
        400: {"model": ErrorEnvelope, "description": "`invalid_emoji`: not exactly one emoji."},
        404: {"model": ErrorEnvelope, "description": "`message_not_found`, `session_not_found`."},
        409: {"model": ErrorEnvelope, "description": "`session_not_ready`, or `message_not_sent`: the message "
                                                     "never reached WhatsApp."},
    },
)
async def react(
    gateway: GatewayDep, identity: IdentityDep, body: ReactionIn,
    message_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="The message's id in the log.")],
) -> dict[str, Any]:
    record = await gateway.storage.messages.get(message_id)
    # Another session's message is as absent as a missing one: a limited key learns nothing of it.
    if record is None or not identity.may_see(record.session):
        raise NotFound(f"no message with id {message_id}", code="message_not_found")
    identity.check_session(record.session)
    return {"success": True, "data": await gateway.messages.reactions.send(record, body.emoji)}
