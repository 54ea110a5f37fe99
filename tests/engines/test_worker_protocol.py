"""The frames between the gateway and an engine worker, and errors crossing them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from waqtor import errors
from waqtor.engines.base import MessageIn
from waqtor.engines.workers import protocol
from waqtor.engines.workers.protocol import Call, Emit, Failure, FrameError, Reply


def stream(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_messages_cross_in_order_and_the_end_of_the_stream_is_none() -> None:
    event = MessageIn(id="3EB0A", chat="4915112345678@s.whatsapp.net", sender="4915112345678@s.whatsapp.net",
                      type="image", text="hi", timestamp=datetime(2026, 12, 7, tzinfo=UTC),
                      media={"data": b"\xff\xd8" * 10, "mimetype": "image/jpeg", "fileName": None})
    sent = [Call(1, "shop", "send", ("x",)), Emit("shop", event), Reply(1, value={"ok": True})]
    reader = stream(b"".join(protocol.frame(message) for message in sent))
    got = [await protocol.read(reader, 1 << 20) for _ in sent]
    assert got == sent
    assert await protocol.read(reader, 1 << 20) is None


async def test_a_frame_over_the_limit_or_cut_short_or_foreign_is_refused() -> None:
    big = protocol.frame(Emit("shop", b"x" * 5000))
    with pytest.raises(FrameError, match="over the limit"):
        await protocol.read(stream(big), 1000)
    with pytest.raises(FrameError, match="inside a frame"):
        await protocol.read(stream(big[:-3]), 1 << 20)
    foreign = protocol.HEADER.pack(4) + b"\x80\x05N."  # a pickled None: not a protocol message
    with pytest.raises(FrameError, match="unexpected message"):
        await protocol.read(stream(foreign), 1 << 20)
    with pytest.raises(FrameError, match="could not be read"):
        await protocol.read(stream(protocol.HEADER.pack(3) + b"abc"), 1 << 20)


@pytest.mark.parametrize(("raised", "kind", "code", "status"), [
    (errors.InvalidInput("no such type", code="invalid_message_type"), errors.InvalidInput, "invalid_message_type",
     400),
    (errors.SessionNotReady("not connected"), errors.SessionNotReady, "session_not_ready", 409),
    (errors.SessionNotFound("shop"), errors.NotFound, "session_not_found", 404),
    (errors.EngineError("WhatsApp refused: x", code="whatsapp_error"), errors.EngineError, "whatsapp_error", 502),
    (ValueError("boom"), errors.EngineError, "engine_error", 502),
])
def test_an_error_comes_back_as_the_same_class_code_and_status(
        raised: Exception, kind: type, code: str, status: int) -> None:
    error = Failure.of(raised).error()
    assert type(error) is kind
    assert (error.code, error.status) == (code, status)
    assert str(raised) in error.message


async def test_calls_settle_with_their_reply_and_fail_when_the_worker_goes() -> None:
    calls = protocol.Calls()
    first_id, first = calls.open()
    second_id, second = calls.open()
    calls.settle(Reply(first_id, value=41))
    calls.settle(Reply(999, value=0))  # a late reply to a call given up: ignored
    assert await first == 41
    calls.fail_all(errors.EngineError("the worker stopped", code="engine_crashed"))
    with pytest.raises(errors.EngineError, match="the worker stopped"):
        await second
    assert second_id not in calls.pending
