"""Slow and idle HTTP connections on a real uvicorn: request headers have a deadline and a size limit, a
WebSocket is not timed by them, and WAQTOR_LIMIT_CONCURRENCY reaches the server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from tests.conftest import LiveServer, live_server, make_settings
from tests.ws_client import command, open_ws
from waqtor.http_protocol import MAX_HEADER_BYTES

REQUEST = b"GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n"


@pytest.fixture
async def quick(tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(make_settings(tmp_path, header_timeout=0.3)) as server:
        yield server


@asynccontextmanager
async def raw(live: LiveServer) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
    try:
        yield reader, writer
    finally:
        writer.close()


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One answer read off the socket: status, headers, body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
    headers = dict(line.lower().split(": ", 1) for line in lines)
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), 5)
    return int(status_line.split(" ")[1]), headers, body


async def closed(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 5) == b""


async def test_a_connection_that_sends_nothing_is_closed_without_an_answer(quick: LiveServer) -> None:
    async with raw(quick) as (reader, _):
        assert await closed(reader)


async def test_headers_sent_a_byte_at_a_time_are_cut_off_with_408(quick: LiveServer) -> None:
    async with raw(quick) as (reader, writer):
        writer.write(b"GET /health HTTP/1.1\r\nHost: gateway\r\n")

        async def trickle() -> None:
            while True:  # each byte comes well within the deadline: the headers as a whole do not
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.05)

        trickling = asyncio.create_task(trickle())
        try:
            status, headers, body = await answer(reader)
        finally:
            trickling.cancel()
        assert status == 408
        error = json.loads(body)["error"]
        assert error["code"] == "header_timeout" and error["requestId"] == headers["x-request-id"]
        assert error["message"] == "Request headers not received within 0.3 s."
        assert await closed(reader)


async def test_a_later_request_on_a_kept_alive_connection_has_its_own_deadline(quick: LiveServer) -> None:
    async with raw(quick) as (reader, writer):
        for _ in range(2):  # each arrives well within its own deadline, together they take longer
            await asyncio.sleep(0.2)
            writer.write(REQUEST)
            assert (await answer(reader))[0] == 200
        writer.write(b"GET /health HTTP/1.1\r\n")
        assert (await answer(reader))[0] == 408


async def test_headers_over_the_limit_are_answered_431(quick: LiveServer) -> None:
    async with raw(quick) as (reader, writer):
        writer.write(b"GET /health HTTP/1.1\r\nHost: gateway\r\n")
        for _ in range(MAX_HEADER_BYTES // 1000 + 1):
            writer.write(b"X-Filler: " + b"a" * 1000 + b"\r\n")
        status, _, body = await answer(reader)
        assert status == 431 and json.loads(body)["error"]["code"] == "headers_too_large"
        assert await closed(reader)


async def test_a_websocket_is_not_cut_off_by_the_header_deadline(quick: LiveServer) -> None:
    async with await open_ws(quick) as ws:
        await asyncio.sleep(0.6)
        assert (await command(ws, "pong", type="ping"))["type"] == "pong"


async def test_beyond_limit_concurrency_requests_are_answered_503_and_open_websockets_count(tmp_path: Path) -> None:
    async with live_server(make_settings(tmp_path, limit_concurrency=3)) as live, live.client() as http:
        async with await open_ws(live):
            assert (await http.get("/health")).status_code == 200  # two connections: the WebSocket and this
            async with httpx.AsyncClient(base_url=live.http) as other:
                busy = await other.get("/health")  # a third
        assert busy.status_code == 503


@pytest.mark.parametrize(("name", "value"), [("header_timeout", 0), ("limit_concurrency", 1),
                                             ("limit_concurrency", -1)])
def test_impossible_connection_limits_are_refused(tmp_path: Path, name: str, value: int) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, **{name: value})
