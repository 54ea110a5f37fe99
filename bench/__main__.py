"""`python -m bench`: run the benchmarks and write the results (what ./scripts/bench runs).

    python -m bench                    full run: bench/results.json and BENCHMARKS.md
    python -m bench --quick            small run (under a minute): printed, files only when asked
    python -m bench --smoke --json X   tiniest run, for the test suite
    python -m bench --only fanout      one benchmark; in a full run it replaces only its own entry
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path
from typing import Any

from bench.harness import Mode, discover, run_all
from bench.harness.report import render

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
MARKDOWN = ROOT / "BENCHMARKS.md"


def _raise_open_files() -> None:
    # Thousands of sockets per process: take the hard limit (children inherit it).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _merge(report: dict[str, Any], previous: Path) -> dict[str, Any]:
    """Keep the other benchmarks of an earlier full run when only some were rerun."""
    try:
        old = json.loads(previous.read_text())
    except (OSError, ValueError):
        return report
    if old.get("mode") != report["mode"]:
        return report
    benchmarks = {**old.get("benchmarks", {}), **report["benchmarks"]}
    report["benchmarks"] = dict(sorted(benchmarks.items()))
    report["planned"] = {k: v for k, v in report["planned"].items() if k not in benchmarks}
    report["seconds"] = sum(entry["seconds"] for entry in benchmarks.values())
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./scripts/bench", description="Run Waqtor's benchmarks.")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a small version of each (a few minutes)")
    size.add_argument("--smoke", action="store_true", help="the tiniest run; timings mean nothing")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--json", type=Path, help="where to write the results JSON")
    parser.add_argument("--markdown", type=Path, help="where to write the markdown report")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    modules = discover(args.only)
    if args.list:
        for name, module in modules.items():
            print(f"{name}: {module.TITLE}")
        return 0
    mode: Mode = "quick" if args.quick else "smoke" if args.smoke else "full"
    json_path, md_path = args.json, args.markdown
    if mode == "full":
        json_path = json_path or RESULTS
        md_path = md_path or MARKDOWN
    _raise_open_files()
    report = run_all(modules, mode, log=lambda text: print(text, file=sys.stderr, flush=True))
    if args.only and json_path is not None and json_path.exists():
        report = _merge(report, json_path)
    markdown = render(report)
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2) + "\n")
    if md_path is not None:
        md_path.write_text(markdown)
    if json_path is None and md_path is None:
        print(markdown)
    print(f"done in {report['seconds']:.0f} s" + (f"; wrote {md_path}" if md_path else ""), file=sys.stderr)
    failed = [name for name, entry in report["benchmarks"].items() if entry["error"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
