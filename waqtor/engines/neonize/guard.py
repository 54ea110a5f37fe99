"""Which neonize client may be called into Go right now.

A Go-backed method on a client whose Go side does not exist (before its connect attempt got going, or
after `Stop` removed it) aborts the whole process. The guard allows calls on one client while it is
*live*, from its first sign of life (a QR code, Connected) until the engine closes it; closing waits
for the calls in flight. neonize's errors come out as EngineError.

No Go function of neonize 0.5.2 locks the maps its clients share, so two calls at once (two sessions of
one engine worker sending) can end the process with Go's "concurrent map read and map write". Every call
through any guard of the process, and every `Stop`, takes `GO_CALLS` first: they run one at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from waqtor.errors import EngineError, SessionNotReady

T = TypeVar("T")

GO_CALLS = threading.Lock()


class GoGuard:
    def __init__(self, session: str) -> None:
        self._session = session
        self._cond = threading.Condition()
        self._client: Any = None
        self._live = False
        self._inflight = 0

    def attach(self, client: Any) -> None:
        """`client` is the one the engine runs now; not live until `alive` says so."""
        with self._cond:
            self._client, self._live = client, False

    def alive(self, client: Any) -> None:
        """`client` showed a sign of life: its Go side exists."""
        with self._cond:
            if client is self._client:
                self._live = True

    def call(self, client: Any, fn: Callable[..., T], *args: Any) -> T:
        """Run the Go-backed `fn(*args)` (blocking: from a worker thread) if `client` is the live one;
        SessionNotReady otherwise, EngineError when neonize raises."""
        from neonize.exc import NeonizeError

        with self._cond:
            if not self._live or client is not self._client:
                raise SessionNotReady(f"session {self._session!r} is not connected to WhatsApp")
            self._inflight += 1
        try:
            with GO_CALLS:
                return fn(*args)
        except NeonizeError as exc:
            raise EngineError(f"WhatsApp refused: {exc}", code="whatsapp_error") from None
        finally:
            with self._cond:
                self._inflight -= 1
                self._cond.notify_all()

    @staticmethod
    def stop(client: Any) -> None:
        """neonize's `Stop` of `client` (safe on any client), one Go call at a time (blocking)."""
        with GO_CALLS:
            client.stop()

    def close(self, drain: float) -> None:
        """Refuse new calls and wait up to `drain` seconds for those in flight (blocking)."""
        with self._cond:
            self._client, self._live = None, False
            self._cond.wait_for(lambda: self._inflight == 0, timeout=drain)
