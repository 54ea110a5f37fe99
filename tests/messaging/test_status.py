"""A message's status only moves forward."""

from __future__ import annotations

import pytest

from waqtor.messaging.status import OUT_STEPS, can_move


@pytest.mark.parametrize(("current", "new"), [
    ("queued", "sent"), ("sent", "delivered"), ("delivered", "read"), ("read", "played"),
    ("sent", "read"), ("queued", "delivered"), ("queued", "failed"), ("sent", "failed"),
])
def test_forward_moves_are_allowed(current: str, new: str) -> None:
    assert can_move(current, new)


@pytest.mark.parametrize(("current", "new"), [
    ("read", "delivered"), ("delivered", "sent"), ("played", "read"), ("sent", "queued"),
    ("delivered", "failed"), ("read", "failed"), ("failed", "sent"), ("failed", "read"),
    ("received", "read"), ("sent", "received"),
])
def test_backward_and_late_moves_are_refused(current: str, new: str) -> None:
    assert not can_move(current, new)


def test_a_status_does_not_move_to_itself() -> None:
    assert not any(can_move(status, status) for status in (*OUT_STEPS, "failed", "received"))
