"""Run a client example as a child process next to a live gateway, and read what it prints."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest


class Running:
    """A child process whose stdout and stderr are collected, line by line, as it runs."""

    def __init__(self, proc: asyncio.subprocess.Process, what: str) -> None:
        self.proc = proc
        self.what = what
        self.stdout = ""
        self.stderr = ""
        self._changed = asyncio.Event()
        assert proc.stdout is not None and proc.stderr is not None
        self._readers = [asyncio.create_task(self._collect(proc.stdout, "stdout")),
                         asyncio.create_task(self._collect(proc.stderr, "stderr"))]

    @classmethod
    async def start(cls, argv: Sequence[str], cwd: Path, env: Mapping[str, str], what: str) -> Running:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env={**os.environ, **env}, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        return cls(proc, what)

    async def _collect(self, stream: asyncio.StreamReader, name: str) -> None:
        while line := await stream.readline():
            setattr(self, name, getattr(self, name) + line.decode("utf-8", "replace"))
            self._changed.set()
        self._changed.set()

    def _report(self) -> str:
        return f"{self.what} printed:\n{self.stdout}\n--- stderr:\n{self.stderr}"

    async def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """The first match of the regex `pattern` in stdout; fails the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.stdout)
            if match:
                return match
            if self.proc.returncode is not None and all(r.done() for r in self._readers):
                pytest.fail(f"{self.what} exited ({self.proc.returncode}) before printing {pattern!r}; "
                            + self._report(), pytrace=False)
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                pytest.fail(f"{self.what} did not print {pattern!r} within {timeout} s; " + self._report(),
                            pytrace=False)

    async def exit_code(self, timeout: float = 20.0) -> int:
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            pytest.fail(f"{self.what} did not exit within {timeout} s; " + self._report(), pytrace=False)
        await asyncio.gather(*self._readers)
        return code

    async def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send `sig` and wait for the exit code."""
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await self.exit_code(timeout)

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
