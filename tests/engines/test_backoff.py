"""The reconnect backoff: doubling, capped, jittered between half and all of the ceiling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from waqtor.engines.backoff import backoff_delay


def test_the_ceiling_doubles_from_the_minimum() -> None:
    ceilings = [backoff_delay(n, minimum=2, maximum=1000, draw=0.999999) for n in (1, 2, 3, 4)]
    assert [round(c) for c in ceilings] == [2, 4, 8, 16]


def test_the_wait_never_passes_the_maximum() -> None:
    assert backoff_delay(50, minimum=2, maximum=300, draw=0.999999) <= 300
    assert backoff_delay(10_000, minimum=2, maximum=300, draw=0.0) == 150


@given(attempt=st.integers(1, 200), draw=st.floats(0, 1, exclude_max=True),
       minimum=st.floats(0.01, 10), extra=st.floats(0, 1000))
def test_the_wait_lies_between_half_the_ceiling_and_the_ceiling(attempt: int, draw: float, minimum: float,
                                                                extra: float) -> None:
    maximum = minimum + extra
    ceiling = min(maximum, minimum * 2 ** min(attempt - 1, 64))
    assert ceiling / 2 <= backoff_delay(attempt, minimum=minimum, maximum=maximum, draw=draw) <= ceiling


@pytest.mark.parametrize(("attempt", "draw"), [(0, 0.5), (1, 1.0), (1, -0.1)])
def test_impossible_arguments_are_refused(attempt: int, draw: float) -> None:
    with pytest.raises(ValueError):
        backoff_delay(attempt, minimum=1, maximum=2, draw=draw)
