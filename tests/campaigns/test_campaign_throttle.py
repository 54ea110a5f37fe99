"""When a campaign may send next: delay, caps, start time and daily window, on an injected clock (pure)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from waqtor.campaigns.throttle import Schedule, Throttle, Window, draw_delay, estimate_seconds, next_send_time

T0 = datetime(2025, 10, 28, 12, 0, tzinfo=UTC)  # a Tuesday
NO_CAPS = Throttle(min_delay=0, max_delay=0, per_minute=None, per_hour=None, per_day=None)
BERLIN = ZoneInfo("Europe/Berlin")


def test_with_nothing_in_the_way_it_sends_now() -> None:
    assert next_send_time(T0, NO_CAPS, Schedule(), []) == T0


def test_it_waits_for_the_delay_after_the_last_send() -> None:
    later = T0 + timedelta(seconds=9)
    assert next_send_time(T0, NO_CAPS, Schedule(), [], not_before=later) == later


def test_the_drawn_delay_lies_between_the_minimum_and_the_maximum() -> None:
    rng = random.Random(3)
    delays = [draw_delay(Throttle(min_delay=8, max_delay=20), rng) for _ in range(200)]
    assert all(8 <= d <= 20 for d in delays)
    assert max(delays) - min(delays) > 6  # random, not one fixed pause


def test_equal_minimum_and_maximum_is_a_fixed_delay() -> None:
    assert draw_delay(Throttle(min_delay=5, max_delay=5), random.Random()) == 5


def test_a_full_minute_waits_until_its_oldest_send_is_a_minute_old() -> None:
    throttle = Throttle(min_delay=0, max_delay=0, per_minute=3, per_hour=None, per_day=None)
    history = [T0 - timedelta(seconds=50), T0 - timedelta(seconds=20), T0 - timedelta(seconds=5)]
    assert next_send_time(T0, throttle, Schedule(), history) == T0 + timedelta(seconds=10)


def test_sends_older_than_the_window_do_not_count() -> None:
    throttle = Throttle(min_delay=0, max_delay=0, per_minute=2, per_hour=None, per_day=None)
    history = [T0 - timedelta(seconds=90), T0 - timedelta(seconds=61), T0 - timedelta(seconds=10)]
    assert next_send_time(T0, throttle, Schedule(), history) == T0


def test_the_hour_and_day_caps_hold_too() -> None:
    hourly = Throttle(min_delay=0, max_delay=0, per_minute=None, per_hour=2, per_day=None)
    history = [T0 - timedelta(minutes=50), T0 - timedelta(minutes=10)]
    assert next_send_time(T0, hourly, Schedule(), history) == T0 + timedelta(minutes=10)
    daily = Throttle(min_delay=0, max_delay=0, per_minute=None, per_hour=None, per_day=1)
    assert next_send_time(T0, daily, Schedule(), [T0 - timedelta(hours=20)]) == T0 + timedelta(hours=4)


def test_it_waits_for_the_start_time() -> None:
    start = T0 + timedelta(hours=3)
    assert next_send_time(T0, NO_CAPS, Schedule(start_at=start), []) == start
    after = start + timedelta(seconds=1)
    assert next_send_time(after, NO_CAPS, Schedule(start_at=start), []) == after


def test_inside_the_window_it_sends_and_outside_it_waits_for_the_next_opening() -> None:
    window = Window(time(9, 0), time(18, 0), BERLIN)  # 12:00 UTC is 13:00 in Berlin (CET)
    schedule = Schedule(window=window)
    assert next_send_time(T0, NO_CAPS, schedule, []) == T0
    evening = datetime(2025, 10, 28, 17, 30, tzinfo=UTC)  # 18:30 in Berlin
    assert next_send_time(evening, NO_CAPS, schedule, []) == datetime(2025, 10, 29, 8, 0, tzinfo=UTC)


def test_the_window_opens_only_on_its_days() -> None:
    friday_evening = datetime(2025, 10, 31, 19, 0, tzinfo=UTC)
    window = Window(time(9, 0), time(17, 0), ZoneInfo("UTC"), frozenset({1, 2, 3, 4, 5}))
    assert next_send_time(friday_evening, NO_CAPS, Schedule(window=window), []) == datetime(2025, 11, 3, 9, 0,
                                                                                             tzinfo=UTC)


def test_a_window_over_midnight_is_open_after_its_start_and_before_its_end() -> None:
    window = Window(time(22, 0), time(6, 0), ZoneInfo("UTC"))
    schedule = Schedule(window=window)
    late = datetime(2025, 10, 28, 23, 0, tzinfo=UTC)
    early = datetime(2025, 10, 29, 5, 59, tzinfo=UTC)
    assert next_send_time(late, NO_CAPS, schedule, []) == late
    assert next_send_time(early, NO_CAPS, schedule, []) == early
    assert next_send_time(datetime(2025, 10, 29, 6, 0, tzinfo=UTC), NO_CAPS, schedule, []) == datetime(
        2025, 10, 29, 22, 0, tzinfo=UTC)


def test_the_window_follows_daylight_saving_time() -> None:
    window = Window(time(9, 0), time(18, 0), BERLIN)
    # Berlin leaves summer time on 26 October 2025: 09:00 is 07:00 UTC before, 08:00 UTC after.
    before = datetime(2025, 10, 24, 18, 0, tzinfo=UTC)
    assert next_send_time(before, NO_CAPS, Schedule(window=window), []) == datetime(2025, 10, 25, 7, 0, tzinfo=UTC)
    after = datetime(2025, 10, 26, 18, 0, tzinfo=UTC)
    assert next_send_time(after, NO_CAPS, Schedule(window=window), []) == datetime(2025, 10, 27, 8, 0, tzinfo=UTC)


def test_a_cap_that_ends_outside_the_window_waits_for_the_next_opening() -> None:
    throttle = Throttle(min_delay=0, max_delay=0, per_minute=None, per_hour=1, per_day=None)
    window = Window(time(9, 0), time(12, 30), ZoneInfo("UTC"))
    assert next_send_time(T0, throttle, Schedule(window=window), [T0 - timedelta(minutes=1)]) == datetime(
        2025, 10, 29, 9, 0, tzinfo=UTC)


def test_a_window_without_days_never_opens() -> None:
    window = Window(time(9, 0), time(17, 0), ZoneInfo("UTC"), frozenset())
    assert next_send_time(T0, NO_CAPS, Schedule(window=window), []) is None


def test_the_estimate_takes_the_slowest_of_delay_caps_and_session_rate() -> None:
    assert estimate_seconds(Throttle(min_delay=8, max_delay=20, per_minute=None, per_hour=None, per_day=None),
                            11) == 140
    assert estimate_seconds(Throttle(min_delay=0, max_delay=0, per_minute=None, per_hour=200, per_day=None),
                            401) == 7200
    assert estimate_seconds(NO_CAPS, 101, session_interval=3) == 300
    assert estimate_seconds(NO_CAPS, 0) == 0


caps = st.one_of(st.none(), st.integers(1, 5))


@settings(max_examples=150, deadline=None)
@given(per_minute=caps, per_hour=caps, delay=st.floats(0, 30), gaps=st.lists(st.floats(0, 400), max_size=40),
       window_start=st.integers(0, 23), window_hours=st.integers(1, 23))
def test_simulated_sends_never_break_a_cap_nor_leave_the_window(
    per_minute: int | None, per_hour: int | None, delay: float, gaps: list[float], window_start: int,
    window_hours: int,
) -> None:
    throttle = Throttle(min_delay=delay, max_delay=delay, per_minute=per_minute, per_hour=per_hour, per_day=None)
    window = Window(time(window_start), time((window_start + window_hours) % 24), ZoneInfo("Asia/Dubai"))
    schedule = Schedule(window=window)
    now, history, not_before = T0, [], None
    for gap in gaps:
        at = next_send_time(now, throttle, schedule, history, not_before)
        assert at is not None and at >= now
        assert window.next_open(at) == at
        for count, period in throttle.caps():
            assert sum(1 for h in history if h > at - period) < count
        history.append(at)
        not_before = at + timedelta(seconds=delay)
        now = at + timedelta(seconds=gap)
