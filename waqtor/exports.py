"""CSV exports streamed in pieces: a header, then rows written batch by batch as the database gives them,
so an export of any size holds one batch in memory.

Every text cell that a spreadsheet would read as a formula (it starts with `=`, `+`, `-`, `@`, a tab or
a carriage return) is written with a single quote before it, as OWASP recommends against CSV formula
injection: received messages come from anyone on WhatsApp, and `=HYPERLINK(…)` must open as text. A
phone number in E.164 (`+4915…`) starts with `+`, so it is written `'+4915…` too: one rule for every
cell, header included (a campaign's variable names come from its uploaded file).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, TypeVar

Record = TypeVar("Record")

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value`, with a single quote before it when it is text a spreadsheet would take for a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _safe(cells: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in cells]


async def csv_text(header: Sequence[str], batches: AsyncIterator[Sequence[Record]],
                   row: Callable[[Record], Iterable[Any]]) -> AsyncIterator[str]:
    """The CSV text of `header` and of `row(record)` for every record, a piece per batch, every cell
    made safe for spreadsheets (see the module's docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_safe(header))
    async for batch in batches:
        writer.writerows(_safe(row(record)) for record in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
