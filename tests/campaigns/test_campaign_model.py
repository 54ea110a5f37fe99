"""The campaign and recipient state machines (pure)."""

from __future__ import annotations

import pytest

from waqtor.campaigns import model
from waqtor.errors import IllegalTransition

# Where each action may start, and where it goes (start and resume may go to scheduled instead).
ALLOWED = {
    "start": {"draft": "running"},
    "begin": {"scheduled": "running"},
    "pause": {"scheduled": "paused", "running": "paused"},
    "resume": {"paused": "running"},
    "cancel": {"draft": "cancelled", "scheduled": "cancelled", "running": "cancelled", "paused": "cancelled"},
    "complete": {"running": "completed"},
    "fail": {"draft": "failed", "scheduled": "failed", "running": "failed", "paused": "failed"},
}


@pytest.mark.parametrize("action", sorted(ALLOWED))
@pytest.mark.parametrize("status", model.STATUSES)
def test_each_action_is_allowed_exactly_from_its_states(action: str, status: str) -> None:
    if status in ALLOWED[action]:
        assert model.target(action, status) == ALLOWED[action][status]
    else:
        with pytest.raises(IllegalTransition) as caught:
            model.target(action, status)
        assert caught.value.status == 409
        assert caught.value.details["status"] == status
        assert caught.value.details["action"] == action


@pytest.mark.parametrize("status", sorted(model.FINAL))
def test_a_final_campaign_moves_nowhere_but_may_be_deleted(status: str) -> None:
    for action in ALLOWED:
        with pytest.raises(IllegalTransition):
            model.target(action, status)
    assert status in model.DELETABLE


def test_only_a_running_campaign_cannot_be_deleted() -> None:
    assert set(model.STATUSES) - model.DELETABLE == {"running"}


@pytest.mark.parametrize("reason", ["connection_lost", "logged_out", "keepalive_timeout", "stream_error"])
def test_session_errors_clear_themselves_on_reconnect(reason: str) -> None:
    assert model.resumes_by_itself(reason)


@pytest.mark.parametrize("reason", ["temporary_ban", "manual", "too_many_failures", None])
def test_a_ban_a_manual_pause_and_too_many_failures_need_a_person(reason: str | None) -> None:
    assert not model.resumes_by_itself(reason)


@pytest.mark.parametrize(("current", "new", "allowed"), [
    ("pending", "sending", True),
    ("sending", "sent", True),
    ("sent", "delivered", True),
    ("delivered", "read", True),
    ("sending", "read", True),
    ("sent", "failed", True),
    ("sending", "pending", True),
    ("sending", "unknown", True),
    ("pending", "skipped", True),
    ("read", "delivered", False),
    ("delivered", "sent", False),
    ("delivered", "failed", False),
    ("unknown", "sent", False),
    ("skipped", "sending", False),
    ("sent", "pending", False),
    ("failed", "sent", False),
])
def test_a_recipient_only_moves_forward(current: str, new: str, allowed: bool) -> None:
    assert model.can_move_recipient(current, new) is allowed


def test_percent_counts_everything_but_pending_and_sending() -> None:
    counts = model.counts_of({"pending": 5, "sending": 1, "read": 3, "failed": 1})
    assert counts["unknown"] == 0 and sum(counts.values()) == 10
    assert model.percent(counts) == 40.0


def test_an_error_code_is_read_from_a_logged_error() -> None:
    assert model.error_code("not_on_whatsapp: 491@s.whatsapp.net is not on WhatsApp") == "not_on_whatsapp"
    assert model.error_code("something odd happened") is None
    assert model.error_code(None) is None
