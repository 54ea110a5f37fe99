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

from waqtor.errors import RateLimited

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


class ExportSlots:
    """The exports each API key has streaming on this instance, at most `per_key` at once: an export
    may last as long as its client reads, so a key cannot open them without bound."""

    RETRY_AFTER = 5.0  # seconds; when one ends is up to its reader

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._held: dict[str, int] = {}

    def held(self, holder: str) -> int:
        return self._held.get(holder, 0)

    def take(self, holder: str) -> Callable[[], None]:
        """Count one more export of `holder` (a key's id); the function that gives it back, which
        counts once however often it is called. RateLimited (`too_many_exports`) when `holder` has
        `per_key` exports streaming already."""
        if self.held(holder) >= self.per_key:
            raise RateLimited(f"this API key has {self.per_key} exports streaming already "
                              "(WAQTOR_EXPORTS_PER_KEY); retry when one has ended",
                              retry_after=self.RETRY_AFTER, code="too_many_exports")
        self._held[holder] = self.held(holder) + 1
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            if given_back:
                return
            given_back = True
            left = self.held(holder) - 1
            if left > 0:
                self._held[holder] = left
            else:
                self._held.pop(holder, None)

        return give_back
