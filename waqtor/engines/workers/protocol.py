"""What the gateway and an engine worker say to each other, and how it travels.

Each message is one frame on a pipe: a 4-byte big-endian length, then the message pickled. Both ends
are this package, started by the gateway itself, so pickle is safe here (it never reads anything from
outside); a frame longer than the agreed limit ends the connection instead of being read.

    gateway → worker    Setup (first), Call (start, stop, logout, pair, send, is_on_whatsapp, react, the
                        contacts' check_numbers, contact_profile, profile_picture, set_blocked, and
                        edit_message, revoke_message, mark_read, send_chat_presence, and presence's
                        subscribe_presence, send_presence), Reply, Shutdown
    worker → gateway    Ready (first), Call (load, save: the session's engine store), Reply, Emit (an
                        engine event of one session), Wear (what the worker has used up)

Errors cross as `Failure` and are raised again on the other side as the same `waqtor.errors` class with
the same code, so a caller cannot tell an engine in a worker from one in the gateway.
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from waqtor import errors

if TYPE_CHECKING:
    from waqtor.config import Settings

HEADER = struct.Struct(">I")
# Above the largest file a message may carry (inbound media travel inside an Emit).
FRAME_OVERHEAD = 1 << 20

GatewayMethod = Literal["start", "stop", "logout", "pair", "send", "is_on_whatsapp", "react", "check_numbers",
                        "contact_profile", "profile_picture", "set_blocked", "edit_message", "revoke_message",
                        "mark_read", "send_chat_presence", "subscribe_presence", "send_presence"]
WorkerMethod = Literal["load", "save"]


@dataclass(frozen=True, slots=True)
class Setup:
    """The worker's first message: which engine class it hosts (`module:Class`) and the settings."""

    worker: str
    hosted: str
    settings: Settings


@dataclass(frozen=True, slots=True)
class Ready:
    """The worker's answer to Setup: it is listening."""

    pid: int


@dataclass(frozen=True, slots=True)
class Call:
    id: int
    session: str
    method: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Failure:
    """An error raised by a call: the `waqtor.errors` class name (empty for any other exception)."""

    kind: str
    message: str
    code: str | None = None

    @classmethod
    def of(cls, exc: BaseException) -> Failure:
        if isinstance(exc, errors.WaqtorError):
            return cls(type(exc).__name__, exc.message, exc.code)
        return cls("", f"{type(exc).__name__}: {exc}")

    def error(self) -> errors.WaqtorError:
        """The error to raise on this side. A class whose constructor takes more than a message (a missing
        session, a rate limit) comes back as its nearest parent that does not, with the same code."""
        kind = getattr(errors, self.kind, None) if self.kind else None
        if isinstance(kind, type) and issubclass(kind, errors.WaqtorError):
            for cls in kind.__mro__:
                if not (isinstance(cls, type) and issubclass(cls, errors.WaqtorError)):
                    break
                try:
                    error: errors.WaqtorError = cls(self.message, code=self.code)
                except TypeError:
                    continue
                return error
        return errors.EngineError(self.message, code=self.code or "engine_error")


@dataclass(frozen=True, slots=True)
class Reply:
    id: int
    value: Any = None
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class Emit:
    session: str
    event: Any


@dataclass(frozen=True, slots=True)
class Wear:
    """What the worker holds and has used up: connection attempts made since it started (each leaks
    what the engine's library leaks), its threads and open file descriptors."""

    attempts: int
    threads: int
    fds: int


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Stop every engine (briefly) and exit."""


Message = Setup | Ready | Call | Reply | Emit | Wear | Shutdown
_KINDS = (Setup, Ready, Call, Reply, Emit, Wear, Shutdown)


class FrameError(Exception):
    """The other side sent something that is not a frame of this protocol."""


def frame(message: Message) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


async def read(reader: asyncio.StreamReader, limit: int) -> Message | None:
    """The next message, or None at the end of the stream; FrameError when it is not one."""
    try:
        head = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise FrameError("the stream ended inside a frame header") from None
        return None
    (size,) = HEADER.unpack(head)
    if size > limit:
        raise FrameError(f"a frame of {size} bytes is over the limit of {limit}")
    try:
        data = await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise FrameError("the stream ended inside a frame") from None
    try:
        message = pickle.loads(data)
    except Exception as exc:
        raise FrameError(f"a frame could not be read: {type(exc).__name__}: {exc}") from None
    if not isinstance(message, _KINDS):
        raise FrameError(f"unexpected message {type(message).__name__}")
    return message


@dataclass(slots=True)
class Calls:
    """Calls this side made that wait for their Reply."""

    pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    _next: int = 0

    def open(self) -> tuple[int, asyncio.Future[Any]]:
        self._next += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self._next] = future
        return self._next, future

    def settle(self, reply: Reply) -> None:
        future = self.pending.pop(reply.id, None)
        if future is None or future.done():
            return
        if reply.failure is not None:
            future.set_exception(reply.failure.error())
        else:
            future.set_result(reply.value)

    def drop(self, call_id: int) -> None:
        self.pending.pop(call_id, None)

    def fail_all(self, error: BaseException) -> None:
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)
