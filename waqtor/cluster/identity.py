"""Who this instance is: `WAQTOR_INSTANCE_ID`, or `<host>:<pid>:<random>` by default."""

from __future__ import annotations

import os
import secrets
import socket


def default_instance_id() -> str:
    """`<host>:<pid>:<6 hex digits>`: unique per process, and readable in logs and /health."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


def gone_from_this_host(instance: str) -> bool:
    """True when `instance` is a default id of this host whose process no longer exists. Only a
    database that can be shared by one machine alone (SQLite) may trust this: there every instance is
    a process of this host."""
    host, _, rest = instance.partition(":")
    pid_text, _, suffix = rest.partition(":")
    if host != socket.gethostname()[:60] or not pid_text.isdigit() or len(suffix) != 6:
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
