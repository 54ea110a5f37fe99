"""CSV exports streamed in pieces: a header, then rows written batch by batch as the database gives them,
so an export of any size holds one batch in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, TypeVar

Record = TypeVar("Record")


async def csv_text(header: Sequence[str], batches: AsyncIterator[Sequence[Record]],
                   row: Callable[[Record], Iterable[Any]]) -> AsyncIterator[str]:
    """The CSV text of `header` and of `row(record)` for every record, a piece per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    async for batch in batches:
        writer.writerows(row(record) for record in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
