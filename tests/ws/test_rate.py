"""The per-connection command budget: a token bucket fed with times, no socket and no clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from waqtor.ws.rate import TokenBucket


def test_a_full_bucket_lets_its_capacity_through_at_once_then_refuses() -> None:
    bucket = TokenBucket(capacity=3, per_second=1)
    assert [bucket.take(10.0) for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]


def test_tokens_come_back_at_the_rate_and_never_beyond_the_capacity() -> None:
    bucket = TokenBucket(capacity=2, per_second=4)
    assert bucket.take(0.0) == 0.0 and bucket.take(0.0) == 0.0
    assert bucket.take(0.0) == pytest.approx(0.25)
    assert bucket.take(0.25) == 0.0  # one token back after a quarter of a second
    assert bucket.take(0.25) == pytest.approx(0.25)
    assert [bucket.take(100.0) for _ in range(3)] == [0.0, 0.0, pytest.approx(0.25)]  # a long pause: 2, not 400


def test_a_refused_command_takes_nothing() -> None:
    bucket = TokenBucket(capacity=1, per_second=1)
    bucket.take(0.0)
    for _ in range(50):
        assert bucket.take(0.5) == pytest.approx(0.5)
    assert bucket.take(1.0) == 0.0


@given(st.lists(st.floats(min_value=0, max_value=10), min_size=1, max_size=200))
def test_no_more_pass_than_the_capacity_plus_the_refill(gaps: list[float]) -> None:
    bucket = TokenBucket(capacity=5, per_second=2)
    now, passed = 0.0, 0
    for gap in gaps:
        now += gap
        passed += bucket.take(now) == 0.0
    assert passed <= 5 + now * 2


@pytest.mark.parametrize(("capacity", "per_second"), [(0, 1), (1, 0)])
def test_an_impossible_bucket_is_refused(capacity: float, per_second: float) -> None:
    with pytest.raises(ValueError, match="token bucket"):
        TokenBucket(capacity, per_second)
