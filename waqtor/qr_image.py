"""A QR payload drawn as an image, pure: a string in, SVG text or PNG bytes out (with `segno`).

The same payload always gives the same image, so a client may compare what it drew itself with what
the gateway serves. Dark modules are black on an opaque white background with the standard quiet zone
of four modules, so the code stays scannable on a dark page.
"""

from __future__ import annotations

import io
from typing import Literal

import segno

ImageFormat = Literal["png", "svg"]

MEDIA_TYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}

SCALE = 8  # pixels per module: a WhatsApp link code (about 60 modules a side) becomes about 500 px
BORDER = 4  # the quiet zone ISO/IEC 18004 asks for, in modules
DARK = "#000"
LIGHT = "#fff"
TITLE = "WhatsApp link QR code"


def _symbol(payload: str) -> segno.QRCode:
    if not payload:
        raise ValueError("a QR payload must not be empty")
    # At least level M (15 % of the code may be damaged); segno raises it when that costs no size.
    # UTF-8 bytes, as phone scanners expect (segno would pick ISO 8859-1 when it fits, which readers
    # guess as Shift JIS); an ASCII payload such as a WhatsApp link code encodes the same either way.
    return segno.make_qr(payload, error="m", encoding="utf-8")


def size(payload: str, scale: int = SCALE) -> int:
    """Width (= height) in pixels of the image of `payload`, quiet zone included."""
    width, _ = _symbol(payload).symbol_size(scale=scale, border=BORDER)
    return int(width)


def svg(payload: str, scale: int = SCALE) -> str:
    """The QR code of `payload` as a standalone SVG document. ValueError when `payload` is empty or
    too long for a QR code."""
    out = io.BytesIO()
    _symbol(payload).save(out, kind="svg", scale=scale, border=BORDER, dark=DARK, light=LIGHT,
                          xmldecl=False, title=TITLE, nl=False)
    return out.getvalue().decode("utf-8")


def png(payload: str, scale: int = SCALE) -> bytes:
    """The QR code of `payload` as a 1-bit PNG. ValueError when `payload` is empty or too long."""
    out = io.BytesIO()
    _symbol(payload).save(out, kind="png", scale=scale, border=BORDER, dark=DARK, light=LIGHT)
    return out.getvalue()


def render(payload: str, fmt: ImageFormat) -> tuple[bytes, str]:
    """The image of `payload` in `fmt` and its media type."""
    body = svg(payload).encode("utf-8") if fmt == "svg" else png(payload)
    return body, MEDIA_TYPES[fmt]
