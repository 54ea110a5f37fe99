"""Reactions: which text is one emoji, and how a message's reactions change. Pure.

A reaction is one emoji grapheme cluster, as WhatsApp's pickers make them (Unicode's emoji sequences,
UTS #51), checked strictly by its grammar:

    reaction  := flag | keycap | element (ZWJ element)*
    flag      := two regional indicators (🇩🇪)
    keycap    := [0-9#*] VS16? U+20E3 (1️⃣)
    element   := pictograph (VS16 | skin tone)? tags?     (👍🏽, ❤️, 🏴 with its subdivision tags)

A pictograph is a code point of the emoji blocks (U+1F000–U+1FAFF), the symbol and dingbat blocks
U+2600–U+27BF, or one of the older symbols WhatsApp offers as emoji (©, ™, ↔, ⌚, ⭐ …). Text, several
emoji, or anything else is refused; an empty text takes a reaction away.

A message keeps one reaction per reactor (`from`, or the account, `fromMe`), the latest by its time; an
empty emoji removes that reactor's.
"""

from __future__ import annotations

from typing import Any

ZWJ = 0x200D
VS16 = 0xFE0F
KEYCAP = 0x20E3
MAX_LENGTH = 32  # code points: the longest sequences (families, flags of subdivisions) are under 16

_OLD_SYMBOLS = frozenset({
    0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x231A, 0x231B, 0x2328, 0x23CF, 0x24C2, 0x25AA, 0x25AB,
    0x25B6, 0x25C0, 0x2934, 0x2935, 0x2B50, 0x2B55, 0x3030, 0x303D, 0x3297, 0x3299,
})
_RANGES = ((0x2194, 0x2199), (0x21A9, 0x21AA), (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x25FB, 0x25FE),
           (0x2600, 0x27BF), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x1F000, 0x1FAFF))


def _pictograph(cp: int) -> bool:
    return cp in _OLD_SYMBOLS or any(low <= cp <= high for low, high in _RANGES)


def _regional(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _skin_tone(cp: int) -> bool:
    return 0x1F3FB <= cp <= 0x1F3FF


def _element(cps: list[int], at: int) -> int | None:
    """Where the element starting at `at` ends, or None when none starts there."""
    if at >= len(cps) or not _pictograph(cps[at]) or _regional(cps[at]) or _skin_tone(cps[at]):
        return None
    at += 1
    if at < len(cps) and (cps[at] == VS16 or _skin_tone(cps[at])):
        at += 1
    if at < len(cps) and 0xE0020 <= cps[at] <= 0xE007E:  # a subdivision flag: tags, then CANCEL TAG
        while at < len(cps) and 0xE0020 <= cps[at] <= 0xE007E:
            at += 1
        if at >= len(cps) or cps[at] != 0xE007F:
            return None
        at += 1
    return at


def is_emoji(text: str) -> bool:
    """Whether `text` is exactly one emoji (see the module's grammar)."""
    cps = [ord(char) for char in text]
    if not cps or len(cps) > MAX_LENGTH:
        return False
    if len(cps) == 2 and all(_regional(cp) for cp in cps):
        return True
    if chr(cps[0]) in "0123456789#*":
        return cps[1:] in ([KEYCAP], [VS16, KEYCAP])
    at = _element(cps, 0)
    while at is not None and at < len(cps):
        at = _element(cps, at + 1) if cps[at] == ZWJ else None
    return at == len(cps)


def merged(reactions: list[dict[str, Any]] | None, entry: dict[str, Any]) -> list[dict[str, Any]] | None:
    """`reactions` with `entry` (`{"from", "fromMe", "emoji", "timestamp"}`, an ISO time) applied: it
    replaces its reactor's earlier one, an empty emoji removes it. None when nothing changes: the same
    reaction again (a redelivery), or one older than what the reactor's latest says."""
    def reactor(item: dict[str, Any]) -> object:
        return True if item.get("fromMe") else item.get("from")

    current = list(reactions or [])
    mine = next((item for item in current if reactor(item) == reactor(entry)), None)
    if mine is not None:
        if str(mine.get("timestamp")) > str(entry["timestamp"]) or (
                mine.get("emoji") == entry["emoji"] and mine.get("timestamp") == entry["timestamp"]):
            return None
        current.remove(mine)
    elif not entry["emoji"]:
        return None
    return [*current, entry] if entry["emoji"] else current
