"""The command parser and subscriptions, without a socket."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from waqtor.events import EVENT_TYPES
from waqtor.ws.protocol import ProtocolError, Subscriptions, error_frame, parse_command

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(st.text(max_size=200) | st.binary(max_size=200))
def test_any_frame_parses_or_raises_a_protocol_error(raw) -> None:  # type: ignore[no-untyped-def]
    try:
        command = parse_command(raw)
    except ProtocolError as exc:
        assert exc.code in {"invalid_json", "invalid_command", "unknown_command", "invalid_field", "unknown_event"}
        assert exc.message
    else:
        assert command.type in {"ping", "get_state", "get_qr", "subscribe", "unsubscribe", "resume"}


@given(st.dictionaries(st.sampled_from(["type", "events", "sessions", "after", "session"]), json_values))
def test_any_json_object_parses_or_raises_a_protocol_error(obj: dict) -> None:  # type: ignore[type-arg]
    try:
        parse_command(json.dumps(obj))
    except ProtocolError as exc:
        frame = error_frame(exc, 1)
        assert frame["type"] == "error" and frame["error"]["code"] == exc.code


@given(json_values)
def test_any_json_document_as_a_frame_parses_or_raises_a_protocol_error(document: object) -> None:
    raw = json.dumps(document)
    for frame in (raw, raw.encode()):
        try:
            command = parse_command(frame)
        except ProtocolError as exc:
            assert exc.code in {"invalid_json", "invalid_command", "unknown_command", "invalid_field", "unknown_event"}
        else:
            assert isinstance(document, dict) and command.type == document["type"]


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_frame_nested_too_deep_to_parse_is_invalid_json(depth: int) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_command("[" * depth + "]" * depth)
    assert refused.value.code == "invalid_json"


def test_subscribe_parses_events_and_sessions() -> None:
    command = parse_command('{"type": "subscribe", "events": ["message", "message", "qr_code"], "sessions": ["a"]}')
    assert command.events == ("message", "qr_code")
    assert command.sessions == ("a",)


def test_unknown_event_lists_it() -> None:
    with pytest.raises(ProtocolError) as err:
        parse_command('{"type": "subscribe", "events": ["bogus"]}')
    assert err.value.code == "unknown_event" and err.value.extra["events"] == ["bogus"]


def test_subscriptions_start_with_all_and_narrow() -> None:
    subs = Subscriptions()
    assert subs.event_list() == ["all"] and subs.wants("message", "x")
    subs.subscribe(("message",), None)
    assert subs.event_list() == ["message"] and not subs.wants("qr_code", None)
    subs.subscribe(("qr_code",), None)
    assert subs.event_list() == ["qr_code", "message"]


def test_unsubscribe_from_all_leaves_the_rest() -> None:
    subs = Subscriptions()
    subs.unsubscribe(("qr_code",), None)
    assert subs.event_list() == [name for name in EVENT_TYPES if name != "qr_code"]


def test_session_filters() -> None:
    subs = Subscriptions()
    subs.subscribe((), ("work",))
    assert subs.wants("message", "work") and not subs.wants("message", "home")
    assert subs.wants("message", None)  # gateway-wide events reach everyone
    subs.subscribe((), ("all",))
    subs.unsubscribe((), ("home",))
    assert subs.wants("message", "work") and not subs.wants("message", "home")
    assert subs.session_list() == ["all", "-home"]
