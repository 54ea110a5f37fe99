"""BENCHMARKS.md, rendered from the results JSON (never edited by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PROFILES = Path(__file__).resolve().parents[1] / "profiles.md"


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _with_unit(value: Any, unit: str) -> str:
    return "—" if value is None else f"{_num(value)} {unit}"


def _met(met: bool | None) -> str:
    return "—" if met is None else "met" if met else "**not met**"


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(_num(c).replace("|", "\\|") for c in cells) + " |"


def _table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    return [_row(columns), "|" + "---|" * len(columns), *(_row(r) for r in rows)]


def _figure(result: dict[str, Any]) -> list[Any]:
    ratio = result["ratio"]
    return [
        result["name"],
        _with_unit(result["value"], result["unit"]),
        _with_unit(result["yardstick"], result["unit"]) + (f" ({result['yardstick_name']})"
                                                           if result["yardstick"] is not None else ""),
        "—" if ratio is None else f"{ratio:.2f}×",
        result["target"]["text"] if result["target"] else "—",
        _met(result["met"]),
    ]


FIGURE_COLUMNS = ["figure", "waqtor", "yardstick (same run)", "ratio", "target", "result"]


def machine_lines(machine: dict[str, Any]) -> list[str]:
    packages = ", ".join(f"{name} {version}" for name, version in machine["packages"].items())
    rows = [
        ["CPU", f"{machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable)"],
        ["memory", f"{machine['memory_mib']:,} MiB" if machine.get("memory_mib") else "unknown"],
        ["kernel", machine["kernel"]],
        ["Python", machine["python"]],
        ["packages", packages],
        ["HTTP load tool", machine.get("wrk") or "httpx (wrk not installed)"],
        ["open files limit", machine.get("open_files_limit")],
        ["load average when the latest run began (each benchmark gives its own)",
         " / ".join(str(x) for x in machine["load_average"])],
        ["commit", machine.get("commit") or "unknown"],
        ["date", machine["date"]],
    ]
    return _table(["", ""], rows)


def render(report: dict[str, Any]) -> str:
    """The whole BENCHMARKS.md for `report` (as written by `bench.harness.run_all`)."""
    machine = report["machine"]
    minutes = report["seconds"] / 60
    lines = [
        "# Benchmarks",
        "",
        f"Written by `./scripts/bench` ({report['mode']} run, {minutes:.1f} minutes) from `bench/results.json`: "
        "rerun the script rather than editing this file. Every figure is measured against its yardstick "
        "in the same run, on the machine below. Load generators run on the same machine as the server, so "
        "they share its cores. On a busy machine (see the load average) latency and throughput, and "
        "their ratios to the yardsticks, move a lot from run to run; the server CPU time per frame or per "
        "request moves least.",
        "",
        "## Machine",
        "",
        *machine_lines(machine),
        "",
        "## Summary",
        "",
        *_table(["benchmark", *FIGURE_COLUMNS],
                [[entry["title"], *_figure(result)]
                 for entry in report["benchmarks"].values() for result in entry["results"]]),
        "",
    ]
    for name, entry in report["benchmarks"].items():
        load = entry.get("load_average")
        lines += [f"## {entry['title']}", "", f"`bench/{name}.py`, {entry['seconds']:.0f} s"
                  + (f", run {entry['date']}" if entry.get("date") else "")
                  + (f", load average {' / '.join(str(x) for x in load)} when it began" if load else "")
                  + ".", "", entry["method"], ""]
        if entry["error"]:
            lines += [f"**This benchmark failed in this run:** `{entry['error']}`", ""]
        if entry["results"]:
            lines += _table([*FIGURE_COLUMNS, "note"],
                            [[*_figure(r), r["note"] or ""] for r in entry["results"]])
            lines.append("")
        for table in entry["tables"]:
            if table["rows"]:
                lines += [f"**{table['title']}**", "", *_table(table["columns"], table["rows"]), ""]
    if report.get("planned"):
        lines += ["## Not measured yet", ""]
        lines += [f"- **{name}**: {why}" for name, why in report["planned"].items()]
        lines.append("")
    if PROFILES.exists():
        lines += [PROFILES.read_text().strip(), ""]
    return "\n".join(lines)
