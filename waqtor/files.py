"""The data directory's files are readable by the gateway's own user only.

The database holds webhook secrets, API key hashes and every message, and the media directory the
files people sent: nobody else on the machine should read them. Whatever the process umask, every
directory the gateway makes is created 0700 and every file 0600 (SQLite gives a database's `-wal` and
`-shm` files the database file's own mode, so making the database file 0600 covers them).

A file or directory of the gateway's own that is found looser (made by an older version) is tightened,
with a line in the log. The data directory itself is only warned about: it may be a directory the user
shares with other things (even the current directory), which the gateway does not change on its own.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = 0o077  # the group's and everyone else's permission bits


def tighten(path: Path, mode: int = FILE_MODE) -> None:
    """Set `path` to `mode` if it lets other users in; nothing when it does not exist."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & _OTHERS:
        path.chmod(mode)
        log.info("%s was open to other users (mode %o); it is now %o", path, current, mode)


def private_dir(path: Path) -> Path:
    """Make `path` and any missing parent a directory of mode 0700; an existing `path` is tightened to
    0700 (existing parents are left as they are). Returns `path`."""
    missing = [path, *(p for p in path.parents if not p.exists())] if not path.exists() else []
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made meanwhile by another task or instance
            continue
        directory.chmod(DIR_MODE)  # mkdir's mode is reduced by the umask; 0700 is what is asked for
    if not missing:
        tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 if it does not exist, else tighten it to 0600, so that a
    library that opens it next (SQLite) finds it private. Returns `path`."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        tighten(path)
    return path


def private_sqlite(path: Path) -> None:
    """Ready the SQLite database file `path` before SQLite opens it: its directory made if missing, the
    file created 0600, and a database, `-wal` or `-shm` file left looser by an older version tightened."""
    if not path.parent.exists():
        private_dir(path.parent)
    private_file(path)
    for suffix in ("-wal", "-shm"):
        tighten(path.with_name(path.name + suffix))


def private_opener(path: str, flags: int) -> int:
    """An `opener` for `open()` that creates files with mode 0600."""
    return os.open(path, flags, FILE_MODE)


def prepare_data_dir(path: Path) -> None:
    """Create the data directory (0700) when it is missing; warn when an existing one lets other users
    in, naming the command that closes it."""
    if not path.exists():
        private_dir(path)
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & _OTHERS:
        log.warning("the data directory %s is open to other users (mode %o); its files are kept private, "
                    "but consider `chmod 700 %s`", path, mode, path)
