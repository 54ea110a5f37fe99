"""The template renderer: variables filled, literal braces kept, a missing value never a blank."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from waqtor.errors import InvalidInput
from waqtor.messaging.templates import MissingVariables, builtin_values, render, variables_in

NOW = datetime(2025, 10, 28, 14, 5, 9, tzinfo=UTC)


def test_variables_are_replaced_by_their_values() -> None:
    assert render("Hello {name}, your order {order_id} ships", {"name": "Ana", "order_id": 42}) == (
        "Hello Ana, your order 42 ships"
    )


def test_builtins_give_phone_date_and_time() -> None:
    values = builtin_values("+4915112345678", NOW)
    assert render("{phone} on {date} at {time}", values) == "+4915112345678 on 2025-10-28 at 14:05"


def test_a_group_has_no_phone_value() -> None:
    assert "phone" not in builtin_values(None, NOW)


def test_a_custom_field_overrides_a_builtin_of_the_same_name() -> None:
    assert render("{date}", {**builtin_values(None, NOW), "date": "Monday"}) == "Monday"


def test_double_braces_are_literal_braces() -> None:
    assert render("{{name}} is {name}", {"name": "Ana"}) == "{name} is Ana"


def test_missing_values_are_an_error_listing_every_missing_name_once() -> None:
    with pytest.raises(MissingVariables) as caught:
        render("Hi {name} from {city}, {name}! {ok}", {"ok": "yes"})
    assert caught.value.code == "missing_variables"
    assert caught.value.details == {"missing": ["name", "city"]}
    assert "{name}, {city}" in caught.value.message


@pytest.mark.parametrize("blank", [None, "", "   ", "\n"])
def test_an_empty_or_blank_value_counts_as_missing(blank: object) -> None:
    with pytest.raises(MissingVariables):
        render("Hi {name}", {"name": blank})


@pytest.mark.parametrize("template", ["Hi {", "Hi }", "{0}", "{name.__class__}", "{a[0]}", "{name!r}", "{n:>10}"])
def test_anything_but_plain_variables_is_an_invalid_template(template: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        render(template, {"name": "x", "n": "y", "a": "z"})
    assert caught.value.code == "invalid_template"


def test_variables_in_lists_each_variable_once_in_order() -> None:
    assert variables_in("{b} {a} {b} {{c}}") == ["b", "a"]


@given(st.text())
def test_text_without_braces_is_returned_unchanged(text: str) -> None:
    text = text.replace("{", "").replace("}", "")
    assert render(text, {}) == text


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True),
                       st.text(min_size=1).filter(str.strip), min_size=1))
def test_every_given_value_lands_in_the_text(values: dict[str, str]) -> None:
    template = "|".join("{" + name + "}" for name in values)
    assert render(template, values) == "|".join(values.values())


async def test_date_and_time_follow_the_configured_time_zone(data_dir) -> None:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from tests.conftest import in_process, make_settings
    from waqtor.messaging.phones import normalize

    async with in_process(make_settings(data_dir, timezone="Asia/Tokyo")) as gw:
        before = datetime.now(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M")
        text = gw.gateway.messages.render("{date} {time}", normalize("+4915112345678"), {})
        after = datetime.now(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M")
        assert text in (before, after)


def test_an_unknown_time_zone_is_refused(data_dir) -> None:  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from tests.conftest import make_settings

    with pytest.raises(ValidationError, match="unknown time zone"):
        make_settings(data_dir, timezone="Mars/Olympus")


@given(template=st.text(max_size=60) | st.text(alphabet="{}ab_1 ", max_size=30),
       values=st.dictionaries(st.sampled_from(["a", "b", "name", "_1"]),
                              st.none() | st.text(max_size=8) | st.integers(), max_size=4))
def test_rendering_any_text_with_any_values_gives_text_or_its_own_error(template: str, values: dict) -> None:  # type: ignore[type-arg]
    try:
        text = render(template, values)
    except InvalidInput as exc:
        assert exc.code in {"invalid_template", "missing_variables"} and exc.message
        if isinstance(exc, MissingVariables):
            assert exc.missing and set(exc.missing) <= set(variables_in(template))
    else:
        assert isinstance(text, str)
        assert all(str(values[name]).strip() for name in variables_in(template))
