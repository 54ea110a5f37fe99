"""Pure helpers of the sandbox: WhatsApp-shaped QR codes, simulated accounts and ids."""

from __future__ import annotations

import base64
import random


def qr_code(rng: random.Random) -> str:
    """A string shaped like WhatsApp Web's QR payload: `2@<ref>,<noise key>,<identity key>,<adv secret>`."""

    def b64(size: int) -> str:
        return base64.b64encode(rng.randbytes(size)).decode("ascii")

    return "2@" + ",".join((b64(48), b64(32), b64(32), b64(32)))


def simulated_phone(rng: random.Random) -> str:
    """A number from the 555-01xx range that North American numbering reserves for fiction."""
    return f"120155501{rng.randrange(0, 100):02d}"


def message_id(rng: random.Random) -> str:
    """A message id shaped like WhatsApp's (upper-case hex, 3EB0 prefix of WhatsApp Web)."""
    return "3EB0" + rng.randbytes(8).hex().upper()


PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ123456789"


def pairing_code(rng: random.Random) -> str:
    """A code shaped like WhatsApp's pairing codes: eight letters and digits, shown as `XXXX-XXXX`."""
    raw = "".join(rng.choice(PAIRING_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"
