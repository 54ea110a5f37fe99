"""How a simulated contact of the sandbox behaves when the account writes to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DEFAULT_ERROR = "the sandbox contact is set to fail"


@dataclass(frozen=True, slots=True)
class ContactBehaviour:
    """`on_whatsapp` False: sends are refused with `not_on_whatsapp`. `fail` "send": the engine refuses
    the send; "delivery": it is accepted, then reported failed with `error`. `reads` False: messages
    stop at delivered. `reply`: the contact answers every message with this text."""

    on_whatsapp: bool = True
    reply: str | None = None
    fail: Literal["send", "delivery"] | None = None
    error: str = DEFAULT_ERROR
    reads: bool = True


EVERYONE = ContactBehaviour()
