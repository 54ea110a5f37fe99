"""The bridge's client on its own: frames go out at once when the socket takes them, queue behind a send
that must wait, leave in the order they were pushed, and a send that fails closes only that client.

The socket here is a stand-in for Starlette's WebSocket with the one method the client uses, so each
case (a socket that takes frames, one whose buffer is full, one that breaks) happens exactly when the
test says; the real socket path is covered by tests/api/test_ws_events.py on a live server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from waqtor.errors import Close
from waqtor.ws.client import Client


class Socket:
    """Records frames; while `full` is set a send waits until the test empties the buffer."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.fail: BaseException | None = None

    async def send_text(self, text: str) -> None:
        await self.writable.wait()  # as uvicorn's send does
        if self.fail is not None:
            raise self.fail
        self.frames.append(text)


def client_on(socket: Socket, limit: int = 8) -> Client:
    return Client(id=1, ws=socket, limit=limit)  # type: ignore[arg-type]


async def test_a_frame_goes_out_at_once_when_the_socket_takes_it() -> None:
    socket = Socket()
    client = client_on(socket)
    client.push(7, "a")
    assert socket.frames == ["a"] and client.last_event_id == 7 and not client.queue


async def test_frames_queue_behind_a_send_that_waits_and_leave_in_order() -> None:
    socket = Socket()
    client = client_on(socket)
    writer = asyncio.create_task(client.write())
    socket.writable.clear()  # the socket's buffer is full
    for n in range(1, 5):
        client.push(n, f"frame {n}")
    assert socket.frames == [] and client.busy and len(client.queue) == 3
    socket.writable.set()
    for _ in range(50):
        if len(socket.frames) == 4:
            break
        await asyncio.sleep(0.01)
    assert socket.frames == ["frame 1", "frame 2", "frame 3", "frame 4"]
    assert client.last_event_id == 4 and not client.busy
    client.push(5, "frame 5")  # idle again: at once
    assert socket.frames[-1] == "frame 5"
    client.close(1000, "done")
    await asyncio.wait_for(writer, 5)


async def test_a_client_whose_queue_overflows_behind_a_waiting_send_is_closed_with_1013() -> None:
    socket = Socket()
    client = client_on(socket, limit=2)
    writer = asyncio.create_task(client.write())
    socket.writable.clear()
    for n in range(1, 5):
        client.push(n, f"frame {n}")
    assert client.closing and client.close_code == 1013 and "after=0" in client.close_reason
    # What the bridge does with a client closed for being slow: stop its writer and its waiting send.
    writer.cancel()
    await client.stop_sending()
    assert not client.busy and socket.frames == []
    await asyncio.gather(writer, return_exceptions=True)


async def test_a_lost_connection_closes_the_client_without_raising_to_the_fan_out() -> None:
    socket = Socket()
    socket.fail = OSError("connection reset")
    client = client_on(socket)
    client.push(1, "a")
    assert client.closing and client.close_code == Close.LOST


async def test_an_unexpected_failure_closes_only_that_client_with_1011() -> None:
    socket = Socket()
    socket.fail = ValueError("a bug in a layer below")
    client = client_on(socket)
    client.push(1, "a")  # must not raise: the dispatcher is sending to every other client too
    assert client.closing and client.close_code == Close.INTERNAL


@pytest.mark.parametrize(("failure", "code"), [(OSError("gone while waiting"), Close.LOST),
                                                (ValueError("a bug in a layer below"), Close.INTERNAL)])
async def test_a_send_that_waits_and_then_fails_closes_the_client(failure: Exception, code: int) -> None:
    socket = Socket()
    client = client_on(socket)
    socket.writable.clear()
    client.push(1, "a")
    socket.fail = failure
    socket.writable.set()
    for _ in range(50):
        if client.closing:
            break
        await asyncio.sleep(0.01)
    assert client.close_code == code and not client.busy


async def test_stopping_a_waiting_send_leaves_nothing_running() -> None:
    socket = Socket()
    client = client_on(socket)
    socket.writable.clear()
    client.push(1, "a")
    assert client.busy
    await client.stop_sending()
    tasks: set[Any] = {t for t in asyncio.all_tasks() if t.get_name() == "ws1:send"}
    assert tasks == set() and not client.busy and socket.frames == []
