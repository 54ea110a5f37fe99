"""HTTP load from a separate process: `wrk` when it is installed, else an asyncio httpx generator.

`load(url, headers, connections, seconds)` keeps `connections` keep-alive connections busy with GET
`url` for `seconds` and returns throughput, latency percentiles and errors; `body=` makes every request
a POST of that JSON (wrk takes it through a Lua script).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

from bench.harness.stats import percentile


@dataclass
class Load:
    tool: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def _post_script(body: str) -> str:
    """A wrk Lua script that makes every request a POST of `body` (JSON)."""
    if "]==]" in body:
        raise ValueError("the body may not contain the Lua long-string closer ]==]")
    return f'wrk.method = "POST"\nwrk.body = [==[{body}]==]\nwrk.headers["Content-Type"] = "application/json"\n'


def _wrk(url: str, headers: dict[str, str], connections: int, seconds: float, body: str | None) -> Load:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="waqtor-bench-") as script:
        if body is not None:
            script.write(_post_script(body))
            script.flush()
            argv += ["-s", script.name]
        out = subprocess.run([*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"([0-9]+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+([0-9]+)", out):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in match.groups())
    return Load("wrk", requests, rps, p50, p99, errors)


async def _httpx_load(url: str, headers: dict[str, str], connections: int, seconds: float,
                      body: str | None) -> Load:
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10) as client:
        stop = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                try:
                    if body is None:
                        response = await client.get(url)
                    else:
                        response = await client.post(url, content=body,
                                                     headers={"Content-Type": "application/json"})
                    if response.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append((time.perf_counter() - t0) * 1000)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        took = time.monotonic() - started
    return Load("httpx", len(latencies), len(latencies) / took, percentile(latencies, 50),
                percentile(latencies, 99), errors)


def _child(queue: multiprocessing.Queue, url: str, headers: dict[str, str], connections: int,  # type: ignore[type-arg]
           seconds: float, body: str | None) -> None:
    queue.put(asyncio.run(_httpx_load(url, headers, connections, seconds, body)))


def load(url: str, headers: dict[str, str], connections: int, seconds: float, body: str | None = None) -> Load:
    """Load `url` from another process for `seconds`; wrk if on PATH, else httpx in a child process.
    With `body` (a JSON text) every request is a POST of it; else a GET."""
    if shutil.which("wrk"):
        return _wrk(url, headers, connections, seconds, body)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, url, headers, connections, seconds, body), daemon=True)
    proc.start()
    try:
        return queue.get(timeout=seconds + 60)  # type: ignore[no-any-return]
    finally:
        proc.join(10)
