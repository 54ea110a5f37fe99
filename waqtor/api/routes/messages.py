"""`POST /api/messages/send*`: text, media (by URL or upload), location and contact card."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from waqtor.access.scopes import Identity
from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.message_models import (
    MessageOut,
    SendContactIn,
    SendLocationIn,
    SendMediaForm,
    SendMediaIn,
    SendTextIn,
    form_schema,
)
from waqtor.api.schemas import ERROR_RESPONSES, FORWARD_RESPONSES, Envelope, ErrorEnvelope
from waqtor.api.uploads import bounded, chunks
from waqtor.engines.base import ContactCard, Location
from waqtor.errors import InvalidInput, UnsupportedMediaType
from waqtor.messaging import phones, vcard
from waqtor.messaging.download import fetch
from waqtor.messaging.media import too_large
from waqtor.messaging.service import Draft

FORM_OVERHEAD = 1_048_576  # room for the form's other fields and boundaries around the file

SEND_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    400: {"model": ErrorEnvelope, "description": "`invalid_phone`, `missing_variables`, `invalid_template`, "
          "`not_on_whatsapp`, and for media `invalid_url`, `media_download_failed`, `empty_media`."},
    404: {"model": ErrorEnvelope, "description": "`session_not_found`, `reply_not_found`."},
    409: {"model": ErrorEnvelope, "description": "`session_not_ready`: the session cannot send now."},
    429: {"model": ErrorEnvelope, "description": "`send_queue_full` or `rate_limited`, with Retry-After."},
    502: {"model": ErrorEnvelope, "description": "The engine or WhatsApp refused the message (it is logged failed)."},
    **FORWARD_RESPONSES,
}

router = APIRouter(prefix="/api/messages", tags=["messages"], dependencies=[Depends(require("send"))],
                   responses=SEND_ERRORS)


async def _answer(gateway: Any, session: str, draft: Draft) -> dict[str, Any]:
    """Send from the instance that runs the session, and answer with the message as logged."""
    return {"success": True, "data": await gateway.messages.submit(session, draft)}


def _text(gateway: Any, text: str | None, to: phones.Recipient, variables: dict[str, Any] | None) -> str | None:
    if text is None or variables is None:
        return text
    return gateway.messages.render(text, to, variables)  # type: ignore[no-any-return]


async def _ready(gateway: Any, identity: Identity, session: str, to: str) -> phones.Recipient:
    """The recipient, after checking the key may use the session and the session can send: all fail
    fast, before any download."""
    identity.check_session(session)
    recipient = phones.normalize(to, gateway.settings.default_region)
    await gateway.messages.require_ready(session)
    return recipient


@router.post("/send", response_model=Envelope[MessageOut], summary="Send a text message")
async def send_text(gateway: GatewayDep, identity: IdentityDep, body: SendTextIn) -> dict[str, Any]:
    to = await _ready(gateway, identity, body.session, body.to)
    draft = Draft(to=to, text=_text(gateway, body.text, to, body.variables), reply_to=body.replyTo)
    return await _answer(gateway, body.session, draft)


@router.post("/send-location", response_model=Envelope[MessageOut], summary="Send a location")
async def send_location(gateway: GatewayDep, identity: IdentityDep, body: SendLocationIn) -> dict[str, Any]:
    to = await _ready(gateway, identity, body.session, body.to)
    place = Location(body.latitude, body.longitude, body.name, body.address)
    draft = Draft(to=to, type="location", location=place, reply_to=body.replyTo)
    return await _answer(gateway, body.session, draft)


@router.post("/send-contact", response_model=Envelope[MessageOut], summary="Send a contact card (vCard)")
async def send_contact(gateway: GatewayDep, identity: IdentityDep, body: SendContactIn) -> dict[str, Any]:
    to = await _ready(gateway, identity, body.session, body.to)
    if body.vcard is not None:
        card = ContactCard(vcard.display_name(body.vcard), body.vcard)
    else:
        assert body.name is not None and body.phone is not None
        number = phones.normalize(body.phone, gateway.settings.default_region)
        if number.phone is None:
            raise InvalidInput("phone: a contact card needs a phone number, not a group", code="invalid_phone")
        card = ContactCard(body.name, vcard.build(body.name, number.phone))
    draft = Draft(to=to, type="contact", contact=card, reply_to=body.replyTo)
    return await _answer(gateway, body.session, draft)


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
    store = gateway.messages.media
    if content_type == "application/json":
        body = _validated(SendMediaIn, await _small_body(request))
        to = await _ready(gateway, identity, body.session, body.to)
        media = await fetch(store, gateway.messages.http, body.url, timeout=gateway.settings.media_download_timeout,
                            given_name=body.fileName, requested=body.type)
    elif content_type == "multipart/form-data":
        limit = store.largest + FORM_OVERHEAD
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large("upload", int(declared), limit)
        try:
            form = await MultiPartParser(request.headers, bounded(request.stream(), limit),
                                         max_files=1, max_fields=16).parse()
        except MultiPartException as exc:
            raise InvalidInput(f"invalid multipart body: {exc.message}", code="invalid_multipart") from None
        try:
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            if "variables" in fields:
                try:
                    fields["variables"] = json.loads(fields["variables"])
                except ValueError:
                    fields["variables"] = "not JSON"  # the model reports it as a validation error
            body = _validated(SendMediaForm, fields)
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise RequestValidationError([{"type": "missing", "loc": ("body", "file"),
                                               "msg": "Field required: the file part"}])
            to = await _ready(gateway, identity, body.session, body.to)
            media = await store.save(chunks(upload), body.fileName or upload.filename, body.type)
        finally:
            await form.close()
    else:
        raise UnsupportedMediaType(
            "send-media takes application/json (with a url) or multipart/form-data (with a file part)"
        )
    draft = Draft(to=to, type=media.kind, text=_text(gateway, body.caption, to, body.variables), media=media,
                  reply_to=body.replyTo)
    return await _answer(gateway, body.session, draft)


def _validated(model: type[SendMediaForm], raw: bytes | dict[str, Any]) -> Any:
    try:
        return model.model_validate_json(raw) if isinstance(raw, bytes) else model.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in exc.errors(include_url=False)]
        ) from None


async def _small_body(request: Request, limit: int = 65_536) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large("JSON body", None, limit)
    return body
