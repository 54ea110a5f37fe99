"""Streamed exports as HTTP answers: each holds one of its key's export slots for as long as it streams.

The slot is taken before anything is read, and given back when the answer ends, whether it was read
to the end, the client went away, or the first page could not be read. The first page is read before
the answer starts, so an export that fails at once (the database busy or out of reach) is still an
error answer with its code, not a 200 cut short.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from waqtor.access.scopes import Identity
from waqtor.exports import ExportSlots

GATEWAY_KEY = ""  # the slot holder of the gateway's own key, which has no id


async def _close(chunks: AsyncIterator[str]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()


async def _resumed(first: str | None, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    try:
        if first is not None:
            yield first
        async for chunk in rest:
            yield chunk
    finally:
        await _close(rest)


class _Export(StreamingResponse):
    def __init__(self, content: AsyncIterator[str], give_back: Callable[[], None], *, media_type: str,
                 filename: str) -> None:
        super().__init__(content, media_type=media_type,
                         headers={"Content-Disposition": f'attachment; filename="{filename}"'})
        self._give_back = give_back
        self._chunks = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._give_back()
            await _close(self._chunks)

    def __del__(self) -> None:
        # An answer dropped before it was sent (the request was cancelled first) gives its slot back too.
        self._give_back()


async def export_answer(slots: ExportSlots, identity: Identity, chunks: Callable[[], Awaitable[AsyncIterator[str]]],
                        *, media_type: str, filename: str) -> StreamingResponse:
    """The streamed answer of `await chunks()`, in one of `identity`'s export slots. RateLimited
    (`too_many_exports`) when it has none free; what `chunks()` or its first page raises."""
    give_back = slots.take(identity.key_id or GATEWAY_KEY)
    opened: AsyncIterator[str] | None = None
    try:
        opened = await chunks()
        first = await anext(opened, None)
    except BaseException:
        give_back()
        if opened is not None:
            await _close(opened)
        raise
    return _Export(_resumed(first, opened), give_back, media_type=media_type, filename=filename)
