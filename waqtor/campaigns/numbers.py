"""The phone numbers of a whole recipient list, normalised (`waqtor.messaging.phones`) in parallel when
the list is long.

libphonenumber's Python port takes about 30 to 60 µs a number, so 100,000 rows would take three to six
seconds on one core. From PARALLEL_FROM numbers on, the numbers go to a pool of worker processes
(spawned, never forked: the gateway runs threads, and the neonize engine a Go runtime) that lives for
this one call, in chunks of CHUNK **as the caller's iterable yields them**: the workers start (a
spawned worker takes a while to import) and check the first chunks while the caller is still reading
the rest of the file. A chunk whose worker could not start or died is normalised here instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import chain, islice
from typing import Any

from waqtor.errors import InvalidInput
from waqtor.messaging import phones

log = logging.getLogger(__name__)

PARALLEL_FROM = 10_000
CHUNK = 5_000
MAX_WORKERS = 4

# (jid, phone) for a number, or (None, None, message, details) for a refusal.
Normalised = tuple[str | None, str | None, str | None, dict[str, Any] | None]


def normalize_chunk(raws: Iterable[str], region: str | None) -> list[Normalised]:
    """Each of `raws` normalised, in order (a worker process runs this)."""
    found: list[Normalised] = []
    for raw in raws:
        try:
            recipient = phones.normalize(raw, region)
        except InvalidInput as exc:
            found.append((None, None, exc.message, dict(exc.details or {})))
            continue
        found.append((recipient.jid, recipient.phone, None, None))
    return found


def _chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(islice(items, size)):
        yield chunk


def normalize_many(raws: Iterable[str], region: str | None) -> list[Normalised]:
    """Like `normalize_chunk`, in worker processes when the list is long and there are cores to use.
    `raws` is consumed once, chunk by chunk; what it raises (the caller's own checks) goes through."""
    source = iter(raws)
    first = list(islice(source, PARALLEL_FROM))
    workers = min(MAX_WORKERS, os.cpu_count() or 1)
    if len(first) < PARALLEL_FROM or workers < 2:
        return normalize_chunk(chain(first, source), region)
    spawn = multiprocessing.get_context("spawn")
    pool: ProcessPoolExecutor | None = ProcessPoolExecutor(workers, mp_context=spawn)
    parts: list[tuple[list[str], Future[list[Normalised]] | None]] = []
    try:
        for chunk in _chunks(chain(first, source), CHUNK):
            future = None
            if pool is not None:
                try:
                    future = pool.submit(normalize_chunk, chunk, region)
                except Exception:
                    log.warning("could not start the worker processes; normalising the numbers here",
                                exc_info=True)
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = None
            parts.append((chunk, future))
        found: list[Normalised] = []
        for chunk, future in parts:
            try:
                found += future.result() if future is not None else normalize_chunk(chunk, region)
            except Exception:
                log.warning("a worker process failed; normalising its numbers here", exc_info=True)
                found += normalize_chunk(chunk, region)
        return found
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
