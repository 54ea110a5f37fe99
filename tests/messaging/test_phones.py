"""Phone numbers from many countries and in every common spelling become one JID; bad ones say why."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from waqtor.errors import InvalidInput
from waqtor.messaging.phones import normalize

# (written as, default region, JID) — real number ranges of many countries.
COUNTRIES = [
    ("+49 151 12345678", None, "4915112345678"),  # Germany, mobile
    ("+1 (201) 555-0123", None, "12015550123"),  # United States
    ("+44 7400 123456", None, "447400123456"),  # United Kingdom
    ("+971 50 123 4567", None, "971501234567"),  # United Arab Emirates
    ("+20 100 123 4567", None, "201001234567"),  # Egypt
    ("+966 50 123 4567", None, "966501234567"),  # Saudi Arabia
    ("+91 98765 43210", None, "919876543210"),  # India
    ("+55 11 91234-5678", None, "5511912345678"),  # Brazil
    ("+81 90-1234-5678", None, "819012345678"),  # Japan
    ("+33 6 12 34 56 78", None, "33612345678"),  # France
    ("+234 802 123 4567", None, "2348021234567"),  # Nigeria
    ("+61 412 345 678", None, "61412345678"),  # Australia
    ("+52 55 1234 5678", None, "525512345678"),  # Mexico
    ("+62 812-3456-7890", None, "6281234567890"),  # Indonesia
    ("+7 912 345-67-89", None, "79123456789"),  # Russia
]


@pytest.mark.parametrize(("written", "region", "digits"), COUNTRIES)
def test_international_numbers_of_many_countries_become_their_jid(
        written: str, region: str | None, digits: str) -> None:
    recipient = normalize(written, region)
    assert recipient.jid == f"{digits}@s.whatsapp.net"
    assert recipient.phone == "+" + digits


@pytest.mark.parametrize(
    "written",
    [
        "+4915112345678",
        "004915112345678",
        "+49 151 12345678",
        "+49-151-1234-5678",
        "+49.151.123.456.78",
        "+49 (151) 12345678",
        " 0049 151 12345678 ",
        "4915112345678",  # international without + (no default region)
        "4915112345678@s.whatsapp.net",
        "4915112345678@c.us",
        "+٤٩ ١٥١ ١٢٣٤٥٦٧٨",  # Arabic-Indic digits
    ],
)
def test_every_common_spelling_of_one_number_gives_the_same_jid(written: str) -> None:
    assert normalize(written).jid == "4915112345678@s.whatsapp.net"


@pytest.mark.parametrize(
    ("written", "region", "digits"),
    [
        ("0151 12345678", "DE", "4915112345678"),
        ("(201) 555-0123", "US", "12015550123"),
        ("050 123 4567", "AE", "971501234567"),
        ("07400 123456", "GB", "447400123456"),
        ("+33 6 12 34 56 78", "DE", "33612345678"),  # an international number ignores the region
        ("33612345678", "US", "33612345678"),  # not a US number: read as international
    ],
)
def test_local_numbers_use_the_default_region(written: str, region: str, digits: str) -> None:
    assert normalize(written, region).jid == f"{digits}@s.whatsapp.net"


def test_a_whatsapp_privacy_id_is_a_chat_without_a_phone() -> None:
    recipient = normalize("215327923232839@LID")
    assert (recipient.jid, recipient.phone, recipient.is_group) == ("215327923232839@lid", None, False)


def test_group_jids_pass_untouched() -> None:
    for jid in ("120363025246125486@g.us", "4915112345678-1600000000@g.us"):
        recipient = normalize(jid)
        assert recipient.jid == jid and recipient.phone is None and recipient.is_group


@pytest.mark.parametrize(
    ("written", "region", "reason"),
    [
        ("", None, "empty"),
        ("   ", None, "empty"),
        ("hello", None, "bad_characters"),
        ("+49 151 1234 567x", None, "bad_characters"),
        ("+49+151", None, "bad_characters"),
        ("015112345678", None, "no_country_code"),
        ("+999 1234567", None, "unknown_country_code"),
        ("+49 123", None, "local_only"),
        ("+1 201 555", None, "too_short"),
        ("+4915112345678901234", None, "too_long"),
        ("+1 000 000 0000", None, "not_a_valid_number"),
        ("12", "DE", "local_only"),
        ("+44 20", None, "too_short"),
        ("abc@s.whatsapp.net", None, "bad_chat_id"),
        ("123@lid", None, "bad_chat_id"),
        ("status@broadcast", None, "unsupported_chat_id"),
        ("1" * 80, None, "too_long"),
    ],
)
def test_impossible_numbers_are_invalid_phone_with_the_reason(written: str, region: str | None, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize(written, region)
    assert caught.value.code == "invalid_phone"
    assert caught.value.details["reason"] == reason
    assert "invalid phone number" in caught.value.message


def test_a_number_without_country_code_explains_how_to_write_it() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize("0151 12345678")
    assert "WAQTOR_DEFAULT_REGION" in caught.value.message and "+" in caught.value.message


REGIONS = sorted(r for r in phonenumbers.SUPPORTED_REGIONS if phonenumbers.example_number(r) is not None)


def _spellings(number: phonenumbers.PhoneNumber) -> list[str]:
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return [international, e164, "00" + e164[1:], international.replace(" ", "."), international.replace(" ", "-")]


@settings(max_examples=200, deadline=None)
@given(region=st.sampled_from(REGIONS), separator=st.sampled_from([" ", "-", ".", ""]))
def test_every_regions_example_number_normalises_the_same_in_any_spelling(region: str, separator: str) -> None:
    number = phonenumbers.example_number(region)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    expected = f"{e164[1:]}@s.whatsapp.net"
    for spelling in _spellings(number):
        assert normalize(spelling.replace(" ", separator)).jid == expected
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if national.lstrip().startswith(("+", "00")):
        return  # some regions write their numbers with the international prefix even nationally
    assert normalize(national, region).jid == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_either_normalises_or_is_invalid_phone(text: str) -> None:
    try:
        recipient = normalize(text)
    except InvalidInput as exc:
        assert exc.code == "invalid_phone" and exc.details["reason"]
    else:
        assert recipient.jid.endswith(("@s.whatsapp.net", "@g.us"))
        assert recipient.jid.split("@")[0].replace("-", "").isdigit()


def test_the_default_region_setting_takes_a_known_country_code(data_dir) -> None:  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from tests.conftest import make_settings

    assert make_settings(data_dir, default_region="de").default_region == "DE"
    assert make_settings(data_dir, default_region="").default_region is None
    with pytest.raises(ValidationError, match="unknown region"):
        make_settings(data_dir, default_region="XX")


# ---- properties over any input --------------------------------------------------------------------

phone_like = st.text(alphabet="0123456789+ -.()", max_size=24) | st.text(max_size=40)
maybe_region = st.none() | st.sampled_from(["DE", "US", "AE", "IN", "BR", "GB", "EG", "JP"])


@settings(max_examples=300, deadline=None)
@given(text=phone_like, region=maybe_region)
def test_with_any_default_region_text_normalises_or_is_invalid_phone(text: str, region: str | None) -> None:
    try:
        normalize(text, region)
    except InvalidInput as exc:
        assert exc.code == "invalid_phone" and exc.details["reason"] and exc.message


@settings(max_examples=200, deadline=None)
@given(region=st.sampled_from(REGIONS), region_for_again=maybe_region, national=st.booleans())
def test_normalising_is_idempotent_through_the_jid_and_the_e164_phone(
    region: str, region_for_again: str | None, national: bool
) -> None:
    number = phonenumbers.example_number(region)
    written = phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.NATIONAL if national else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    try:
        first = normalize(written, region)
    except InvalidInput:
        return  # some regions' national form needs more than a default region (checked above)
    assert normalize(first.jid, region_for_again) == first
    assert first.phone is not None
    assert normalize(first.phone, region_for_again) == first
