"""Logging: one line per event, as text or JSON (`WAQTOR_LOG_FORMAT`); secrets never reach a line.

Every line made while an HTTP request is handled carries that request's id (`request_id`, a context
variable set by the access-log middleware), which is also the `X-Request-ID` response header and the
`error.requestId` of an error answer: a user's error report leads straight to its log lines.

- `text`: `2026-01-02 03:04:05,678 INFO waqtor.access: GET /api/... request_id=ab12…` and any
  `extra=` fields as ` key=value`. A traceback follows on its own lines.
- `json`: one object per line with `time` (ISO 8601 UTC, milliseconds), `level`, `logger`, `message`,
  `request_id` (null outside a request), every `extra=` field, and `exc_info` (the traceback as one
  string) when an exception is logged.

Values from outside (a path, a header, a client's text) reach log lines, so in both formats:
- every control character is written as an escape (`\n`, `\r`, `\t`, `\x1b`, `\x85`, `\u2028`): a
  `%0a` in a path cannot start a forged line, nor an ANSI sequence recolour a terminal;
- the value of every query parameter whose name, once percent-decoded, ends with `key`, `token`,
  `ticket`, `secret` or `password` (`apiKey`, `apiKe%79`, `hub.verify_token`…) is `[redacted]`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote_plus

LogFormat = Literal["text", "json"]

# A query parameter in a line: its name as written (maybe percent-encoded), `=`, its value.
_PARAM = re.compile(r"([^\s?&=\"';,]+)=([^&\s\"']+)")
_SECRET_NAME = re.compile(r"(?i)(key|token|ticket|secret|password)$")
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: what can break or recolour a line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# An id a client sends is kept when it is short and made of characters that cannot forge a log line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/@-]{1,128}")

request_id: ContextVar[str | None] = ContextVar("waqtor_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=` (except uvicorn's copy of
# its message with terminal colours).
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id", "taskName", "color_message",
}


def _redact_param(match: re.Match[str]) -> str:
    name = match.group(1)
    # Decoded as the server decodes it: `apiKe%79=` is read as `apiKey=` and authenticates.
    return f"{name}=[redacted]" if _SECRET_NAME.search(unquote_plus(name)) else match.group(0)


def redact(text: str) -> str:
    """`text` with the value of every query parameter whose percent-decoded name ends with `key`,
    `token`, `ticket`, `secret` or `password` (any case) replaced by `[redacted]`."""
    if "=" not in text:  # most lines (every access line): nothing the pattern could match
        return text
    return _PARAM.sub(_redact_param, text)


def _escape_control(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED_CONTROL.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with every control character (C0, DEL, C1, U+2028, U+2029) written as a visible escape
    (`\\n`, `\\x1b`, `\\u2028`), so a value from outside cannot break a log line or forge one."""
    if text.isprintable():  # most lines: a C-speed check, nothing to replace
        return text
    return _CONTROL.sub(_escape_control, text)


def accept_request_id(offered: str | None) -> str:
    """The client's `X-Request-ID` when it is sane (1-128 of letters, digits and `._:+=/@-`), else a
    new random id (32 hex digits: 16 random bytes, cheaper than a UUID object on every request)."""
    if offered and _SANE_REQUEST_ID.fullmatch(offered):
        return offered
    return os.urandom(16).hex()


class RedactSecrets(logging.Filter):
    """Rewrites a record whose message carries a secret query parameter (uvicorn logs WebSocket
    handshakes with their full query string, and browsers can only send the key there)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True


class AddRequestId(logging.Filter):
    """Stamps each record with the id of the request being handled (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    fields = vars(record)
    if fields.keys() <= _RECORD_FIELDS:  # most records (every access line): no `extra=` at all
        return {}
    return {key: value for key, value in fields.items()
            if key not in _RECORD_FIELDS and not key.startswith("_")}


def _clean(value: Any) -> Any:
    return escape_controls(redact(value)) if isinstance(value, str) else value


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module docstring for its fields)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": escape_controls(redact(record.getMessage())),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        for key, value in _extras(record).items():
            out.setdefault(key, _clean(value))
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack_info"] = self.formatStack(record.stack_info)
        line = json.dumps(out, ensure_ascii=False, default=str)
        if line.isprintable():
            return line
        # json escapes C0 controls itself, but passes DEL, C1 and the line separators of a value not escaped
        # above (a nested one, a traceback) as they are, and some readers split lines at them.
        return _CONTROL.sub(lambda match: f"\\u{ord(match.group()):04x}", line)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, then ` request_id=…` and each `extra=` field as ` key=value`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._second = -1
        self._second_text = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # logging's name
        """logging's own `2026-01-02 03:04:05,678`, with the part up to the seconds made once a second
        rather than for every line."""
        if datefmt or not self.default_msec_format:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = second
        return self.default_msec_format % (self._second_text, record.msecs)

    def formatMessage(self, record: logging.LogRecord) -> str:  # logging's name
        line = redact(super().formatMessage(record))
        rid = getattr(record, "request_id", None) or request_id.get()
        extras = _extras(record)
        if not extras:  # most lines, every access line
            return escape_controls(f"{line} request_id={rid}" if rid else line)
        fields = ({"request_id": rid} if rid else {}) | {k: _clean(v) for k, v in extras.items()}
        return escape_controls(line + "".join(f" {key}={value}" for key, value in fields.items()))


_FILTER = RedactSecrets()


def install_redaction() -> None:
    """Attach the filter to the loggers that print request paths; idempotent."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "waqtor"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def configure(level: str, fmt: LogFormat = "text") -> logging.Handler:
    """Send every log record at `level` or above to stderr in `fmt`, replacing the root logger's
    handlers; returns the handler. Called once by `waqtor serve`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_FILTER)
    handler.addFilter(AddRequestId())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx logs every webhook request with its full URL, which may carry the receiver's token; the
    # sender logs each attempt itself, by webhook and delivery id.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # Its DEBUG records echo every SQL parameter, secrets of Cloud API sessions included.
    logging.getLogger("aiosqlite").setLevel(max(logging.WARNING, root.level))
    install_redaction()
    return handler
