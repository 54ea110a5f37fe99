"""Recipients from a CSV file or a JSON list, checked row by row (pure).

CSV rules:

- The bytes are UTF-8 (a byte-order mark, as Excel writes it, is dropped) or UTF-16 with its BOM.
- The delimiter is sniffed among `,` `;` tab and `|`; quoting is the usual `"…"` with `""` inside.
- The first row is the header, of at most MAX_COLUMNS columns (`too_many_columns` beyond). The
  phone column is the one named `phone_column`, else the first one whose name is a common name for a
  phone (phone, mobile, number, whatsapp, msisdn, tel, cell, to…, in any case, with or without
  spaces, `_` or `-`). The name column likewise (name, full name…) is
  optional and also fills `{name}`. Every other column is a variable: its header, with every run of
  characters other than letters, digits and `_` made one `_` (`First Name` → `{First_Name}`).
- Empty lines are ignored. Each other row becomes a recipient, or a problem with its row number (the
  header is row 1), the raw phone and a code: `invalid_phone` (with the reason), `duplicate` (the
  same WhatsApp number as an earlier row), `missing_variables` (the template needs a value the row
  lacks) or `malformed_row` (more cells than the header has columns).

A JSON list gives the same checks, numbered from 1, with `phone`, optional `name` and `variables`.

Either way at most `max_rows` recipients (`too_many_recipients` beyond: rows refused while they are read,
malformed ones, do not count). The report keeps the first PROBLEMS_KEPT problems in row order and
counts every one; a refused row is not kept beyond that, so a file of bad rows costs no more memory
than a file of good ones.
"""

from __future__ import annotations

import codecs
import csv
import heapq
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from waqtor.campaigns.numbers import Normalised, normalize_chunk
from waqtor.errors import InvalidInput
from waqtor.messaging.templates import variables_in

# Normalises raw phone numbers, in order, consuming the iterable once (`numbers.normalize_many` does it
# in parallel).
Normalizer = Callable[[Iterable[str], str | None], list[Normalised]]

DELIMITERS = ",;\t|"
SNIFF_SAMPLE = 65_536
MAX_CELL = 4_096
BUILTINS = frozenset({"phone", "date", "time"})
NO_PHONE_BUILTINS = BUILTINS - {"phone"}  # a group's chat id has no phone number
PHONE_NAMES = (
    "phone", "phonenumber", "phoneno", "mobile", "mobilenumber", "mobilephone", "number", "whatsapp",
    "whatsappnumber", "msisdn", "tel", "telephone", "cell", "cellphone", "to", "recipient", "contact",
)
NAME_NAMES = ("name", "fullname", "contactname", "customername", "displayname")
PROBLEMS_KEPT = 100
MAX_COLUMNS = 200


@dataclass(frozen=True, slots=True)
class Row:
    """An accepted recipient: its row, where it goes, and the values for the template."""

    row: int
    phone: str
    jid: str
    name: str | None
    variables: dict[str, str]


@dataclass(frozen=True, slots=True)
class Problem:
    row: int
    input: str | None
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {"row": self.row, "input": self.input, "code": self.code, "message": self.message,
                "details": self.details}


@dataclass
class Report:
    """What an import found: the accepted rows, and the first PROBLEMS_KEPT problems with a count of
    every problem by code (`omitted`: how many more there were)."""

    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_counts: Counter[str] = field(default_factory=Counter)
    seen: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # header → variable name
    phone_column: str | None = None
    name_column: str | None = None

    def add(self, problem: Problem) -> None:
        self.problem_counts[problem.code] += 1
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append(problem)

    @property
    def omitted(self) -> int:
        """Problems counted but not listed."""
        return sum(self.problem_counts.values()) - len(self.problems)

    @property
    def variables(self) -> list[str]:
        """Every variable name a row may carry, sorted."""
        names = {name for row in self.rows for name in row.variables}
        return sorted(names)

    def view(self) -> dict[str, Any]:
        return {
            "rows": self.seen,
            "accepted": len(self.rows),
            "rejected": sum(self.problem_counts.values()),
            "problemCounts": dict(sorted(self.problem_counts.items())),
            "problems": [p.view() for p in self.problems],
            "problemsTruncated": self.omitted > 0,
            "problemsOmitted": self.omitted,
            "phoneColumn": self.phone_column,
            "nameColumn": self.name_column,
            "columns": [{"header": h, "variable": v} for h, v in self.columns.items()],
        }


def template_values(name: str | None, variables: Mapping[str, Any]) -> dict[str, Any]:
    """What fills a recipient's template: its variables, and `{name}` from its name unless a
    variable of that name says otherwise."""
    return {"name": name, **variables} if name else dict(variables)


def _key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.lower())


def variable_name(header: str) -> str:
    """A CSV header as a template variable: `First Name` → `First_Name`, `2nd` → `_2nd`."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", header.strip()).strip("_")
    if not name:
        return ""
    return "_" + name if name[0].isdigit() else name


def too_many_recipients(limit: int) -> InvalidInput:
    """The error of a list (a CSV file or a JSON list) with more than `limit` recipients."""
    return InvalidInput(f"more than {limit} recipients (WAQTOR_CAMPAIGN_MAX_RECIPIENTS); split the list",
                        code="too_many_recipients", details={"limit": limit})


def decode(data: bytes) -> str:
    """The text of a CSV file; InvalidInput (`invalid_csv`) when it is not UTF-8 or UTF-16 with a BOM."""
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the CSV file is not {encoding.upper().removesuffix('-SIG')} text (a bad byte at offset "
            f"{exc.start}); save it as \"CSV UTF-8\"",
            code="invalid_csv",
        ) from None


def _delimiter(text: str) -> str:
    sample = text[:SNIFF_SAMPLE]
    header = sample.split("\n", 1)[0]
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
        if found in header:
            return found
    except csv.Error:
        pass  # one column, or too little text to tell: count in the header instead
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _cell(cells: Sequence[str], index: int | None) -> str:
    return cells[index].strip()[:MAX_CELL] if index is not None and index < len(cells) else ""


def _pick(headers: Sequence[str], wanted: str | None, names: Sequence[str], what: str) -> int | None:
    keys = [_key(h) for h in headers]
    if wanted is not None:
        if wanted in headers:
            return headers.index(wanted)
        if _key(wanted) in keys:
            return keys.index(_key(wanted))
        raise InvalidInput(f"the CSV has no {what} column {wanted!r} (its columns: {', '.join(headers)})",
                           code="no_phone_column" if what == "phone" else "no_name_column",
                           details={"columns": list(headers)})
    for name in names:
        if name in keys:
            return keys.index(name)
    return None


def parse_csv(
    data: bytes,
    template: str,
    *,
    default_region: str | None = None,
    phone_column: str | None = None,
    name_column: str | None = None,
    max_rows: int = 100_000,
    normalize: Normalizer = normalize_chunk,
) -> Report:
    """Read a CSV file of recipients for `template` (see the module's rules). Raises InvalidInput:
    `invalid_csv` (not text, no header, or a broken quote), `no_phone_column`, `too_many_recipients`."""
    text = decode(data)
    if not text.strip():
        raise InvalidInput("the CSV file is empty", code="invalid_csv")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        headers = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise InvalidInput(f"the CSV file has no readable header row: {exc}", code="invalid_csv") from None
    if len(headers) > MAX_COLUMNS:
        raise InvalidInput(f"the CSV header has {len(headers)} columns, more than {MAX_COLUMNS}: keep the phone, "
                           f"the name and the columns the message uses", code="too_many_columns",
                           details={"columns": len(headers), "limit": MAX_COLUMNS})
    phone_at = _pick(headers, phone_column, PHONE_NAMES, "phone")
    if phone_at is None:
        raise InvalidInput(
            f"the CSV has no phone column: name one phone, mobile or number, or say which with "
            f"phoneColumn (its columns: {', '.join(headers) or 'none'})",
            code="no_phone_column", details={"columns": headers},
        )
    name_at = _pick(headers, name_column, NAME_NAMES, "name")
    report = Report(phone_column=headers[phone_at], name_column=headers[name_at] if name_at is not None else None)
    variable_at: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        if index in (phone_at, name_at):
            continue
        name = variable_name(header)
        if name and name not in taken:
            taken.add(name)
            variable_at[index] = name
            report.columns[header] = name

    def rows() -> Iterable[tuple[int, str | None, dict[str, Any] | Problem]]:
        try:
            for cells in reader:
                number = reader.line_num
                if not "".join(cells).strip():  # an empty line, or only blank cells
                    continue
                if len(cells) > len(headers):
                    raw = cells[phone_at].strip()[:64] if phone_at < len(cells) else None
                    yield number, raw, Problem(
                        number, raw, "malformed_row",
                        f"row {number} has {len(cells)} cells but the header has {len(headers)} columns "
                        f"(a value with the delimiter in it needs quotes)",
                        {"cells": len(cells), "columns": len(headers)})
                    continue
                values = {name: value for i, name in variable_at.items() if (value := _cell(cells, i))}
                yield number, _cell(cells, phone_at), {"name": _cell(cells, name_at) or None, "variables": values}
        except csv.Error as exc:
            raise InvalidInput(f"the CSV file is malformed at row {reader.line_num}: {exc}",
                               code="invalid_csv", details={"row": reader.line_num}) from None

    _check(rows(), template, default_region, max_rows, report, normalize)
    return report


def from_list(
    items: Sequence[Mapping[str, Any]], template: str, *, default_region: str | None = None, max_rows: int = 100_000,
    normalize: Normalizer = normalize_chunk,
) -> Report:
    """Check a JSON list of `{"phone", "name"?, "variables"?}` (already shaped by the API model)."""
    report = Report()

    def rows() -> Iterable[tuple[int, str | None, dict[str, Any] | Problem]]:
        for number, item in enumerate(items, start=1):
            variables = {k: str(v).strip()[:MAX_CELL] for k, v in (item.get("variables") or {}).items()
                         if str(v).strip()}
            yield number, item.get("phone"), {"name": item.get("name"), "variables": variables}

    _check(rows(), template, default_region, max_rows, report, normalize)
    return report


def _check(
    rows: Iterable[tuple[int, str | None, dict[str, Any] | Problem]],
    template: str,
    default_region: str | None,
    max_rows: int,
    report: Report,
    normalize: Normalizer,
) -> None:
    needed = variables_in(template)
    read: list[tuple[int, str | None, dict[str, Any]]] = []
    early: list[Problem] = []  # the first problems found while reading (malformed rows); the rest counted

    def raws() -> Iterator[str]:
        # Yielded as the rows are read, so a parallel normaliser checks numbers while the file is read.
        for number, raw, found in rows:
            report.seen += 1
            if isinstance(found, Problem):
                report.problem_counts[found.code] += 1
                if len(early) < PROBLEMS_KEPT:
                    early.append(found)
                continue
            if len(read) == max_rows:
                raise too_many_recipients(max_rows)
            read.append((number, raw, found))
            yield raw or ""

    numbers = iter(normalize(raws(), default_region))
    first_row: dict[str, int] = {}
    for number, raw, found in read:  # in row order, so the problems are listed in row order
        jid, phone, refusal, details = next(numbers)
        shown = raw[:64] if raw else raw
        if jid is None:
            report.add(Problem(number, shown, "invalid_phone", refusal or "invalid phone number", details or {}))
            continue
        if jid in first_row:
            report.add(Problem(number, shown, "duplicate", f"row {number} repeats the number of row "
                               f"{first_row[jid]}", {"firstRow": first_row[jid]}))
            continue
        name = found["name"]
        variables: dict[str, str] = found["variables"]  # a dict of its own, made for this row
        missing = [v for v in needed if v not in variables and not (v == "name" and name)
                   and v not in (BUILTINS if phone else NO_PHONE_BUILTINS)] if needed else None
        if missing:
            names = ", ".join("{" + v + "}" for v in missing)
            report.add(Problem(number, shown, "missing_variables", f"row {number} has no value for {names}",
                               {"missing": missing}))
            continue
        first_row[jid] = number
        report.rows.append(Row(number, phone or jid, jid, name, variables))
    # Both lists are in row order and hold at least the first PROBLEMS_KEPT of their kind.
    report.problems = list(islice(heapq.merge(early, report.problems, key=lambda p: p.row), PROBLEMS_KEPT))
