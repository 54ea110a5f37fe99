"""Read QR images back with a real decoder (zxing-cpp), to prove what the gateway draws scans."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import zxingcpp
from PIL import Image, ImageDraw

SVG_NS = "{http://www.w3.org/2000/svg}"


def decode_png(data: bytes) -> list[str]:
    """The text of every QR code zxing finds in a PNG."""
    image = Image.open(io.BytesIO(data))
    return [result.text for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def svg_dark_modules(svg_text: str) -> tuple[int, set[tuple[int, int]]]:
    """Parse a segno SVG: its size in modules and the (x, y) of each dark module.

    segno draws the dark modules as one stroked path of horizontal runs, `M x y+0.5` then relative
    `m dx dy` moves and `h n` runs, under a `scale(k)` transform."""
    root = ET.fromstring(svg_text)
    assert root.tag == f"{SVG_NS}svg", root.tag
    scale_attr = next(el.get("transform") for el in root.iter() if el.get("transform"))
    scale = int(float(re.fullmatch(r"scale\(([\d.]+)\)", scale_attr).group(1)))  # type: ignore[union-attr]
    modules = int(root.get("width", "0")) // scale
    path = next(el for el in root.iter(f"{SVG_NS}path") if el.get("class") == "qrline")
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for op, args in re.findall(r"([MmHh])([^MmHh]*)", path.get("d", "")):
        numbers = [float(n) for n in args.replace(",", " ").split()]
        if op == "M":
            x, y = numbers
        elif op == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            run = numbers[0] if op == "h" else numbers[0] - x
            dark.update((int(x) + i, int(y - 0.5)) for i in range(int(run)))
            x += run
    return modules, dark


def decode_svg(svg_text: str) -> list[str]:
    """Draw the SVG's modules into a bitmap and read it like a PNG."""
    modules, dark = svg_dark_modules(svg_text)
    pixel = 4
    image = Image.new("1", (modules * pixel, modules * pixel), 1)
    draw = ImageDraw.Draw(image)
    for mx, my in dark:
        draw.rectangle([mx * pixel, my * pixel, (mx + 1) * pixel - 1, (my + 1) * pixel - 1], fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return decode_png(out.getvalue())
