"""The phone numbers of a whole recipient list, normalised (`waqtor.messaging.phones`) in parallel when
the list is long.

libphonenumber's Python port takes about 60 µs a number, so 100,000 rows would take six seconds on
one core. From PARALLEL_FROM numbers on, the list is split over a pool of worker processes (spawned,
never forked: the gateway runs threads, and the neonize engine a Go runtime) that lives for this one
call; if the pool cannot start, the numbers are normalised here instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from typing import Any

from waqtor.errors import InvalidInput
from waqtor.messaging import phones

log = logging.getLogger(__name__)

PARALLEL_FROM = 10_000
MAX_WORKERS = 4

# (jid, phone) for a number, or (None, None, message, details) for a refusal.
Normalised = tuple[str | None, str | None, str | None, dict[str, Any] | None]


def normalize_chunk(raws: Sequence[str], region: str | None) -> list[Normalised]:
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


def normalize_many(raws: Sequence[str], region: str | None) -> list[Normalised]:
    """Like `normalize_chunk`, in worker processes when the list is long and there are cores to use."""
    workers = min(MAX_WORKERS, os.cpu_count() or 1)
    if len(raws) < PARALLEL_FROM or workers < 2:
        return normalize_chunk(raws, region)
    size = -(-len(raws) // (workers * 2))
    chunks = [raws[start:start + size] for start in range(0, len(raws), size)]
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            return [item for part in pool.map(normalize_chunk, chunks, repeat(region)) for item in part]
    except Exception:
        log.warning("could not normalise the numbers in worker processes; doing it here", exc_info=True)
        return normalize_chunk(raws, region)
