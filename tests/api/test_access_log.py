"""Every HTTP answer carries a request id (`X-Request-ID`), error bodies repeat it as `error.requestId`,
and the log lines of the request carry it too."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from tests.conftest import API_KEY, Harness, LiveServer
from waqtor.logs import request_id

GENERATED = re.compile(r"[0-9a-f]{32}")


async def test_every_answer_has_a_generated_request_id(live: LiveServer) -> None:
    async with live.client() as client:
        first = await client.get("/api/session/state")
        second = await client.get("/health")
    assert first.status_code == 200 and second.status_code == 200
    ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert all(GENERATED.fullmatch(rid) for rid in ids) and ids[0] != ids[1]


async def test_a_sane_incoming_request_id_is_returned_unchanged(live: LiveServer) -> None:
    async with live.client() as client:
        answer = await client.get("/api/session/state", headers={"X-Request-ID": "lb-7f3a:42"})
    assert answer.headers["X-Request-ID"] == "lb-7f3a:42"


async def test_an_unsafe_incoming_request_id_is_replaced(live: LiveServer) -> None:
    async with live.client() as client:
        answer = await client.get("/api/session/state", headers={"X-Request-ID": "evil id " + "x" * 200})
    assert GENERATED.fullmatch(answer.headers["X-Request-ID"])


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "code"), [
    ("GET", "/api/no-such-route", None, {}, 404, "not_found"),
    ("GET", "/api/session/state", None, {"X-API-Key": "wrong-key-0123456789"}, 401, "unauthorized"),
    ("POST", "/api/sandbox/inbound", {"from": "+4915112345678"}, {}, 422, "validation_error"),
    ("POST", "/api/sandbox/inbound", b"\xff\xfe not text", {"Content-Type": "application/json"}, 400, "invalid_json"),
])
async def test_error_bodies_carry_the_request_id_of_their_answer(
    live: LiveServer, method: str, path: str, body: object, headers: dict[str, str], status: int, code: str
) -> None:
    content = body if isinstance(body, bytes) else None
    payload = body if isinstance(body, dict) else None
    async with live.client() as client:
        answer = await client.request(method, path, json=payload, content=content, headers=headers)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["requestId"] == answer.headers["X-Request-ID"]


async def test_a_rate_limited_answer_carries_the_request_id(data_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import live_server, make_settings

    async with live_server(make_settings(data_dir, rate_limit="1/minute")) as server, server.client() as client:
        await client.get("/api/session/state")
        answer = await client.get("/api/session/state", headers={"X-Request-ID": "retry-1"})
    assert answer.status_code == 429
    assert answer.json()["error"]["requestId"] == "retry-1" == answer.headers["X-Request-ID"]


async def test_an_unexpected_failure_is_a_500_with_the_request_id_and_a_logged_traceback(
    gw: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    gw.app.router.add_api_route("/api/broken", broken)
    with caplog.at_level(logging.ERROR, logger="waqtor.access"):
        answer = await gw.client.get("/api/broken", headers={"X-Request-ID": "bug-1"})
    assert answer.status_code == 500 and answer.headers["X-Request-ID"] == "bug-1"
    assert answer.json()["error"] == {"code": "internal_error", "requestId": "bug-1",
                                      "message": "The gateway failed to handle this request; see its logs."}
    failure = [r for r in caplog.records if r.exc_info and "/api/broken" in r.getMessage()]
    assert failure and failure[0].exc_info[1].args == ("a bug",)  # type: ignore[index]


async def test_log_lines_made_during_a_request_carry_its_id(live: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="waqtor")
    seen: list[tuple[str, str | None]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.getMessage(), request_id.get()))

    handler = Keep()
    logging.getLogger("waqtor").addHandler(handler)
    try:
        async with httpx.AsyncClient(base_url=live.http, headers={"X-API-Key": API_KEY}) as client:
            await client.post("/api/sessions", json={"name": "traced", "engine": "sandbox"},
                              headers={"X-Request-ID": "create-traced"})
    finally:
        logging.getLogger("waqtor").removeHandler(handler)
    lines = [message for message, rid in seen if rid == "create-traced"]
    assert any("POST /api/sessions 201" in line for line in lines), seen
    assert len(lines) >= 2, "the session's own log lines should carry the id as well as the access line"
