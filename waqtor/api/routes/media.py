"""`GET /api/media/{id}`: a stored file (upload, download or received media) to an authenticated caller;
a key limited to sessions gets only the files of their messages and campaigns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import FileResponse

from waqtor.api.deps import GatewayDep, IdentityDep, require
from waqtor.api.schemas import ERROR_RESPONSES, ErrorEnvelope

router = APIRouter(prefix="/api/media", tags=["media"], dependencies=[Depends(require("read"))],
                   responses=ERROR_RESPONSES)

INLINE_KINDS = ("image", "video", "audio")


@router.get(
    "/{media_id}",
    response_class=FileResponse,
    summary="Download a stored media file",
    responses={
        200: {"description": "The file, with its detected MIME type.",
              "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        404: {"model": ErrorEnvelope, "description": "`media_not_found`, or `media_expired` after retention."},
    },
)
async def get_media(
    gateway: GatewayDep,
    identity: IdentityDep,
    media_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The media id (32 hex digits).")],
) -> FileResponse:
    store = gateway.messages.media
    record = await store.get(media_id, identity.sessions)
    return FileResponse(
        store.path(record),
        media_type=record.mimetype,
        filename=record.file_name,
        content_disposition_type="inline" if record.kind in INLINE_KINDS else "attachment",
        # Whatever the file holds, a browser must not run it in the gateway's origin.
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"},
    )
