"""Scopes and identities (pure): what a key may do, and on which sessions."""

from __future__ import annotations

import pytest

from waqtor.access.scopes import Identity, normalize_scopes
from waqtor.errors import Forbidden, InvalidInput


def limited(*sessions: str, scopes: tuple[str, ...] = ("read",)) -> Identity:
    return Identity(key_id="key_1", name="k", scopes=frozenset(scopes), sessions=frozenset(sessions))


def test_scopes_are_put_in_canonical_order_without_repeats() -> None:
    assert normalize_scopes(["send", "read", "send"]) == ("read", "send")


@pytest.mark.parametrize("scopes", [[], ["read", "write"]])
def test_no_scope_or_an_unknown_one_is_invalid(scopes: list[str]) -> None:
    with pytest.raises(InvalidInput) as error:
        normalize_scopes(scopes)
    assert error.value.code == "invalid_scope"


def test_a_missing_scope_is_insufficient_scope_naming_it() -> None:
    with pytest.raises(Forbidden) as error:
        limited("shop", scopes=("read",)).require("send")
    assert error.value.code == "insufficient_scope" and "'send'" in error.value.message


def test_admin_includes_every_scope_and_the_others_do_not_include_each_other() -> None:
    admin = Identity(key_id="k", name="k", scopes=frozenset({"admin"}))
    assert all(admin.has(scope) for scope in ("read", "send", "control", "admin"))
    sender = Identity(key_id="k", name="k", scopes=frozenset({"send"}))
    assert sender.has("send") and not sender.has("read") and not sender.has("control")


def test_the_gateway_key_reaches_every_session_and_event() -> None:
    gateway = Identity.gateway()
    gateway.check_session("anything")
    assert gateway.may_see(None) and gateway.may_see("shop")


def test_a_limited_key_reaches_only_its_sessions() -> None:
    identity = limited("shop", "support")
    identity.check_session("shop")
    with pytest.raises(Forbidden) as error:
        identity.check_session("default")
    assert error.value.code == "forbidden_session"


def test_a_limited_key_sees_only_its_sessions_events_and_no_gateway_wide_ones() -> None:
    identity = limited("shop")
    assert identity.may_see("shop")
    assert not identity.may_see("default")
    assert not identity.may_see(None)


def test_a_list_for_a_key_of_one_session_is_narrowed_to_it() -> None:
    assert limited("shop").listing_session(None) == "shop"
    assert Identity.gateway().listing_session(None) is None


def test_a_list_for_a_key_of_several_sessions_must_name_one_it_may_reach() -> None:
    identity = limited("shop", "support")
    assert identity.listing_session("support") == "support"
    for asked in (None, "default"):
        with pytest.raises(Forbidden) as error:
            identity.listing_session(asked)
        assert error.value.code == "forbidden_session"
