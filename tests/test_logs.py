"""Log lines: no API key, ticket or message text reaches them, whichever way a client sends it; text or
JSON, one line per event, each with the id of the request it belongs to."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import API_KEY, LiveServer, eventually, free_port
from tests.test_cli import stop, wait_healthy
from tests.ws_client import command, open_ws
from waqtor.logs import AddRequestId, JsonFormatter, RedactSecrets, TextFormatter, accept_request_id, redact, request_id


async def test_keys_in_query_strings_never_reach_the_log(live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with await open_ws(live) as ws:
        await command(ws, "pong", type="ping")
    async with httpx.AsyncClient() as client:
        await client.get(f"{live.http}/api/session/state", params={"apiKey": API_KEY})
        await client.get(f"{live.http}/api/session/state", params={"apiKey": "wrong-" + API_KEY})
    # The test's own client library logs its handshake at DEBUG; only the gateway's lines matter.
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("uvicorn", "waqtor")))
    assert "WebSocket /ws" in text, "uvicorn's handshake line was expected in the captured log"
    assert API_KEY not in text
    assert "apiKey=[redacted]" in text


def test_redact_hides_every_secret_parameter() -> None:
    line = 'GET /ws?apiKey=abc&after=5&ticket=t-1&token=xyz "x"'
    assert redact(line) == 'GET /ws?apiKey=[redacted]&after=5&ticket=[redacted]&token=[redacted] "x"'


@pytest.mark.parametrize("name", ["apiKe%79", "%61piKey", "api%4Bey", "ticke%74"])
def test_a_secret_parameter_is_redacted_whatever_the_spelling_of_its_name(name: str) -> None:
    assert redact(f"WebSocket /ws?after=5&{name}=s3cret-value") == f"WebSocket /ws?after=5&{name}=[redacted]"


def test_parameters_that_carry_no_secret_are_left_as_they_are() -> None:
    line = "GET /api/messages?session=shop&after=5&q=hello"
    assert redact(line) == line
    assert redact("GET /webhooks/cloud/x?hub.mode=subscribe&hub.verify_token=v-1") == \
        "GET /webhooks/cloud/x?hub.mode=subscribe&hub.verify_token=[redacted]"


async def test_a_key_under_a_percent_encoded_name_authenticates_and_never_reaches_the_log(
        live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with connect(f"{live.ws}?apiKe%79={API_KEY}") as ws:
        await command(ws, "pong", type="ping")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("uvicorn", "waqtor")))
    assert "WebSocket /ws?apiKe%79=[redacted]" in text, "uvicorn's handshake line was expected in the captured log"
    assert API_KEY not in text


@contextmanager
def formatted_log(formatter: logging.Formatter) -> Iterator[StringIO]:
    """What the gateway writes to stderr in one format, as `waqtor.logs.configure` sets it up."""
    out = StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    handler.addFilter(AddRequestId())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


# A whole forged access line after a `%0a`, then CR, an ANSI "clear screen", NEL (C1) and U+2028.
FORGED = ("%0a2026-01-01%2000:00:00,000%20INFO%20waqtor.access:%206.6.6.6%20GET%20/api/keys%20200%201.0ms"
          "%0d%1b[2J%c2%85%e2%80%a8")


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_control_characters_in_a_path_cannot_forge_a_log_line(
        live: LiveServer, fmt: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with formatted_log(TextFormatter() if fmt == "text" else JsonFormatter()) as out:
        async with live.client() as http:
            assert (await http.get(f"/api/nothing{FORGED}")).status_code == 404
            with pytest.raises(InvalidStatus):  # no such WebSocket route; uvicorn logs the refused handshake
                await connect(f"{live.ws}/x{FORGED}?apiKey={API_KEY}")
    lines = out.getvalue().split("\n")[:-1]
    assert lines and all(line.isprintable() for line in lines), "a control character reached a log line"
    loggers = [json.loads(line)["logger"] if fmt == "json" else line.split(" ")[3].rstrip(":") for line in lines]
    access = [line for line, logger in zip(lines, loggers, strict=True)
              if logger == "waqtor.access" and "/api/nothing" in line]
    assert len(access) == 1
    assert any("WebSocket /ws/x" in line for line in lines), "uvicorn's handshake line was expected"
    if fmt == "text":
        assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ", line) for line in lines)
        assert "/api/nothing\\n2026-01-01 00:00:00,000 INFO waqtor.access: 6.6.6.6" in access[0]
    else:
        message = json.loads(access[0])["message"]
        assert "/api/nothing\\n2026-01-01" in message and "\\r\\x1b[2J\\x85\\u2028" in message


async def test_no_key_ticket_or_message_text_reaches_the_log_at_the_default_level(
        live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    assert live.settings.log_level == "info"
    caplog.set_level(logging.INFO)
    outgoing, incoming = "zebra-violet-4711 outgoing", "quokka-amber-0815 incoming"
    async with live.client() as http:
        created = (await http.post("/api/keys", json={"name": "logs", "scopes": ["read", "send"]})).json()["data"]
        key = created["key"]
        await http.post("/api/sandbox/scan")
        sent = await http.post("/api/messages/send", json={"to": "+4915112345678", "text": outgoing},
                               headers={"X-API-Key": key})
        assert sent.status_code == 200, sent.text
        await http.post("/api/sandbox/inbound", json={"from": "+4915112345678", "body": incoming})
        await http.get("/api/session/state", params={"apiKey": key})
        await http.get("/api/session/state", headers={"X-API-Key": key + "x"})
        ticket = (await http.post("/api/session/websocket/ticket", headers={"X-API-Key": key})).json()["data"]["ticket"]
        async with connect(f"{live.ws}?ticket={ticket}") as ws:
            await command(ws, "pong", type="ping")
        await http.delete(f"/api/keys/{created['id']}")

        async def logged_inbound() -> bool:
            found = (await http.get("/api/messages", params={"direction": "in", "q": "quokka"})).json()["data"]
            return bool(found["messages"])

        await eventually(logged_inbound, what="the inbound message in the message log")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("uvicorn", "waqtor")))
    assert "WebSocket /ws?ticket=[redacted]" in text, "uvicorn's handshake line was expected in the captured log"
    assert created["id"] in text, "the key's creation and revocation were expected in the log (by id)"
    for secret in (API_KEY, key, ticket, outgoing, incoming):
        assert secret not in text
# ---- formats ------------------------------------------------------------------------------------------

def _record(message: str, *args: object, exc: BaseException | None = None, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("waqtor.test")
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logger.makeRecord("waqtor.test", logging.WARNING, __file__, 1, message, args, exc_info, extra=extra)


def test_json_lines_carry_time_level_logger_message_request_id_and_extras() -> None:
    token = request_id.set("req-42")
    try:
        line = JsonFormatter().format(_record("sent %d messages", 3, session="default"))
    finally:
        request_id.reset(token)
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "waqtor.test"
    assert entry["message"] == "sent 3 messages" and entry["request_id"] == "req-42"
    assert entry["session"] == "default"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])


def test_a_json_line_outside_a_request_has_a_null_request_id() -> None:
    assert json.loads(JsonFormatter().format(_record("idle")))["request_id"] is None


def test_an_exception_stays_on_its_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        line = JsonFormatter().format(_record("failed", exc=exc))
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exc_info"]


def test_both_formats_redact_secrets_in_the_message_and_in_extras() -> None:
    record = _record("GET /ws?apiKey=%s", API_KEY, url=f"/x?token={API_KEY}")
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(record)
        assert API_KEY not in line and "apiKey=[redacted]" in line


def test_control_characters_anywhere_in_a_record_leave_one_valid_json_line() -> None:
    try:
        raise ValueError("bad\x85value\u2028here\x1b[2J")
    except ValueError as exc:
        record = _record("got %s", "a\nb\x85", exc=exc, nested={"text": "c\x85d\u2029"})
    line = JsonFormatter().format(record)
    assert line.isprintable()
    entry = json.loads(line)
    assert entry["message"] == "got a\\nb\\x85"  # as the text format writes it
    assert entry["nested"] == {"text": "c\x85d\u2029"} and "bad\x85value\u2028here" in entry["exc_info"]


def test_text_lines_end_with_the_request_id_and_extras() -> None:
    token = request_id.set("req-7")
    try:
        line = TextFormatter().format(_record("hello", session="s1"))
    finally:
        request_id.reset(token)
    assert line.endswith("WARNING waqtor.test: hello request_id=req-7 session=s1")


@pytest.mark.parametrize(("offered", "kept"), [
    ("abc-123", True), ("0f1e2d3c4b5a69788796a5b4c3d2e1f0", True), ("trace:1/span@2", True),
    ("", False), (None, False), ("x" * 129, False), ("two words", False), ("line\nbreak", False),
    ("quote\"s", False),
])
def test_a_sane_request_id_is_kept_and_anything_else_replaced(offered: str | None, kept: bool) -> None:
    chosen = accept_request_id(offered)
    assert (chosen == offered) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", chosen)


def test_waqtor_serve_logs_one_json_object_per_line_with_the_request_id(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "WAQTOR_API_KEY": API_KEY, "WAQTOR_LOG_FORMAT": "json"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "waqtor", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(tmp_path / "d"), "--engine", "sandbox"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        answer = httpx.get(f"http://127.0.0.1:{port}/api/nothing-here", params={"apiKey": API_KEY},
                           headers={"X-API-Key": API_KEY, "X-Request-ID": "trace-from-client"})
        assert answer.headers["X-Request-ID"] == "trace-from-client"
    finally:
        log = stop(proc)
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert entries, "the gateway should have logged its start"
    assert all({"time", "level", "logger", "message", "request_id"} <= set(entry) for entry in entries)
    access = [e for e in entries if e["logger"] == "waqtor.access" and "/api/nothing-here" in e["message"]]
    assert [e["request_id"] for e in access] == ["trace-from-client"]
    assert API_KEY not in log


def test_uvicorns_coloured_copy_of_a_message_is_left_out() -> None:
    record = _record("Started server process [%d]", 7, color_message="Started server process [\x1b[36m%d\x1b[0m]")
    assert "\x1b" not in TextFormatter().format(record)
    assert "color_message" not in json.loads(JsonFormatter().format(record))
