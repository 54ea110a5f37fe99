"""What every Redis user of the gateway shares: the URL with its key prefix, and the loop that keeps
reading through a lost connection.

The bus, the command channel and the key-revocation notices each read from Redis for as long as they
run. When Redis goes away they retry after a pause that grows from `minimum` to `maximum`, say once
that Redis is lost and once that it is back (not at every retry), and go on where they were.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs, urlsplit, urlunsplit

from waqtor.errors import ConfigError

log = logging.getLogger(__name__)


def parse_url(url: str) -> tuple[str, str]:
    """Split `redis://host:port/db?prefix=name` into the connection URL and the key prefix."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigError(f"not a Redis URL: {url!r}")
    query = parse_qs(parts.query)
    prefix = query.pop("prefix", ["waqtor"])[0]
    rest = "&".join(f"{k}={v}" for k, values in query.items() for v in values)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, "")), prefix


class Reconnect:
    """The pause and the log lines of one loop that reads from Redis (`what` names it in the log)."""

    def __init__(self, what: str, *, minimum: float = 0.05, maximum: float = 2.0) -> None:
        self._what = what
        self._minimum = minimum
        self._maximum = maximum
        self._delay = minimum
        self.connected = True

    async def failed(self, exc: BaseException) -> None:
        """A read failed: say so if it is the first failure since the last success, then pause."""
        if self.connected:
            log.error("%s: lost Redis (%s); reconnecting", self._what, exc)
            self.connected = False
        await asyncio.sleep(self._delay)
        self._delay = min(self._delay * 2, self._maximum)

    def succeeded(self) -> None:
        """A read succeeded: say so if Redis was lost, and start the pauses over."""
        if not self.connected:
            log.info("%s: reconnected", self._what)
            self.connected = True
        self._delay = self._minimum
