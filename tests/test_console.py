"""The console draws each new QR code when the gateway runs in a terminal."""

from __future__ import annotations

import io

from tests.conftest import eventually
from waqtor import events
from waqtor.bus import Bus, backend_factory
from waqtor.console import ConsoleQR, render


def test_a_qr_code_is_drawn_with_the_session_and_its_expiry() -> None:
    text = render("2@AAAA,BBBB,CCCC,DDDD", "shop", "2026-11-02T10:00:00.000Z")
    assert "link session shop" in text and "valid until 2026-11-02T10:00:00.000Z" in text
    assert sum("\u2588" in line or "\u2580" in line or "\u2584" in line for line in text.splitlines()) > 10


async def test_the_printer_draws_every_published_qr_code_and_nothing_else() -> None:
    bus = Bus(backend_factory("memory://", replay=100)(), 100)
    await bus.start()
    out = io.StringIO()
    printer = ConsoleQR(bus, out)
    await printer.start()
    try:
        await eventually(lambda: bus._subscriptions != set(), what="printer subscribed")
        await bus.publish(events.SESSION_UPDATE, {"status": "qr"}, session="default")
        await bus.publish(events.QR_CODE, {"hasQR": True, "qr": "2@AAAA,BBBB,CCCC,DDDD", "expiresAt": None},
                          session="default")
        await eventually(lambda: "link session default" in out.getvalue(), what="QR drawn")
    finally:
        await printer.stop()
        await bus.stop()
    assert out.getvalue().count("Scan this QR code") == 1
