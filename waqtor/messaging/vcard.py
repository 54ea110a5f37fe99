"""Contact cards (vCard 3.0, as WhatsApp sends them). Pure."""

from __future__ import annotations

import re

from waqtor.errors import InvalidInput

MAX_VCARD = 16_384

_FN = re.compile(r"^FN(;[^:]*)?:(.*)$", re.IGNORECASE)


def _escape(value: str) -> str:
    """RFC 6350 text escaping: backslash, comma, semicolon and newlines."""
    return (
        value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\,;nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def build(name: str, phone: str) -> str:
    """A vCard for `name` with the mobile number `phone` (E.164); `waid` lets WhatsApp open the chat."""
    waid = phone.lstrip("+")
    return "\r\n".join(
        [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"FN:{_escape(name)}",
            f"TEL;type=CELL;type=VOICE;waid={waid}:{phone}",
            "END:VCARD",
        ]
    )


def display_name(vcard: str) -> str:
    """The card's formatted name (FN); InvalidInput(code="invalid_vcard") unless `vcard` is one card
    from BEGIN:VCARD to END:VCARD with a non-empty FN, at most 16 KiB."""
    if len(vcard.encode("utf-8")) > MAX_VCARD:
        raise _invalid(f"it is larger than {MAX_VCARD} bytes")
    # Unfold continuation lines (a line break followed by a space or tab) before reading fields.
    lines = [line for line in re.sub(r"\r?\n[ \t]", "", vcard.strip()).splitlines() if line.strip()]
    if not lines or lines[0].strip().upper() != "BEGIN:VCARD" or lines[-1].strip().upper() != "END:VCARD":
        raise _invalid("it must start with BEGIN:VCARD and end with END:VCARD")
    if sum(1 for line in lines if line.strip().upper() == "BEGIN:VCARD") != 1:
        raise _invalid("it must hold exactly one card")
    for line in lines:
        match = _FN.match(line.strip())
        if match and match.group(2).strip():
            return _unescape(match.group(2).strip())
    raise _invalid("it has no FN (formatted name) line")


_TEL = re.compile(r"^TEL(;[^:]*)?:(.*)$", re.IGNORECASE)
_WAID = re.compile(r"waid=([0-9]+)", re.IGNORECASE)


def phones(vcard: str) -> list[tuple[str, str | None]]:
    """Every TEL of the card as (number, WhatsApp id or None), in order."""
    unfolded = re.sub(r"\r?\n[ \t]", "", vcard.strip())
    found = []
    for line in unfolded.splitlines():
        match = _TEL.match(line.strip())
        if match and match.group(2).strip():
            waid = _WAID.search(match.group(1) or "")
            found.append((match.group(2).strip(), waid.group(1) if waid else None))
    return found


def _invalid(reason: str) -> InvalidInput:
    return InvalidInput(f"invalid vCard: {reason}", code="invalid_vcard")
