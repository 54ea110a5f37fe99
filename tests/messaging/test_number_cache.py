"""The memory of number checks (waqtor.messaging.number_cache): how long each answer holds, its bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from waqtor.messaging.number_cache import NEGATIVE_TTL, POSITIVE_TTL, NumberCache

T0 = datetime(2026, 12, 1, tzinfo=UTC)
ANA, NOBODY = "4915112345678@s.whatsapp.net", "971501234567@s.whatsapp.net"


def test_an_account_is_remembered_a_day_and_no_account_an_hour() -> None:
    cache = NumberCache()
    cache.put("default", {ANA: ANA, NOBODY: None}, T0)
    assert cache.known("default", [ANA, NOBODY], T0 + NEGATIVE_TTL - timedelta(seconds=1)) == {ANA: ANA, NOBODY: None}
    assert cache.known("default", [ANA, NOBODY], T0 + NEGATIVE_TTL) == {ANA: ANA}
    assert cache.known("default", [ANA], T0 + POSITIVE_TTL) == {}
    assert len(cache) == 0, "expired answers are dropped when seen"


def test_answers_belong_to_their_session_and_go_with_it() -> None:
    cache = NumberCache()
    cache.put("shop", {ANA: ANA}, T0)
    cache.put("support", {ANA: None}, T0)
    assert cache.known("shop", [ANA], T0) == {ANA: ANA} and cache.known("support", [ANA], T0) == {ANA: None}
    cache.forget("shop")
    assert cache.known("shop", [ANA], T0) == {} and cache.known("support", [ANA], T0) == {ANA: None}


def test_past_its_size_the_oldest_answer_is_forgotten_first() -> None:
    cache = NumberCache(size=2)
    cache.put("default", {ANA: ANA}, T0)
    cache.put("default", {NOBODY: None}, T0)
    cache.put("default", {ANA: ANA}, T0)  # asked again: now the newest
    cache.put("default", {"4930123456@s.whatsapp.net": None}, T0)
    assert set(cache.known("default", [ANA, NOBODY, "4930123456@s.whatsapp.net"], T0)) == {
        ANA, "4930123456@s.whatsapp.net"}
