"""Read receipts and typing: what the account tells a chat besides messages.

`mark_read(session, chat)` — marks the chat's received messages the account has not read yet as read on
WhatsApp (the sender sees blue ticks), at most MAX_READ of the newest per call, and sets their `readAt`
in the log; how many were marked. Every engine can (the Cloud API marks the newest one, which marks the
earlier ones with it). `read_on_arrival(session, record)` does the same for one message as it arrives,
for the sessions WAQTOR_AUTO_READ names: in the background, at most AUTO_READ_PENDING at once; beyond,
the message is left unread (logged as a warning), so a burst of messages never piles up tasks.

`presence(session, chat, state)` — shows `typing`, `recording` (a voice note) or `paused` in the chat;
the Cloud API cannot (422 `not_supported_by_engine`). `show_typing(engine, chat, seconds)` is what a send
with `typingSeconds` does first: typing for that long (a failure to show it is logged, the message goes
anyway).

`own_presence(session, state)` — shows the account itself `available` (online) or `unavailable` to its
contacts; the Cloud API cannot either.

The commands run on the instance that runs the session, which must be connected (409
`session_not_ready`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from waqtor.clock import Clock
from waqtor.config import Settings
from waqtor.engines import OWN_PRESENCE, PRESENCE
from waqtor.engines.base import Engine
from waqtor.errors import WaqtorError
from waqtor.sessions.manager import SessionManager
from waqtor.sessions.session import Session
from waqtor.storage.messages import MessageRepository
from waqtor.storage.records import MessageRecord
from waqtor.tasks import TaskSet

log = logging.getLogger(__name__)

MAX_READ = 500  # received messages one `mark_read` marks at most (the newest); call again for more
AUTO_READ_PENDING = 100  # auto-read marks under way at once; a message beyond them is left unread
MAX_TYPING = 10.0  # seconds of typing a send may ask for (`typingSeconds`)


class ReadyCheck(Protocol):
    """`MessageService.require_ready`: the session's engine offers `features` and the session is connected."""

    async def __call__(self, session: str, *features: str) -> None: ...


class ChatActions:
    def __init__(self, settings: Settings, repo: MessageRepository, sessions: SessionManager, clock: Clock,
                 require_ready: ReadyCheck) -> None:
        self._require_ready = require_ready
        self._settings = settings
        self._repo = repo
        self._sessions = sessions
        self._clock = clock
        self._tasks = TaskSet("auto-read")
        sessions.handle("chats.read", self._read_here)
        sessions.handle("chats.presence", self._presence_here)
        sessions.handle("session.presence", self._own_presence_here)

    async def close(self) -> None:
        """Stop the auto-read marks under way."""
        await self._tasks.close()

    async def mark_read(self, session: str, chat: str) -> dict[str, Any]:
        """Mark `chat`'s unread received messages read; `{"session", "chat", "marked"}`. SessionNotFound,
        SessionNotReady, or the engine's refusal."""
        await self._require_ready(session)
        return await self._sessions.command(session, "chats.read", {"chat": chat})

    async def presence(self, session: str, chat: str, state: str) -> dict[str, Any]:
        """Show `state` in `chat`; `{"session", "chat", "state"}`. NotSupportedByEngine (first),
        SessionNotFound, SessionNotReady, or the engine's refusal."""
        await self._require_ready(session, PRESENCE)
        return await self._sessions.command(session, "chats.presence", {"chat": chat, "state": state})

    async def own_presence(self, session: str, state: str) -> dict[str, Any]:
        """Show the account `state` (available or unavailable); `{"session", "state"}`. As `presence`."""
        await self._require_ready(session, OWN_PRESENCE)
        return await self._sessions.command(session, "session.presence", {"state": state})

    async def show_typing(self, engine: Engine, chat: str, seconds: float) -> None:
        """Show typing in `chat` for `seconds` (at most MAX_TYPING), then return; a refusal is logged."""
        try:
            await engine.send_chat_presence(chat, "typing")
        except WaqtorError as exc:
            log.warning("session %s: could not show typing in %s before a send: %s", engine.ctx.session, chat,
                        exc.message)
        await asyncio.sleep(min(seconds, MAX_TYPING))

    def read_on_arrival(self, session: str, record: MessageRecord) -> None:
        """Mark the just received `record` read in the background when WAQTOR_AUTO_READ names `session`."""
        if not self._settings.auto_reads(session) or record.wa_id is None:
            return
        if len(self._tasks) >= AUTO_READ_PENDING:
            log.warning("session %s: message %s is left unread: %d auto-read marks are under way already",
                        session, record.id, len(self._tasks))
            return
        self._tasks.spawn(self._auto_read(session, record), f"auto-read:{record.id}")

    async def _auto_read(self, session: str, record: MessageRecord) -> None:
        try:
            assert record.wa_id is not None
            engine = self._sessions.get(session).engine
            await engine.mark_read(record.chat, [(record.wa_id, record.sender or record.chat)])
            await self._repo.mark_read([record.id], self._clock())
        except Exception as exc:
            log.warning("session %s: could not mark message %s read: %s", session, record.id,
                        exc.message if isinstance(exc, WaqtorError) else repr(exc))

    async def _read_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        chat = str(args["chat"])
        unread = await self._repo.unread(session.name, chat, MAX_READ)
        marked = 0
        if unread:
            await session.engine.mark_read(chat, [(r.wa_id or "", r.sender or chat) for r in unread])
            marked = await self._repo.mark_read([r.id for r in unread], self._clock())
        return {"session": session.name, "chat": chat, "marked": marked}

    async def _presence_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        chat, state = str(args["chat"]), str(args["state"])
        await session.engine.send_chat_presence(chat, state)
        return {"session": session.name, "chat": chat, "state": state}

    async def _own_presence_here(self, session: Session, args: dict[str, Any]) -> dict[str, Any]:
        state = str(args["state"])
        await session.engine.send_presence(state)
        return {"session": session.name, "state": state}
