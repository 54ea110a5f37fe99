"""What WhatsApp last said about a number, kept for a while (pure; the clock is passed in).

An account is not made or closed often, and every check is a query to WhatsApp (which watches accounts
that ask about many numbers), so POST /api/contacts/check remembers each answer per session: a number on
WhatsApp for POSITIVE_TTL, one without an account for NEGATIVE_TTL (it may join soon). The memory is
bounded: past SIZE answers the oldest are forgotten first. It lives in the instance that runs the
session, and is forgotten when the session stops running there.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta

POSITIVE_TTL = timedelta(hours=24)
NEGATIVE_TTL = timedelta(hours=1)
SIZE = 100_000  # answers kept, all sessions of the instance together

class NumberCache:
    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._answers: OrderedDict[tuple[str, str], tuple[str | None, datetime]] = OrderedDict()

    def known(self, session: str, jids: Iterable[str], now: datetime) -> dict[str, str | None]:
        """The answers still fresh at `now` for `jids`: the account's JID, or None (no account)."""
        found: dict[str, str | None] = {}
        for jid in jids:
            entry = self._answers.get((session, jid))
            if entry is None:
                continue
            if entry[1] <= now:
                del self._answers[(session, jid)]
                continue
            found[jid] = entry[0]
        return found

    def put(self, session: str, answers: dict[str, str | None], now: datetime) -> None:
        for jid, account in answers.items():
            key = (session, jid)
            self._answers.pop(key, None)
            self._answers[key] = (account, now + (POSITIVE_TTL if account is not None else NEGATIVE_TTL))
        while len(self._answers) > self._size:
            self._answers.popitem(last=False)

    def forget(self, session: str) -> None:
        for key in [key for key in self._answers if key[0] == session]:
            del self._answers[key]

    def __len__(self) -> int:
        return len(self._answers)
