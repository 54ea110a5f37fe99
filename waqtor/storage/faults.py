"""What a storage failure means to the caller. Pure: it looks at an exception and returns a domain error.

- The data disk or the database is full (`ENOSPC`, SQLite's SQLITE_FULL, PostgreSQL's `disk_full`):
  InsufficientStorage, 507 `insufficient_storage`. The write was undone (a transaction rolled back, a
  partial file removed), so the caller may simply try again once there is room.
- The database cannot be reached (a refused or cut connection): Unavailable, 503
  `database_unavailable`, to retry later.
- Every connection of the pool stayed in use for the whole wait (`WAQTOR_DATABASE_TIMEOUT`; SQLAlchemy's
  own TimeoutError): Unavailable, 503 `database_busy`, to retry shortly.
"""

from __future__ import annotations

import errno
import sqlite3

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from waqtor.errors import InsufficientStorage, Unavailable, WaqtorError

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
PG_DISK_FULL = "53100"
# Connection exceptions, operator intervention (shutdown, cannot connect now), insufficient resources.
PG_UNREACHABLE = ("08", "57P", "53")
PG_NOT_ACCEPTING = "55000"  # the database does not accept connections now (ALLOW_CONNECTIONS false)
BUSY_RETRY_AFTER = 2  # seconds: pooled connections come back as the requests holding them end


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk (a file's or the database's) has no room left."""
    if isinstance(exc, OSError):
        return exc.errno in DISK_FULL_ERRNOS
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        if isinstance(orig, sqlite3.Error):
            return getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(orig)
        return getattr(orig, "sqlstate", None) == PG_DISK_FULL or (isinstance(orig, OSError) and disk_full(orig))
    return False


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (refused, cut, shutting down, not accepting
    connections) rather than refusing this statement."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, ConnectionError | TimeoutError):
        return True
    state = str(getattr(orig, "sqlstate", None) or "")
    return state.startswith(PG_UNREACHABLE) or (state == PG_NOT_ACCEPTING and "accepting connections" in str(orig))


def full(what: str = "the data disk") -> InsufficientStorage:
    return InsufficientStorage(f"{what} is full: nothing of this request was kept; free some space and try again",
                               code="insufficient_storage")


def storage_error(exc: BaseException) -> WaqtorError | None:
    """The domain error for a storage failure, or None when `exc` is not one this module knows."""
    if isinstance(exc, InsufficientStorage) or (
            isinstance(exc, Unavailable) and exc.code in ("database_unavailable", "database_busy")):
        return exc
    if isinstance(exc, PoolTimeout):
        return Unavailable("the database is busy: every connection stayed in use; try again shortly",
                           retry_after=BUSY_RETRY_AFTER, code="database_busy")
    if disk_full(exc):
        return full("the database's disk" if isinstance(exc, DBAPIError) else "the data disk")
    if unreachable(exc):
        return Unavailable("the database cannot be reached right now; try again shortly", retry_after=5,
                           code="database_unavailable")
    return None
