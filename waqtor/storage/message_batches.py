"""The message log's writes done for many messages at once (see `groupcommit`): inserts, and status moves
(compare-and-set) with the session counters that move with them, each batch in one transaction and as
few statements as the batch allows.

- **Inserts**: one multi-row `INSERT … RETURNING id` per shape of row (the same columns given). An
  incoming message is inserted with `ON CONFLICT DO NOTHING`: a redelivered one (same session,
  direction and WhatsApp id, the log's unique index) is not inserted, and its caller gets None.
- **Moves**: one `UPDATE messages … FROM (VALUES (id, expected, new, …), …) WHERE messages.id = id AND
  messages.status = expected RETURNING id` for the whole batch (PostgreSQL, and SQLite from 3.33): each
  message moves only from the status its caller saw, and the ids returned say which did.
- **Counters**: one `UPDATE session_state` per session and counter, adding what the batch counted.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Integer, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from waqtor.messaging.status import FAILED, STEP_COLUMN
from waqtor.storage.records import MediaRecord
from waqtor.storage.tables import messages, session_state


@dataclass(frozen=True, slots=True)
class NewMessage:
    """One row to log. `count`: the session counter it adds one to (`messages_received`); `new_only`:
    skip it (result None) when the log already holds its WhatsApp id in its direction."""

    values: dict[str, Any]
    attached: MediaRecord | None = None
    count: str | None = None
    new_only: bool = False

    def row(self) -> dict[str, Any]:
        return {**self.values, "media_id": self.attached.id if self.attached else None}

    @property
    def identity(self) -> tuple[str, str, str | None]:
        return self.values["session"], self.values["direction"], self.values.get("wa_id")


@dataclass(frozen=True, slots=True)
class Move:
    """Move message `id` from `expected` to `new` (setting its step time `at`, and `error` when it
    fails); `wa_id` is set with it when given; `count`: the session counter it adds one to."""

    id: int
    expected: str
    new: str
    at: datetime
    error: str | None = None
    wa_id: str | None = None
    session: str | None = None
    count: str | None = None


# Built once per counter (a statement built per batch showed in the profile); the values are parameters.
_ADD = {
    counter: update(session_state).where(session_state.c.session == bindparam("b_session"))
    .values({session_state.c[counter]: session_state.c[counter] + bindparam("b_added", type_=Integer)})
    for counter in ("messages_sent", "messages_received")
}


async def _add(conn: AsyncConnection, counted: Counter[tuple[str, str]]) -> None:
    for (session, counter), added in counted.items():
        await conn.execute(_ADD[counter], {"b_session": session, "b_added": added})


def _insert_new(dialect: str) -> Insert:
    """INSERT that skips a row the log's unique index already holds."""
    if dialect == "postgresql":
        return postgresql.insert(messages).on_conflict_do_nothing()
    return sqlite.insert(messages).on_conflict_do_nothing()


async def insert_batch(conn: AsyncConnection, items: Sequence[NewMessage]) -> list[int | None]:
    """Insert `items` in this transaction; each one's new id, or None for a `new_only` row the log already
    had. Rows of one shape go in one statement; their ids come back in the order given."""
    dialect = conn.dialect.name
    groups: dict[tuple[bool, tuple[str, ...]], list[int]] = {}
    rows = [item.row() for item in items]
    for index, (item, row) in enumerate(zip(items, rows, strict=True)):
        groups.setdefault((item.new_only, tuple(row)), []).append(index)
    ids: list[int | None] = [None] * len(items)
    for (new_only, _), indexes in groups.items():
        if new_only:
            # Rows a conflict skipped return nothing: match the others by their (unique) identity.
            statement = _insert_new(dialect).returning(
                messages.c.id, messages.c.session, messages.c.direction, messages.c.wa_id)
            result = await conn.execute(statement, [rows[i] for i in indexes])
            stored = {(row.session, row.direction, row.wa_id): row.id for row in result}
            for i in indexes:
                ids[i] = stored.get(items[i].identity)
        else:
            for i, new_id in zip(indexes, await _ordered_ids(conn, [rows[i] for i in indexes]), strict=True):
                ids[i] = new_id
    counted: Counter[tuple[str, str]] = Counter()
    for item, stored_id in zip(items, ids, strict=True):
        if stored_id is not None and item.count is not None:
            counted[(item.values["session"], item.count)] += 1
    await _add(conn, counted)
    return ids


async def _ordered_ids(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` with one statement; their ids in the order given."""
    if conn.dialect.name == "postgresql" or len(rows) == 1:
        # SQLAlchemy orders PostgreSQL's RETURNING rows by the parameters itself (its sentinel support).
        result = await conn.execute(insert(messages).returning(messages.c.id, sort_by_parameter_order=True), rows)
        return [int(row.id) for row in result.all()]
    # SQLite: asked to keep the order, SQLAlchemy would insert row by row. Its multi-row INSERTs
    # ("insertmanyvalues") assign consecutive rowids in the order of their VALUES while this
    # transaction holds the write lock; the RETURNING rows may come in any order, so they are sorted.
    # Ids that are not consecutive would mean that reasoning failed: the batch is undone and its rows
    # are written one by one.
    result = await conn.execute(insert(messages).returning(messages.c.id), rows)
    ids = sorted(int(row.id) for row in result.all())
    if len(ids) != len(rows) or ids[-1] - ids[0] != len(rows) - 1:
        raise RuntimeError(f"a multi-row insert returned ids that are not consecutive: {ids[:3]}…")
    return ids


# One row of the moves' VALUES list: id, expected status, new status, step time, error, WhatsApp id.
_MOVE_TYPES = ("BIGINT", "VARCHAR", "VARCHAR", "TIMESTAMP WITHOUT TIME ZONE", "TEXT", "VARCHAR")


@functools.lru_cache(maxsize=1024)
def _move_sql(dialect: str, count: int) -> str:
    """The driver's SQL moving `count` messages at once: each row of the VALUES list moves the message
    with its id only from its expected status (compare-and-set), and RETURNING names those it moved.
    Written by hand and cached by size: building and compiling a SQLAlchemy statement of a few hundred
    parameters for every batch cost more than the round trips it saved."""
    width = len(_MOVE_TYPES)
    if dialect == "postgresql":
        rows = ", ".join(
            "(" + ", ".join(f"CAST(${n * width + k + 1} AS {kind})" for k, kind in enumerate(_MOVE_TYPES)) + ")"
            for n in range(count))
    else:
        rows = ", ".join(["(" + ", ".join("?" * width) + ")"] * count)
    steps = ", ".join(f"{column} = CASE WHEN v.column3 = '{step}' THEN v.column4 ELSE messages.{column} END"
                      for step, column in STEP_COLUMN.items())
    return (f"UPDATE messages SET status = v.column3, {steps}, "
            f"error = CASE WHEN v.column3 = '{FAILED}' THEN v.column5 ELSE messages.error END, "
            f"wa_id = COALESCE(v.column6, messages.wa_id) "
            f"FROM (VALUES {rows}) AS v "
            f"WHERE messages.id = v.column1 AND messages.status = v.column2 RETURNING messages.id")


async def move_batch(conn: AsyncConnection, moves: Sequence[Move]) -> list[bool]:
    """Apply `moves` (distinct ids) in this transaction; for each, whether the message was still in
    `expected` and moved. Counters move only for the messages that moved."""
    if not moves:
        return []
    dialect = conn.dialect
    when = _processor(messages.c.sent_at, dialect)
    params: list[Any] = []
    for m in moves:
        params += (m.id, m.expected, m.new, when(m.at), m.error if m.new == FAILED else None, m.wa_id)
    result = await conn.exec_driver_sql(_move_sql(dialect.name, len(moves)), tuple(params))
    moved = {int(row[0]) for row in result}
    counted: Counter[tuple[str, str]] = Counter()
    for move in moves:
        if move.id in moved and move.count is not None and move.session is not None:
            counted[(move.session, move.count)] += 1
    await _add(conn, counted)
    return [move.id in moved for move in moves]


def _processor(column: Any, dialect: Any) -> Callable[[Any], Any]:
    found = column.type.bind_processor(dialect)
    return found if found is not None else (lambda value: value)
