"""waqtor.qr_image: a QR payload drawn as SVG or PNG that a real decoder reads back."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.qr_decode import decode_png, decode_svg, svg_dark_modules
from waqtor import qr_image

# The shape of a WhatsApp link code: ref, noise key, identity key, adv secret.
CODE = ",".join([
    "2@Xk3vH9bq1YwT0pZ7LmN4rS8uE2cA6dF5gJ1hK0oI3==",
    "8tQ2wE4rT6yU1iO3pA5sD7fG9hJ0kL2zX4cV6bN8mM=",
    "q1W2e3R4t5Y6u7I8o9P0aSdFgHjKlZxCvBnM1234567=",
    "Zx9Cv8Bn7Mm6Lk5Jh4Gf3Ds2Aa1Qq0Ww9Ee8Rr7Tt6=",
])


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_png_decodes_back_to_the_payload() -> None:
    assert decode_png(qr_image.png(CODE)) == [CODE]


def test_png_is_square_with_eight_pixels_a_module_and_a_quiet_zone() -> None:
    modules = segno.make_qr(CODE, error="m", encoding="utf-8").symbol_size(scale=1, border=0)[0]
    width, height = png_size(qr_image.png(CODE))
    assert width == height == (modules + 2 * qr_image.BORDER) * qr_image.SCALE == qr_image.size(CODE)


def test_svg_is_an_svg_document_with_a_title() -> None:
    root = ET.fromstring(qr_image.svg(CODE))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.findtext("{http://www.w3.org/2000/svg}title") == qr_image.TITLE
    assert int(root.get("width", "0")) == qr_image.size(CODE)


def test_svg_modules_decode_back_to_the_payload() -> None:
    assert decode_svg(qr_image.svg(CODE)) == [CODE]


def test_svg_draws_exactly_the_modules_of_the_code() -> None:
    modules, dark = svg_dark_modules(qr_image.svg(CODE))
    matrix = segno.make_qr(CODE, error="m", encoding="utf-8").matrix
    border = qr_image.BORDER
    expected = {(x + border, y + border) for y, row in enumerate(matrix) for x, bit in enumerate(row) if bit}
    assert modules == len(matrix) + 2 * border
    assert dark == expected


def test_svg_has_an_opaque_light_background() -> None:
    # A transparent background would make the code unreadable on a dark page.
    assert 'fill="#fff"' in qr_image.svg(CODE)


def test_the_same_payload_always_gives_the_same_image() -> None:
    assert qr_image.png(CODE) == qr_image.png(CODE)
    assert qr_image.svg(CODE) == qr_image.svg(CODE)


def test_render_names_the_media_type() -> None:
    assert qr_image.render(CODE, "png") == (qr_image.png(CODE), "image/png")
    assert qr_image.render(CODE, "svg") == (qr_image.svg(CODE).encode(), "image/svg+xml")


def test_empty_payload_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        qr_image.svg("")


def test_payload_too_long_for_any_qr_code_is_refused() -> None:
    with pytest.raises(ValueError):
        qr_image.png("x" * 5000)


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=200))
def test_any_text_payload_round_trips_through_png(payload: str) -> None:
    assert decode_png(qr_image.png(payload)) == [payload]
