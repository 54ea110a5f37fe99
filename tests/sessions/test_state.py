"""The pure state machine: allowed moves, derived fields, phone masking, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from waqtor.clock import iso_ms
from waqtor.errors import IllegalTransition
from waqtor.sessions.state import ALLOWED, SessionState, Status, mask_phone, move

T0 = datetime(2025, 10, 28, 12, 30, tzinfo=UTC)


def fresh(status: Status = Status.DISCONNECTED, **kw) -> SessionState:  # type: ignore[no-untyped-def]
    return SessionState(session="default", engine="sandbox", last_update=T0, status=status, **kw)


@pytest.mark.parametrize("start", list(Status))
@pytest.mark.parametrize("to", list(Status))
def test_only_listed_moves_are_allowed(start: Status, to: Status) -> None:
    if to in ALLOWED[start]:
        assert move(fresh(start), to, T0).status is to
    else:
        with pytest.raises(IllegalTransition):
            move(fresh(start), to, T0)


def test_reaching_connected_starts_uptime_and_clears_the_error() -> None:
    state = move(fresh(Status.AUTHENTICATED, last_error={"code": "x"}), Status.CONNECTED, T0)
    assert state.ready and state.authenticated
    assert state.ready_since == T0 and state.last_error is None
    assert state.uptime(T0 + timedelta(seconds=90)) == 90


def test_leaving_connected_stops_uptime() -> None:
    state = move(fresh(Status.CONNECTED, ready_since=T0), Status.DISCONNECTED, T0 + timedelta(seconds=5))
    assert state.ready_since is None and state.uptime(T0 + timedelta(hours=1)) == 0


def test_falling_back_to_qr_forgets_the_account() -> None:
    linked = fresh(Status.CONNECTED, authenticated=True, phone="4915112345678", pushname="A", platform="android")
    state = move(linked, Status.QR, T0, qr_code="2@x")
    assert (state.phone, state.pushname, state.platform, state.authenticated) == (None, None, None, False)
    assert state.has_qr


def test_leaving_qr_clears_the_code() -> None:
    state = move(fresh(Status.QR, qr_code="2@x", qr_expires_at=T0), Status.AUTHENTICATED, T0)
    assert state.qr_code is None and state.qr_expires_at is None and not state.has_qr


def test_counters_survive_every_move() -> None:
    state = fresh(Status.CONNECTED, messages_sent=3, messages_received=4)
    for to in (Status.DISCONNECTED, Status.CONNECTING, Status.QR):
        state = move(state, to, T0)
    assert (state.messages_sent, state.messages_received) == (3, 4)


@given(st.text(alphabet="0123456789 +-()", min_size=4, max_size=20).filter(lambda s: sum(c.isdigit() for c in s) >= 4))
def test_masked_phone_shows_only_the_last_four_digits(phone: str) -> None:
    digits = "".join(c for c in phone if c.isdigit())
    assert mask_phone(phone) == "***" + digits[-4:]


def test_mask_of_no_phone_is_none() -> None:
    assert mask_phone(None) is None and mask_phone("") is None


def test_iso_ms_has_milliseconds_and_z() -> None:
    assert iso_ms(datetime(2025, 10, 28, 12, 30, 0, 123456, tzinfo=UTC)) == "2025-10-28T12:30:00.123Z"
