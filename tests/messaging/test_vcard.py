"""Contact cards: built with the WhatsApp id, read back for their name, malformed ones refused."""

from __future__ import annotations

import pytest

from waqtor.errors import InvalidInput
from waqtor.messaging.vcard import build, display_name


def test_a_built_card_names_the_contact_and_links_its_whatsapp_id() -> None:
    card = build("Ana Müller", "+4915112345678")
    assert card.startswith("BEGIN:VCARD") and card.endswith("END:VCARD")
    assert "TEL;type=CELL;type=VOICE;waid=4915112345678:+4915112345678" in card
    assert display_name(card) == "Ana Müller"


def test_special_characters_in_the_name_survive_a_round_trip() -> None:
    assert display_name(build("Doe, John; Jr.\\", "+12015550123")) == "Doe, John; Jr.\\"


def test_a_folded_fn_line_is_read_whole() -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Very Long\r\n  Name\r\nEND:VCARD"
    assert display_name(card) == "Very Long Name"


@pytest.mark.parametrize("card", [
    "FN:Ana",
    "BEGIN:VCARD\nVERSION:3.0\nEND:VCARD",
    "BEGIN:VCARD\nFN:\nEND:VCARD",
    "BEGIN:VCARD\nFN:A\nEND:VCARD\nBEGIN:VCARD\nFN:B\nEND:VCARD",
    "BEGIN:VCARD\nFN:" + "x" * 20_000 + "\nEND:VCARD",
])
def test_malformed_cards_are_invalid_vcard(card: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        display_name(card)
    assert caught.value.code == "invalid_vcard"
