"""Logging helpers: secrets never reach a log line."""

from __future__ import annotations

import logging
import re

_SECRET_PARAM = re.compile(r"(?i)\b(apiKey|api_key|key|ticket|token|secret)=([^&\s\"']+)")


def redact(text: str) -> str:
    """`text` with the value of every secret-looking query parameter replaced by `[redacted]`."""
    return _SECRET_PARAM.sub(r"\1=[redacted]", text)


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


_FILTER = RedactSecrets()


def install_redaction() -> None:
    """Attach the filter to the loggers that print request paths; idempotent."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "waqtor"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
