"""How many commands one WebSocket client may send: a token bucket, pure (the time is passed in).

The bucket holds up to `capacity` tokens and gains `per_second` of them every second; each command takes
one. A client may so send `capacity` commands at once, then `per_second` a second for as long as it
likes; a command that finds the bucket empty is refused (the bridge answers it with an error frame
`rate_limited`) and takes nothing, so a client that keeps sending too fast is not locked out for longer.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    capacity: float
    per_second: float
    tokens: float = field(init=False)
    _stamp: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.capacity < 1 or self.per_second <= 0:
            raise ValueError("a token bucket needs a capacity of at least 1 and a positive refill rate")
        self.tokens = self.capacity

    def take(self, now: float) -> float:
        """Take a token at `now` (seconds, monotonic): 0.0 when one was taken, else the seconds until one
        will be there (nothing is taken)."""
        if self._stamp is not None and now > self._stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self._stamp) * self.per_second)
        self._stamp = now if self._stamp is None else max(now, self._stamp)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second
