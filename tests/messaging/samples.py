"""Files of a given type and exact size, built from their magic numbers (no fixtures on disk)."""

from __future__ import annotations

SAMPLES: dict[str, bytes] = {
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    "ogg": b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x13OpusHead",
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
    "text": b"Hello, this is plain UTF-8 text. ",
    "binary": b"\x01\x02\x03\x04\xfe\xff\x00\x80",
}

KIND_SAMPLE = {"image": "png", "video": "mp4", "audio": "ogg", "document": "pdf"}


def sample(name: str, size: int) -> bytes:
    """`size` bytes that start like a file of type `name`."""
    head = SAMPLES[name]
    filler = b" " if name == "text" else b"\x00"
    return (head + filler * max(0, size - len(head)))[:size]
