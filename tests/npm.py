"""Node.js and npm for the tests that run JavaScript.

`require_node(minimum)` fails the test (it never skips) when Node.js or npm is missing or too old, and
says how to install them. `npm_ci(directory)` installs exactly the package-lock.json of `directory`, once:
a stamp in its node_modules records the lock file's hash, so later runs reuse the install.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL_HINT = "install Node.js and npm (Debian: apt-get install nodejs npm)"
STAMP = ".waqtor-lock.sha256"


def require_node(minimum: tuple[int, int] = (18, 0)) -> str:
    """The path of `node`; the test fails when node or npm is missing or node is older than `minimum`."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(f"these tests run the JavaScript examples and need Node.js and npm: {INSTALL_HINT}",
                    pytrace=False)
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    major, minor = (int(part) for part in version.lstrip("v").split(".")[:2])
    if (major, minor) < minimum:
        needed = f"{minimum[0]}.{minimum[1]}"
        pytest.fail(f"Node.js {version} is too old, {needed} or newer is needed: {INSTALL_HINT}",
                    pytrace=False)
    return node


def npm_ci(directory: Path) -> None:
    """Install `directory`'s locked dependencies unless the same lock file is already installed. Safe
    when several test processes ask at once: they take turns on a lock file."""
    with open(directory / ".npm-ci.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _npm_ci(directory)


def _npm_ci(directory: Path) -> None:
    digest = hashlib.sha256((directory / "package-lock.json").read_bytes()).hexdigest()
    stamp = directory / "node_modules" / STAMP
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return
    npm = shutil.which("npm")
    assert npm is not None
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=directory,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"npm ci in {directory} failed:\n{result.stdout}\n{result.stderr}", pytrace=False)
    stamp.write_text(digest + "\n")
