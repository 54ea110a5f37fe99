"""What any instance can say about a session, whichever instance runs it.

A session run here is read from memory; one run elsewhere (or by nobody) from the database, where its
owner writes every change of state before publishing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from waqtor.engines import engine_class
from waqtor.sessions.state import SessionState
from waqtor.storage.records import SessionRecord


@dataclass(frozen=True, slots=True)
class Snapshot:
    record: SessionRecord
    state: SessionState
    running: bool  # its engine runs, on this instance or another
    owner: str | None  # the instance that runs it, or None

    @property
    def name(self) -> str:
        return self.record.name

    @staticmethod
    def note_for(state: SessionState) -> str | None:
        """What the QR routes say instead of the usual "no QR" message, for engines that never show one."""
        return engine_class(state.engine).qr_note
