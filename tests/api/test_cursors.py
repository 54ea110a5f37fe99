"""Page cursors: whatever a caller puts in one is a 400 `invalid_cursor` or a page, never a 500."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.test_bad_input import assert_error
from tests.campaigns.helpers import create
from tests.conftest import Harness
from waqtor.api import cursors
from waqtor.errors import InvalidInput

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Objects shaped like the gateway's cursors, with values from anywhere: huge ids, odd times and zones.
SHAPED = st.fixed_dictionaries({}, optional={
    "before": st.integers() | JSON, "after": st.integers() | JSON,
    "at": st.datetimes(timezones=st.timezones()).map(datetime.isoformat) | st.text(max_size=40) | JSON,
    "id": st.text(max_size=80) | JSON,
})


def raw(value: Any) -> str:
    """A cursor holding `value`, made as the gateway makes them (or any bytes a caller may send)."""
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def read_every_way(cursor: str) -> None:
    """Each reader either gives a value it may hand to the database or refuses with `invalid_cursor`."""
    for read in (lambda: cursors.positive_int(cursor, "before", minimum=1),
                 lambda: cursors.positive_int(cursor, "after", minimum=0)):
        try:
            assert 0 <= read() <= cursors.MAX_ID
        except InvalidInput as exc:
            assert exc.code == "invalid_cursor"
    try:
        at, key = cursors.time_and_id(cursor)
        assert at.utcoffset() is not None and at.utcoffset().total_seconds() == 0 and 0 < len(key) <= 64
    except InvalidInput as exc:
        assert exc.code == "invalid_cursor"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300) | st.binary(max_size=200).map(raw) | JSON.map(raw) | SHAPED.map(raw))
def test_any_cursor_reads_as_a_bounded_value_or_invalid_cursor(cursor: str) -> None:
    read_every_way(cursor)


def test_a_cursor_the_gateway_made_reads_back() -> None:
    made = cursors.encode({"at": datetime(2025, 10, 1, 12, tzinfo=UTC).isoformat(), "id": "cmp_1", "before": 7})
    assert cursors.time_and_id(made) == (datetime(2025, 10, 1, 12, tzinfo=UTC), "cmp_1")
    assert cursors.positive_int(made, "before", minimum=1) == 7


@pytest.mark.parametrize("cursor", [
    raw({"before": 2**70}), raw({"before": 2**63}), raw({"before": -(2**70)}), raw({"before": 1e300}),
    raw({"before": True}), raw(b"\xff\xfe"), raw([[[[]]]]), "[" * 200, "%%%", "e30", raw(b"[" * 140),
])
async def test_a_crafted_message_log_cursor_is_400(gw: Harness, cursor: str) -> None:
    assert_error(await gw.client.get("/api/messages", params={"cursor": cursor}), 400, "invalid_cursor")


async def test_the_largest_id_a_cursor_may_carry_is_a_page(gw: Harness) -> None:
    response = await gw.client.get("/api/messages", params={"cursor": raw({"before": 2**63 - 1})})
    assert response.status_code == 200 and response.json()["data"]["nextCursor"] is None


@pytest.mark.parametrize("at", [
    "0001-01-01T00:00:00+14:00",  # before the year 1 in UTC
    "9999-12-31T23:00:00-14:00",  # after the year 9999 in UTC
    "2025-10-01T12:00:00",  # no zone: which moment is it?
    "yesterday", "", 1e20, None,
])
async def test_a_crafted_campaign_list_cursor_is_400(gw: Harness, at: Any) -> None:
    response = await gw.client.get("/api/campaigns", params={"cursor": raw({"at": at, "id": "cmp_1"})})
    assert_error(response, 400, "invalid_cursor")


@pytest.mark.parametrize("key", ["", "x" * 65, 5, None])
async def test_a_campaign_list_cursor_without_a_usable_id_is_400(gw: Harness, key: Any) -> None:
    cursor = raw({"at": "2025-10-01T12:00:00+00:00", "id": key})
    assert_error(await gw.client.get("/api/campaigns", params={"cursor": cursor}), 400, "invalid_cursor")


async def test_a_campaign_list_cursor_at_the_ends_of_time_is_a_page(gw: Harness) -> None:
    for at in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00-14:00"):
        response = await gw.client.get("/api/campaigns", params={"cursor": raw({"at": at, "id": "cmp_1"})})
        assert response.status_code == 200, (at, response.text)


async def test_a_recipient_cursor_beyond_64_bits_is_400(gw: Harness) -> None:
    campaign = await create(gw.client)
    response = await gw.client.get(f"/api/campaigns/{campaign['id']}/recipients",
                                   params={"cursor": raw({"after": 2**70})})
    assert_error(response, 400, "invalid_cursor")
