"""Phone numbers and chat ids: what a caller writes → the JID an engine sends to. Pure.

The rules (docs/api-reference.md, "Phone number formats", lists examples that the tests check):

- A chat id passes as it is: `<digits>@s.whatsapp.net` (`@c.us`, whatsapp-web.js' spelling, is
  accepted and rewritten), a group `<id>@g.us`, and `<lid>@lid`, WhatsApp's privacy id for a person
  whose number it does not show (how a received message names such a chat).
- `+` or `00` starts an international number.
- Without either, and with a default region (`WAQTOR_DEFAULT_REGION`), the number is read as a
  national number of that region; when that is not a valid number, as an international number
  written without its `+`.
- Without either and without a default region, the digits are read as an international number
  without its `+` (the form WhatsApp uses in its own ids).
- Spaces, dashes, dots and parentheses are ignored; digits of other scripts (٠١٢…) count as digits.
- The number must be valid for its country (libphonenumber's metadata); anything else raises
  `InvalidInput` with code `invalid_phone`, a message giving the reason, and details
  `{"input", "reason"}` with a stable reason code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from waqtor.errors import InvalidInput

USER_DOMAIN = "s.whatsapp.net"
GROUP_DOMAIN = "g.us"
LID_DOMAIN = "lid"
MAX_INPUT = 64

_SEPARATORS = re.compile(r"[\s\-.()]")
_USER_ID = re.compile(r"^\d{5,20}$")
_GROUP_ID = re.compile(r"^\d{5,20}(-\d{5,20})?$")

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: ("unknown_country_code", "the country code is unknown"),
    NumberParseException.NOT_A_NUMBER: ("not_a_number", "it is not a phone number"),
    NumberParseException.TOO_SHORT_AFTER_IDD: ("too_short", "it is too short"),
    NumberParseException.TOO_SHORT_NSN: ("too_short", "it is too short"),
    NumberParseException.TOO_LONG: ("too_long", "it is too long"),
}

_POSSIBLE_REASONS = {
    ValidationResult.TOO_SHORT: ("too_short", "it has too few digits for {where}"),
    ValidationResult.TOO_LONG: ("too_long", "it has too many digits for {where}"),
    ValidationResult.INVALID_LENGTH: ("invalid_length", "it has the wrong number of digits for {where}"),
    ValidationResult.INVALID_COUNTRY_CODE: ("unknown_country_code", "the country code is unknown"),
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: ("local_only", "it is a local number without its area code"),
}


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where a message goes: the JID, and for a person known by number the number in E.164
    (`+4915112345678`); None for a group or a `@lid` chat."""

    jid: str
    phone: str | None

    @property
    def is_group(self) -> bool:
        return self.jid.endswith("@" + GROUP_DOMAIN)


def invalid_phone(raw: str, reason: str, explanation: str) -> InvalidInput:
    return InvalidInput(
        f"invalid phone number {raw!r}: {explanation}",
        code="invalid_phone",
        details={"input": raw, "reason": reason},
    )


def normalize(raw: str, default_region: str | None = None) -> Recipient:
    """The recipient `raw` names; InvalidInput(code="invalid_phone") saying why when it names none."""
    text = raw.strip()
    if not text:
        raise invalid_phone(raw, "empty", "it is empty")
    if len(text) > MAX_INPUT:
        raise invalid_phone(raw[:MAX_INPUT] + "…", "too_long", f"it is longer than {MAX_INPUT} characters")
    if "@" in text:
        return _chat_id(raw, text)
    cleaned = _SEPARATORS.sub("", text)
    if not cleaned.isascii():  # the common case skips a call per character: 100,000-row imports
        cleaned = "".join(_ascii_digit(ch) for ch in cleaned)
    international = cleaned.startswith(("+", "00"))
    digits = cleaned[1:] if cleaned.startswith("+") else cleaned[2:] if international else cleaned
    if not digits.isascii() or not digits.isdigit():
        raise invalid_phone(
            raw,
            "bad_characters",
            "use digits, optionally a leading + or 00, spaces, dashes, dots and parentheses",
        )
    if international:
        number = _valid(raw, "+" + digits, None)
    elif default_region:
        try:
            number = _valid(raw, digits, default_region)
        except InvalidInput as national:
            try:
                number = _valid(raw, "+" + digits, None)
            except InvalidInput:
                raise national from None
    else:
        try:
            number = _valid(raw, "+" + digits, None)
        except InvalidInput as exc:
            if exc.details["reason"] != "unknown_country_code":
                raise
            raise invalid_phone(
                raw,
                "no_country_code",
                "it has no country code: start it with + or 00 and the country code, "
                "or set WAQTOR_DEFAULT_REGION for local numbers",
            ) from None
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return Recipient(jid=f"{e164[1:]}@{USER_DOMAIN}", phone=e164)


def _ascii_digit(ch: str) -> str:
    """A digit of any script as its ASCII digit (Arabic-Indic ٣ → 3); other characters unchanged."""
    if ch.isdigit() and not ch.isascii():
        value = unicodedata.decimal(ch, None)
        if value is not None:
            return str(value)
    return ch


def _chat_id(raw: str, text: str) -> Recipient:
    user, _, domain = text.rpartition("@")
    domain = domain.lower()
    if domain in (USER_DOMAIN, "c.us") and _USER_ID.match(user):
        return Recipient(jid=f"{user}@{USER_DOMAIN}", phone="+" + user)
    if domain == GROUP_DOMAIN and _GROUP_ID.match(user):
        return Recipient(jid=f"{user}@{GROUP_DOMAIN}", phone=None)
    if domain == LID_DOMAIN and _USER_ID.match(user):
        return Recipient(jid=f"{user}@{LID_DOMAIN}", phone=None)
    if domain in (USER_DOMAIN, "c.us", GROUP_DOMAIN, LID_DOMAIN):
        raise invalid_phone(raw, "bad_chat_id", f"the part before @{domain} must be digits")
    raise invalid_phone(
        raw, "unsupported_chat_id",
        f"chats @{domain} are not supported; use @{USER_DOMAIN}, @{GROUP_DOMAIN} or @{LID_DOMAIN}",
    )


def _valid(raw: str, text: str, region: str | None) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        reason, explanation = _PARSE_REASONS.get(exc.error_type, ("not_a_number", "it is not a phone number"))
        raise invalid_phone(raw, reason, explanation) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        reason, explanation = _POSSIBLE_REASONS.get(possible, ("invalid_length", "it cannot be a number in {where}"))
        raise invalid_phone(raw, reason, explanation.format(where=_where(number)))
    if not phonenumbers.is_valid_number(number):
        raise invalid_phone(raw, "not_a_valid_number", f"no such number range exists in {_where(number)}")
    return number


def _where(number: phonenumbers.PhoneNumber) -> str:
    code = number.country_code  # None only for a number parse() did not fill in
    region = phonenumbers.region_code_for_country_code(code) if code is not None else None
    if region and region != phonenumbers.UNKNOWN_REGION:
        return f"{region} (+{number.country_code})"
    return f"+{number.country_code}"
