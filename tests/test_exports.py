"""The pure parts of exports: which cells are made safe for spreadsheets, and the per-key slots."""

from __future__ import annotations

import pytest

from waqtor.errors import RateLimited
from waqtor.exports import ExportSlots, safe_cell


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"), ("+4915112345678", "'+4915112345678"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("'=1", "'=1"), (" =1", " =1"), ("a=1", "a=1"), ("", ""),
    (-5, -5), (12, 12), (None, None),
])
def test_only_text_a_spreadsheet_would_run_gets_a_quote(value: object, written: object) -> None:
    assert safe_cell(value) == written


def test_a_key_has_its_own_slots_and_each_comes_back_once() -> None:
    slots = ExportSlots(2)
    first, second = slots.take("key_a"), slots.take("key_a")
    with pytest.raises(RateLimited) as refused:
        slots.take("key_a")
    assert refused.value.code == "too_many_exports" and refused.value.retry_after > 0
    slots.take("key_b")  # another key's slots are its own
    first()
    first()  # given back twice by two paths (the stream ended, the answer was dropped): counted once
    assert slots.held("key_a") == 1
    slots.take("key_a")
    second()
    assert slots.held("key_a") == 1 and slots.held("key_b") == 1
