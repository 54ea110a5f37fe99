"""Request bodies read within a bound: the one reader every route that reads its own body uses
(multipart forms are read by waqtor.api.forms, on these bounds).

`BodyLimit` (waqtor.api.body_limit) bounds every request at the HTTP level; a route whose body has a
tighter bound of its own (a JSON body inside an upload route, a public webhook) reads it here. A
`Content-Length` over the bound is refused before anything is read, and a body is counted as it
arrives and cut off past the bound: either way with the route's own error, made by `too_large(size)`
(`size` the declared length, or None when the body was cut off while it was read).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable

from starlette.datastructures import UploadFile
from starlette.requests import Request

from waqtor.errors import WaqtorError
from waqtor.messaging.media import CHUNK

FORM_OVERHEAD = 1_048_576  # room for a form's other fields and the boundaries around its files

TooLarge = Callable[[int | None], WaqtorError]


def check_declared(request: Request, limit: int, too_large: TooLarge) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared))


async def bounded(stream: AsyncIterator[bytes], limit: int, too_large: TooLarge) -> AsyncGenerator[bytes, None]:
    """`stream`, raising `too_large(None)` once more than `limit` bytes came."""
    total = 0
    async for chunk in stream:
        total += len(chunk)
        if total > limit:
            raise too_large(None)
        yield chunk


async def read_body(request: Request, limit: int, too_large: TooLarge) -> bytes:
    """The whole body, at most `limit` bytes."""
    check_declared(request, limit, too_large)
    body = bytearray()
    async for chunk in bounded(request.stream(), limit, too_large):
        body += chunk
    return bytes(body)


async def chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    """An uploaded file's bytes, a chunk at a time."""
    while chunk := await upload.read(CHUNK):
        yield chunk
