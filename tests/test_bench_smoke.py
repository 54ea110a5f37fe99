"""The benchmark harness works end to end: its smallest run produces well-formed results.

No timing is asserted here: the figures of a smoke run mean nothing. BENCHMARKS.md comes from
`./scripts/bench` (see bench/README.md).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.harness import Target, discover
from bench.harness.stats import percentile

ROOT = Path(__file__).resolve().parents[1]
# The smoke run starts about a dozen gateway processes; on a CI machine busy with the rest of the suite
# that took over three minutes. The limit only catches a hang: nothing here is timed.
SMOKE_LIMIT = 360
pytestmark = pytest.mark.timeout(SMOKE_LIMIT + 30)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("bench")
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(out / "results.json"),
         "--markdown", str(out / "BENCHMARKS.md")],
        cwd=ROOT, capture_output=True, text=True, timeout=SMOKE_LIMIT,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), (out / "BENCHMARKS.md").read_text()


def test_smoke_run_covers_every_benchmark_without_error(smoke: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    report, _ = smoke
    assert set(report["benchmarks"]) == set(discover())
    for name, entry in report["benchmarks"].items():
        assert entry["error"] is None, f"{name}: {entry['error']}"
        assert entry["results"], f"{name} produced no figure"


def test_every_figure_has_a_number_a_unit_and_its_yardstick(smoke: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    report, _ = smoke
    for entry in report["benchmarks"].values():
        for result in entry["results"]:
            assert isinstance(result["value"], (int, float)) and math.isfinite(result["value"]), result
            assert result["unit"], result
            assert result["yardstick"] is not None and result["yardstick_name"], result
            if result["yardstick"] == 0:  # a tiny run may round a yardstick to 0: no ratio then
                assert result["ratio"] is None, result
            else:
                assert result["ratio"] == pytest.approx(result["value"] / result["yardstick"]), result
            if result["target"] is not None:
                assert isinstance(result["met"], bool), result


def test_report_describes_the_machine_and_every_benchmark(smoke: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    report, markdown = smoke
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["python"] and machine["packages"]["waqtor"]
    assert "## Machine" in markdown
    for entry in report["benchmarks"].values():
        assert f"## {entry['title']}" in markdown


def test_planned_benchmarks_without_a_module_are_listed_as_not_measured(smoke: tuple[dict, str]) -> None:  # type: ignore[type-arg]
    report, markdown = smoke
    for name in report["planned"]:
        assert name not in report["benchmarks"]
        assert f"- **{name}**" in markdown


def test_relative_target_compares_the_ratio_to_the_yardstick() -> None:
    target = Target("<=", 1.5, relative=True)
    assert target.met(15, 10) is True
    assert target.met(16, 10) is False
    assert target.met(1, None) is None


def test_absolute_target_compares_the_value() -> None:
    assert Target(">=", 100).met(100, None) is True
    assert Target(">=", 100).met(99, 1000) is False


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_engine_workers_silent_proxy_holds_every_connection_without_answering() -> None:
    import socket

    from bench.engine_workers import SilentProxy

    with SilentProxy() as proxy:
        host, port = proxy.url.removeprefix("http://").split(":")
        clients = [socket.create_connection((host, int(port)), timeout=2) for _ in range(3)]
        try:
            for client in clients:
                client.sendall(b"CONNECT web.whatsapp.com:443 HTTP/1.1\r\n\r\n")
            deadline = time.monotonic() + 5
            while proxy.accepted < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert proxy.accepted == 3
            clients[0].settimeout(0.2)
            with pytest.raises(TimeoutError):  # never an answer: a dial through it hangs
                clients[0].recv(1)
        finally:
            for client in clients:
                client.close()


def test_engine_workers_counts_the_attempts_in_the_log_as_it_grows(tmp_path: Path) -> None:
    from bench.engine_workers import LogCount
    from bench.harness.servers import Server

    server = Server("log", [], 0)
    server.log_path = tmp_path / "server.log"
    server.log_path.write_bytes(b"a: cannot connect (retry 1 in 0.0 s)\nb: cannot conn")
    count = LogCount(server)
    assert count.attempts == 1  # a line still being written is not counted yet
    with open(server.log_path, "ab") as log:
        log.write(b"ect (retry 1 in 0.0 s)\nengine worker x ended: it exited with signal 6\n")
    assert count.attempts == 2
    assert count.update()[b"exited with signal"] == 1
