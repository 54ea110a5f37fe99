"""When a campaign may send its next message (pure: the clock and the random source are arguments).

Three things decide it, and the latest of them wins:

- **The delay**: after each campaign message of a session, the next one on that session waits a random
  number of seconds between `min_delay` and `max_delay` (drawn once per message with `draw_delay`).
  The runner keeps it per session, so two campaigns on one account do not send twice as fast.
- **The caps** of the campaign: at most `per_minute` sends in any 60 seconds, `per_hour` in any
  3,600 and `per_day` in any 86,400 (moving windows, so there is no burst at the turn of an hour).
- **The schedule**: not before `start_at`, and only inside the daily `window` (local times in its
  time zone, on its days of the week). A window whose end is before its start runs over midnight
  (22:00–06:00); its days are the days it opens on. Daylight-saving changes follow the zone.

`next_send_time` returns the earliest moment all three allow; the runner sleeps until then.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ALL_DAYS = frozenset(range(1, 8))  # ISO weekdays: 1 is Monday


@dataclass(frozen=True, slots=True)
class Throttle:
    """The pace of one campaign; a cap of None is no cap. Defaults: see documentation/CAMPAIGN_GUIDE.md."""

    min_delay: float = 8.0
    max_delay: float = 20.0
    per_minute: int | None = 20
    per_hour: int | None = 200
    per_day: int | None = 1000

    def caps(self) -> list[tuple[int, timedelta]]:
        found = []
        for count, seconds in ((self.per_minute, 60), (self.per_hour, 3600), (self.per_day, 86400)):
            if count is not None:
                found.append((count, timedelta(seconds=seconds)))
        return found

    @property
    def history_needed(self) -> tuple[int, timedelta]:
        """How many of the latest send times, over how long, the caps need to be judged."""
        caps = self.caps()
        if not caps:
            return 0, timedelta(0)
        return max(c for c, _ in caps), max(p for _, p in caps)


@dataclass(frozen=True, slots=True)
class Window:
    """Daily sending hours: from `start` to `end` local time in `zone`, on `days` (ISO weekdays)."""

    start: time
    end: time
    zone: ZoneInfo
    days: frozenset[int] = field(default=ALL_DAYS)

    def _interval(self, day: date) -> tuple[datetime, datetime]:
        """The window that opens on `day`, in UTC."""
        opens = datetime.combine(day, self.start, self.zone).astimezone(UTC)
        closing_day = day if self.end > self.start else day + timedelta(days=1)
        closes = datetime.combine(closing_day, self.end, self.zone).astimezone(UTC)
        return opens, closes

    def next_open(self, at: datetime) -> datetime | None:
        """`at` when the window is open then, else when it next opens (within a week); None when it
        never opens (no days)."""
        local_day = at.astimezone(self.zone).date()
        best: datetime | None = None
        for offset in range(-1, 8):  # yesterday's window may still be open (over midnight)
            day = local_day + timedelta(days=offset)
            if day.isoweekday() not in self.days:
                continue
            opens, closes = self._interval(day)
            if opens <= at < closes:
                return at
            if opens > at and (best is None or opens < best):
                best = opens
        return best


@dataclass(frozen=True, slots=True)
class Schedule:
    start_at: datetime | None = None
    window: Window | None = None


def draw_delay(throttle: Throttle, rng: random.Random) -> float:
    """Seconds to wait after a send: uniform between the minimum and the maximum delay."""
    if throttle.max_delay <= throttle.min_delay:
        return throttle.min_delay
    return rng.uniform(throttle.min_delay, throttle.max_delay)


def _after_caps(at: datetime, throttle: Throttle, history: Sequence[datetime]) -> datetime:
    for count, period in throttle.caps():
        # Sends within (at - period, at]; the cap holds while fewer than `count` are there.
        recent = len(history) - bisect.bisect_right(history, at - period)
        if recent >= count:
            # Wait until the send that makes the count too high leaves the window.
            at = max(at, history[len(history) - count] + period)
    return at


def next_send_time(
    now: datetime,
    throttle: Throttle,
    schedule: Schedule,
    history: Sequence[datetime],
    not_before: datetime | None = None,
) -> datetime | None:
    """The earliest moment at or after `now` when the campaign may send, or None when its window
    never opens. `history` is the campaign's latest send times, oldest first (only the last
    `throttle.history_needed` matter); `not_before` is the end of the session's delay."""
    at = now
    for bound in (schedule.start_at, not_before):
        if bound is not None and bound > at:
            at = bound
    # Each step only moves later; the caps hold once met, so two rounds settle it, a few more are spare.
    for _ in range(8):
        moved = _after_caps(at, throttle, history)
        if schedule.window is not None:
            opened = schedule.window.next_open(moved)
            if opened is None:
                return None
            moved = opened
        if moved == at:
            return at
        at = moved
    return at


def estimate_seconds(throttle: Throttle, left: int, session_interval: float = 0.0) -> float:
    """A rough time in seconds to send `left` more messages: the mean delay between each two, or the
    waits the caps force (a full cap waits out its period), or the session's own send rate (one per
    `session_interval` seconds), whichever is longest. Closed windows and recent sends are not counted."""
    if left <= 0:
        return 0.0
    gaps = left - 1
    candidates = [gaps * (throttle.min_delay + throttle.max_delay) / 2, gaps * session_interval]
    candidates += [(gaps // count) * period.total_seconds() for count, period in throttle.caps()]
    return max(candidates)
