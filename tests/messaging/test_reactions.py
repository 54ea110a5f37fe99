"""The reaction rules, fed values: which text is one emoji, and how a message's reactions change."""

from __future__ import annotations

from typing import Any

import pytest

from waqtor.messaging.reactions import is_emoji, merged


@pytest.mark.parametrize("emoji", [
    "👍", "❤️", "❤", "👍🏽", "🇩🇪", "1️⃣", "#⃣", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🧑🏽‍💻", "😀", "⭐", "©️", "🫠",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland: a flag of tags
])
def test_one_emoji_is_accepted(emoji: str) -> None:
    assert is_emoji(emoji)


@pytest.mark.parametrize("text", [
    "", "a", "ok", "👍👍", "👍 ", " 👍", "a👍", "1", "🇩", "🇩🇪🇫🇷", "👍\u200d", "\u200d👍", "🏽", "1️",
    "🏴\U000e0067\U000e0062", "\ufe0f", "👍\ufe0f\ufe0f", "中",
])
def test_anything_else_is_refused(text: str) -> None:
    assert not is_emoji(text)


def entry(emoji: str, at: str, who: str | None = "a@s.whatsapp.net", from_me: bool = False) -> dict[str, Any]:
    return {"from": who, "fromMe": from_me, "emoji": emoji, "timestamp": at}


T1, T2, T3 = "2026-12-08T10:00:00.000Z", "2026-12-08T10:00:01.000Z", "2026-12-08T10:00:02.000Z"


def test_each_reactor_keeps_one_reaction_the_latest() -> None:
    first = merged(None, entry("👍", T1))
    other = merged(first, entry("😂", T2, who="b@s.whatsapp.net"))
    assert merged(other, entry("❤️", T3)) == [entry("😂", T2, who="b@s.whatsapp.net"), entry("❤️", T3)]


def test_an_empty_emoji_removes_the_reactor_s_reaction() -> None:
    assert merged([entry("👍", T1)], entry("", T2)) == []
    assert merged(None, entry("", T2)) is None  # nothing to remove


def test_an_older_or_repeated_reaction_changes_nothing() -> None:
    current = [entry("❤️", T2)]
    assert merged(current, entry("👍", T1)) is None
    assert merged(current, entry("❤️", T2)) is None


def test_the_account_is_one_reactor_from_the_gateway_and_from_its_phone() -> None:
    mine = merged(None, entry("👍", T1, who=None, from_me=True))
    assert merged(mine, entry("🙏", T2, who="me@s.whatsapp.net", from_me=True)) == [
        entry("🙏", T2, who="me@s.whatsapp.net", from_me=True)]
