"""A long result read page by page (keyset pagination), each page on a connection of its own.

A server-side cursor holds its connection for as long as its reader takes: a client that reads an
export slowly, or not at all, would keep a pooled connection until it went away, and a few such
clients would take the whole pool. A page here is read whole and its connection given back before the
page is handed on, so a slow reader holds no connection while it reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

Row = TypeVar("Row")


async def keyset_pages(read: Callable[[int | None], Awaitable[Sequence[Row]]], key: Callable[[Row], int],
                       size: int) -> AsyncIterator[Sequence[Row]]:
    """Every row of a result in key order, in pages of at most `size`. `read(after)` answers the next
    page (at most `size` rows with keys above `after`; None: from the first), on a connection it
    returns before answering. A page shorter than `size` is the last."""
    after: int | None = None
    while True:
        page = await read(after)
        if page:
            yield page
        if len(page) < size:
            return
        after = key(page[-1])
