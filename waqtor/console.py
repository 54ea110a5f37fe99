"""The console's QR code: when the gateway runs in a terminal, every new QR code is drawn on stderr so a
phone can scan it straight from the console."""

from __future__ import annotations

import io
import logging
import sys
from typing import TextIO

import segno

from waqtor import events
from waqtor.bus import Bus, SubscriptionOverflow
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)


def render(code: str, session: str | None, expires_at: str | None) -> str:
    """The text block printed for one QR code: a heading, the code drawn for a terminal, a hint."""
    drawing = io.StringIO()
    segno.make_qr(code).terminal(out=drawing, compact=True)
    until = f" (valid until {expires_at})" if expires_at else ""
    return (f"\nScan this QR code with WhatsApp (Linked devices > Link a device) to link session "
            f"{session or 'default'}{until}:\n{drawing.getvalue()}")


class ConsoleQR:
    """Prints each `qr_code` event while it runs; owned and stopped by the app's lifespan."""

    def __init__(self, bus: Bus, out: TextIO | None = None) -> None:
        self._bus = bus
        self._out = out or sys.stderr
        self._tasks = TaskSet("console-qr")

    async def start(self) -> None:
        self._tasks.spawn(self._run(), "print")

    async def stop(self) -> None:
        await self._tasks.close()

    async def _run(self) -> None:
        while True:
            # A small queue: the console only ever needs the newest code, so falling behind just reopens it.
            async with self._bus.subscribe(queue_size=64) as subscription:
                try:
                    async for event in subscription:
                        if event.type == events.QR_CODE and event.data.get("qr"):
                            self._out.write(render(event.data["qr"], event.session, event.data.get("expiresAt")))
                            self._out.flush()
                except SubscriptionOverflow:
                    log.debug("console QR printer fell behind; resubscribing")
