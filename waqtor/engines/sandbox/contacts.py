"""How a simulated contact of the sandbox behaves when the account writes to it."""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from typing import Literal

DEFAULT_ERROR = "the sandbox contact is set to fail"
SIDE = 64  # pixels of a generated profile picture


@dataclass(frozen=True, slots=True)
class ContactBehaviour:
    """`on_whatsapp` False: sends are refused with `not_on_whatsapp`. `fail` "send": the engine refuses
    the send; "delivery": it is accepted, then reported failed with `error`. `reads` False: messages
    stop at delivered. `reply`: the contact answers every message with this text. Its profile: `name`,
    `about`, `business`, and `picture` (False: it has none, or hides it)."""

    on_whatsapp: bool = True
    reply: str | None = None
    fail: Literal["send", "delivery"] | None = None
    error: str = DEFAULT_ERROR
    reads: bool = True
    name: str | None = None
    about: str | None = None
    business: bool = False
    picture: bool = True


EVERYONE = ContactBehaviour()


def picture(jid: str) -> bytes:
    """A contact's generated profile picture: a 64×64 PNG of one colour drawn from its JID (the same
    contact always gets the same picture)."""
    red, green, blue = hashlib.sha256(jid.encode()).digest()[:3]
    row = b"\x00" + bytes((red, green, blue)) * SIDE
    raw = zlib.compress(row * SIDE)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
