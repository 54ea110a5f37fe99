"""The retry policy: which answers are retried, how long to wait, and Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from waqtor.webhooks.retry import backoff, classify, next_step, parse_retry_after

NOW = datetime(2025, 10, 28, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize("code", [200, 201, 202, 204, 299])
def test_a_2xx_is_delivered(code: int) -> None:
    assert classify(code) == "delivered"


@pytest.mark.parametrize("code", [400, 401, 403, 404, 405, 410, 413, 422, 451, 499])
def test_a_4xx_is_not_retried(code: int) -> None:
    assert classify(code) == "dead"


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504, 301, 302, 307, None])
def test_408_429_5xx_redirects_and_no_answer_are_retried(code: int | None) -> None:
    assert classify(code) == "retry"


@given(attempt=st.integers(1, 200), base=st.floats(0.01, 100), cap=st.floats(0.01, 10_000))
def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half(
    attempt: int, base: float, cap: float
) -> None:
    full = min(cap, base * 2 ** (attempt - 1))
    delay = backoff(attempt, base, cap, random.Random(attempt))
    assert full / 2 <= delay <= full


def test_backoff_spreads_deliveries_that_failed_together() -> None:
    rng = random.Random(7)
    assert len({round(backoff(3, 10, 3600, rng), 6) for _ in range(20)}) > 10


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("7", NOW, cap=3600) == 7


def test_retry_after_as_an_http_date() -> None:
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW, cap=3600) == 90


def test_retry_after_is_capped_and_never_negative() -> None:
    assert parse_retry_after("86400", NOW, cap=3600) == 3600
    assert parse_retry_after(format_datetime(NOW - timedelta(hours=1), usegmt=True), NOW, cap=3600) == 0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "Mon, 99 Foo 2025"])
def test_an_absent_or_unreadable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW, cap=3600) is None


def step(attempts: int, code: int | None, retry_after: float | None = None, max_attempts: int = 5):  # type: ignore[no-untyped-def]
    return next_step(
        attempts, code, retry_after, max_attempts=max_attempts, base=10, cap=3600, rng=random.Random(1)
    )


def test_a_failed_attempt_waits_the_backoff_before_the_next() -> None:
    result = step(2, 503)
    assert result.status == "failed" and 10 <= result.delay <= 20  # type: ignore[operator]


def test_retry_after_replaces_the_backoff() -> None:
    assert step(1, 429, retry_after=0.5).delay == 0.5
    assert step(1, 503, retry_after=120).delay == 120


def test_the_last_allowed_attempt_gives_up() -> None:
    assert step(5, 500, max_attempts=5).status == "dead"
    assert step(4, 500, max_attempts=5).status == "failed"


def test_a_refused_request_gives_up_at_once_and_a_success_ends() -> None:
    assert step(1, 400) == type(step(1, 400))("dead", None)
    assert step(1, 200).status == "delivered" and step(1, 200).delay is None
