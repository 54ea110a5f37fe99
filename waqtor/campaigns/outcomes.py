"""Recipient statuses that follow a send (sent, failed) or an acknowledgement (delivered, read), written
to the database in batches.

Why batches: a campaign sends hundreds of messages a second with zero delay, and each one would
otherwise cost up to three more writes. Why it is safe: the step that must be durable before a
message goes out — the claim, `pending → sending` — is never buffered, and after a crash every
recipient left `sending` is settled from the message log (see `runner.settle`), which holds the
truth of each send. An acknowledgement lost with the buffer is caught up from the log the same way.

Policy: one outcome waits per recipient. An outcome is taken only when it moves its recipient forward
from the last status this buffer took for it (remembered for the latest `remember` recipients), so a
late report never shows a recipient going back. The buffer is written every `interval` seconds, as
soon as `limit` outcomes wait, and before anyone counts the recipients; a write that fails is logged
and retried. Overflow (the database is down and `most` outcomes wait): the oldest is dropped, with a
warning; its recipient is caught up from the message log when its session's sender starts again (a
recipient left `sending` at once, by the sender itself, when it finds one at the end of a campaign).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict

from waqtor.campaigns.model import can_move_recipient
from waqtor.storage.campaigns import CampaignRepository, Outcome

log = logging.getLogger(__name__)


class OutcomeBuffer:
    def __init__(self, repo: CampaignRepository, interval: float = 0.1, limit: int = 500,
                 remember: int = 10_000, most: int = 50_000) -> None:
        self._repo = repo
        self._interval = interval
        self._limit = limit
        self._most = most
        self.dropped = 0
        self._remember = remember
        self._known: OrderedDict[int, str] = OrderedDict()
        self._waiting: dict[int, Outcome] = {}
        self._lock = asyncio.Lock()
        self._full = asyncio.Event()

    def put(self, outcome: Outcome) -> bool:
        """Queue `outcome`; False when it is not a step forward from the recipient's last known
        status (then it is dropped)."""
        rid = outcome.recipient_id
        known = self._known.get(rid)
        if known is not None and not can_move_recipient(known, outcome.status):
            return False
        waiting = self._waiting.get(rid)
        if waiting is not None and outcome.message_id is None and waiting.message_id is not None:
            outcome = Outcome(rid, outcome.status, outcome.at, outcome.reason, waiting.message_id)
        self._waiting[rid] = outcome
        self.know(rid, outcome.status)
        if len(self._waiting) > self._most:
            oldest = next(iter(self._waiting))
            del self._waiting[oldest]
            self.dropped += 1
            log.warning("campaigns: %d recipient statuses wait to be written; dropped the oldest (recipient %d), "
                        "which is caught up from the message log later", self._most, oldest)
        if len(self._waiting) >= self._limit:
            self._full.set()
        return True

    def know(self, recipient_id: int, status: str) -> None:
        """Remember that the recipient now stands at `status` (the runner tells it about claims)."""
        self._known[recipient_id] = status
        self._known.move_to_end(recipient_id)
        while len(self._known) > self._remember:
            self._known.popitem(last=False)

    def __len__(self) -> int:
        return len(self._waiting)

    async def flush(self) -> None:
        """Write every waiting outcome now."""
        async with self._lock:
            if not self._waiting:
                return
            batch, self._waiting = self._waiting, {}
            self._full.clear()
            try:
                await self._repo.apply(list(batch.values()))
            except BaseException:
                # Put them back behind anything newer, to be written next time.
                for rid, outcome in batch.items():
                    self._waiting.setdefault(rid, outcome)
                raise

    async def run(self) -> None:
        """Write the buffer every interval or when it fills, for ever (the owner cancels it)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self._interval)
            try:
                await self.flush()
            except Exception:
                log.exception("campaigns: could not write %d recipient statuses; retrying", len(self._waiting))
                await asyncio.sleep(self._interval)
