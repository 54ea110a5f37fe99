"""The one place where errors become HTTP responses: `{"success": false, "error": {"code", "message"}}`.

A caller's mistake is always a 4xx with a stable code. A full disk is 507 `insufficient_storage`, a
database out of reach 503 `database_unavailable` and a pool whose connections all stayed in use 503
`database_busy` (`waqtor.storage.faults`); anything else is logged with its traceback and answered 500
`internal_error` without internals. Every error body made while a request is handled carries that
request's id as `error.requestId` (the `X-Request-ID` header; see waqtor.logs).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from waqtor.errors import RateLimited, Unavailable, WaqtorError
from waqtor.logs import request_id
from waqtor.storage.faults import storage_error

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    rid = request_id.get()
    if rid is not None:
        error["requestId"] = rid
    return {"success": False, "error": error}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


async def _waqtor_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WaqtorError)
    headers = None
    if isinstance(exc, RateLimited | Unavailable):
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
    if exc.status >= 500:
        log.error("%s: %s", exc.code, exc.message)
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return error_response(400, "invalid_json", "The request body is not valid JSON.")
        location = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
        problems.append({"field": location or "body", "message": err.get("msg", "invalid")})
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid request"
    return error_response(422, "validation_error", f"Invalid request: {summary}", problems)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = "No such route. See /docs for the API."
    if exc.status_code == 400 and message == "There was an error parsing the body":
        # FastAPI's answer to a JSON body that is not even text (bytes that are not UTF-8).
        return error_response(400, "invalid_json", "The request body is not valid JSON.")
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _storage_failure(request: Request, exc: Exception) -> JSONResponse:
    known = storage_error(exc)
    if known is None:
        return await _unexpected(request, exc)
    # The disk is full, or the database is out of reach: the caller may try again later.
    # The driver's error only: SQLAlchemy's text would put the statement's values (numbers, texts) in the log.
    log.error("%s on %s %s: %s", known.code, request.method, request.url.path, getattr(exc, "orig", exc))
    return await _waqtor_error(request, known)


async def _client_gone(request: Request, _exc: Exception) -> JSONResponse:
    # The caller hung up before its request body was read: nothing failed here, and no one reads the answer.
    log.info("the client closed the connection before its request was read: %s %s", request.method,
             request.url.path)
    return error_response(400, "client_disconnected", "The client closed the connection before its request "
                          "was read.")


def unexpected_error_response() -> JSONResponse:
    """The 500 `internal_error` answer to a failure the gateway did not expect (its log has the traceback)."""
    return error_response(500, "internal_error", "The gateway failed to handle this request; see its logs.")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return unexpected_error_response()


def install(app: FastAPI) -> None:
    app.add_exception_handler(WaqtorError, _waqtor_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(DBAPIError, _storage_failure)
    app.add_exception_handler(PoolTimeout, _storage_failure)
    app.add_exception_handler(OSError, _storage_failure)
    app.add_exception_handler(Exception, _unexpected)
