"""Failed authentications, counted per client address: past `WAQTOR_AUTH_FAILURES` (e.g. 10/minute)
the address is refused with 429 `too_many_failed_auth` (REST) or close code 1008 (WebSocket) until the
window frees a slot, whatever key it presents, so guessing keys is slowed down to a crawl.

The address is the connecting peer's, or, when that peer is one of WAQTOR_TRUSTED_PROXIES, the client's
it names in X-Forwarded-For (uvicorn's proxy-headers middleware sets it, `waqtor.server`): a client
cannot pick the address it is counted under, and clients behind one proxy are counted apart.

The counters live where the REST rate limit's do (memory, or the shared Redis, so every instance counts
the same failures). Only failures touch the shared store: a blocked address is also remembered in this
process until its window frees, so a correct key costs no extra round trip. When the store cannot be
reached the throttle fails open (a warning), like the REST rate limit.
"""

from __future__ import annotations

import logging
import math
import time

from waqtor.errors import RateLimited, Unavailable
from waqtor.rate_window import RateWindow

log = logging.getLogger(__name__)


class AuthThrottle:
    def __init__(self, window: RateWindow | None) -> None:
        self._window = window
        self._blocked: dict[str, float] = {}  # address -> epoch seconds when it may try again

    def check(self, address: str) -> None:
        """RateLimited (`too_many_failed_auth`) while `address` is blocked on this instance."""
        until = self._blocked.get(address)
        if until is None:
            return
        left = until - time.time()
        if left <= 0:
            self._blocked.pop(address, None)
            return
        raise self._refusal(left)

    async def failed(self, address: str) -> None:
        """Count one failure of `address`; RateLimited when it went over the limit."""
        if self._window is None:
            return
        try:
            decision = await self._window.hit(address)
        except Unavailable as exc:
            log.warning("failed authentications not counted: %s", exc.message)
            return
        if decision.allowed and decision.remaining > 0:
            return
        if len(self._blocked) > 10_000:  # bounded: forget the blocks that have run out
            now = time.time()
            self._blocked = {a: t for a, t in self._blocked.items() if t > now}
        retry = max(1.0, decision.retry_after())
        self._blocked[address] = time.time() + retry
        log.warning("authentication throttled for %s after repeated failures (retry in %d s)", address,
                    math.ceil(retry))
        if not decision.allowed:
            raise self._refusal(retry)

    @staticmethod
    def _refusal(retry: float) -> RateLimited:
        return RateLimited(f"Too many failed authentications from this address; retry in {math.ceil(retry)} s.",
                           retry_after=retry, code="too_many_failed_auth")

    async def close(self) -> None:
        if self._window is not None:
            await self._window.close()
