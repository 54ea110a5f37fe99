"""The gateway's API key: checked in constant time, never logged, stored only as a hash.

When `WAQTOR_API_KEY` is unset, the first start generates a strong key, shows it once on the console
and keeps only its SHA-256 under the data dir. A key is 256 random bits, so a plain SHA-256 is enough:
nobody can guess their way back from the hash, and a slow password hash would only slow every request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import sys
from pathlib import Path

from waqtor.config import Settings
from waqtor.errors import ConfigError
from waqtor.files import private_dir, tighten

log = logging.getLogger(__name__)

KEY_FILE = "api-key.sha256"
KEY_PREFIX = "wqt_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKeys:
    """Verifies presented keys against the configured one."""

    def __init__(self, key_hash: str) -> None:
        self._hash = key_hash

    def verify(self, presented: str | None) -> bool:
        """True when `presented` is the gateway's key; constant time in its content."""
        if not presented:
            return False
        return hmac.compare_digest(hash_key(presented), self._hash)

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiKeys:
        """The key from WAQTOR_API_KEY, else the stored hash, else a new key shown once on stderr."""
        if settings.api_key is not None:
            return cls(hash_key(settings.api_key.get_secret_value()))
        path = settings.data_dir / KEY_FILE
        if path.exists():
            stored = path.read_text(encoding="ascii").strip()
            if len(stored) != 64:
                raise ConfigError(f"{path} is damaged; delete it to generate a new key, or set WAQTOR_API_KEY")
            log.info("API key: using the key generated on first start (its hash is in %s)", path)
            tighten(path)
            return cls(stored)
        key = generate_key()
        write_key_hash(path, key)
        announce_key(key, path, settings.port)
        return cls(hash_key(key))


def write_key_hash(path: Path, key: str) -> None:
    if not path.parent.exists():
        private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(hash_key(key) + "\n")
    os.replace(tmp, path)


def announce_key(key: str, path: Path, port: int) -> None:
    """Show a new key once, on the console only (never through logging)."""
    bar = "=" * 72
    sys.stderr.write(
        f"\n{bar}\n"
        "  Waqtor generated an API key for this gateway. It is shown only now:\n\n"
        f"      {key}\n\n"
        "  Send it with every request:\n"
        f'      curl -H "X-API-Key: {key}" http://localhost:{port}/api/session/state\n\n'
        f"  Only its hash is kept ({path}). Lost it? Run `waqtor new-key` for a new one,\n"
        "  or set WAQTOR_API_KEY to a key of your own.\n"
        f"{bar}\n\n"
    )
    sys.stderr.flush()
