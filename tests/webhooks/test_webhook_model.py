"""What a webhook may be registered with, which events it matches, and the body it is sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from waqtor.events import EVENT_TYPES, Event
from waqtor.storage.records import WebhookRecord
from waqtor.webhooks.filters import Target, matching
from waqtor.webhooks.model import (
    check_events,
    check_headers,
    check_sessions,
    check_url,
    event_payload,
    new_delivery_id,
    payload_for_test,
)

NOW = datetime(2025, 10, 28, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://example.com:8443/a?b=c",
        "http://10.0.0.5:3000",
        "https://[::1]:9000/x",
    ],
)
def test_http_and_https_urls_are_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("example.com/hook", "http:// or https://"),
        ("http:///path", "no host"),
        ("http://example.com:99999/", "not a valid URL"),
        ("http://exa mple.com/", "spaces"),
        ("https://example.com/" + "a" * 2048, "longer than 2048"),
    ],
)
def test_other_urls_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_url(url)


def test_events_are_known_names_or_all() -> None:
    assert check_events(["message", "qr_code", "message"]) == ("message", "qr_code")
    assert check_events(["message", "all"]) == ("all",)
    assert set(EVENT_TYPES) >= {"webhook_disabled"}


def test_an_unknown_event_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown event 'mesage'"):
        check_events(["message", "mesage"])
    with pytest.raises(ValueError, match="at least one"):
        check_events([])


def test_sessions_are_names_or_all() -> None:
    assert check_sessions(["default", "sales"]) == ("default", "sales")
    assert check_sessions(["all", "x"]) == ("all",)
    for bad in ([], [""], ["a" * 65], [" padded"], ["line\nbreak"]):
        with pytest.raises(ValueError):
            check_sessions(bad)


def test_extra_headers_may_not_replace_ours_or_the_transports() -> None:
    assert check_headers({"Authorization": "Bearer abc", "X-Team": "ops"}) == {
        "Authorization": "Bearer abc",
        "X-Team": "ops",
    }
    for name in (
        "X-Waqtor-Signature",
        "x-waqtor-anything",
        "Content-Type",
        "host",
        "Content-Length",
        "Transfer-Encoding",
        "Connection",
    ):
        with pytest.raises(ValueError, match="cannot be overridden"):
            check_headers({name: "v"})


@pytest.mark.parametrize(
    "headers",
    [
        {"Bad Name": "v"},
        {"X-Ok": "line\r\nInjected: 1"},
        {"X-Ok": "v" * 1025},
        {"": "v"},
        {f"X-{n}": "v" for n in range(21)},
        {"X-A": "1", "x-a": "2"},
    ],
)
def test_malformed_extra_headers_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        check_headers(headers)


def webhook(events: tuple[str, ...], sessions: tuple[str, ...], id: str = "wh_1") -> WebhookRecord:
    return WebhookRecord(
        id=id,
        url="http://x",
        events=events,
        sessions=sessions,
        secret="s" * 16,
        enabled=True,
        headers={},
        created_at=NOW,
    )


def test_a_webhook_matches_its_events_and_sessions() -> None:
    target = Target.of(webhook(("message",), ("default",)))
    assert target.wants("message", "default")
    assert not target.wants("qr_code", "default")
    assert not target.wants("message", "sales")


def test_gateway_wide_events_pass_every_sessions_filter() -> None:
    assert Target.of(webhook(("all",), ("sales",))).wants("webhook_disabled", None)


def test_matching_lists_every_webhook_that_wants_the_event() -> None:
    targets = (
        Target.of(webhook(("all",), ("all",), "wh_a")),
        Target.of(webhook(("qr_code",), ("all",), "wh_b")),
        Target.of(webhook(("message",), ("all",), "wh_c")),
    )
    assert matching(targets, "message", "default") == ["wh_a", "wh_c"]


def test_the_body_is_the_documented_object() -> None:
    event = Event(id=42, type="message", session="default", timestamp=1761654600000, data={"body": "héllo"})
    assert json.loads(event_payload(event)) == {
        "id": 42,
        "event": "message",
        "session": "default",
        "timestamp": 1761654600000,
        "data": {"body": "héllo"},
    }
    test = json.loads(payload_for_test("wh_1", NOW))
    assert test["id"] is None and test["event"] == "test" and test["data"]["webhook"] == "wh_1"


def test_delivery_ids_sort_by_creation_time() -> None:
    later = NOW.replace(second=1)
    assert new_delivery_id(NOW) < new_delivery_id(later)
    assert new_delivery_id(NOW) != new_delivery_id(NOW)
