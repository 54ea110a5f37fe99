"""The benchmark harness: what a benchmark returns, how benchmarks are found, and the run of them all.

A benchmark is one module `bench/<name>.py` with three attributes:

    TITLE: str                          a heading for BENCHMARKS.md
    METHOD: str                         markdown saying what is measured and how (rendered as is)
    def run(mode: Mode) -> list[Result | Table]

`mode` is "full" (the figures of record), "quick" (a small version, under a minute in all) or "smoke"
(the tiniest run that still exercises every code path; the test suite uses it, timing means nothing).
Modules whose name starts with `_` (such as `__main__`) and the packages under bench/ (this harness,
the yardsticks) are not benchmarks.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import time
import traceback
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any, Literal

Mode = Literal["full", "quick", "smoke"]
MODES: tuple[Mode, ...] = ("full", "quick", "smoke")

# Benchmarks the issues ask for that no module provides yet. A module named like the key replaces its
# entry; until then BENCHMARKS.md lists it as not measured, with the reason.
PLANNED: dict[str, str] = {}


@dataclass(frozen=True)
class Target:
    """A goal for a figure: `value op bound`, where the bound is absolute or a multiple of the yardstick.

    Target("<=", 1.5, relative=True) reads "at most 1.5 × the yardstick"."""

    op: Literal["<=", ">="]
    bound: float
    relative: bool = False

    def met(self, value: float, yardstick: float | None) -> bool | None:
        if self.relative:
            if not yardstick:
                return None
            value = value / yardstick
        return value <= self.bound if self.op == "<=" else value >= self.bound

    def describe(self, unit: str) -> str:
        word = "at most" if self.op == "<=" else "at least"
        if self.relative:
            return f"{word} {self.bound:g}× yardstick"
        return f"{word} {self.bound:g} {unit}"


@dataclass
class Result:
    """One figure. `yardstick` is the same figure measured on the yardstick in the same run."""

    name: str
    value: float
    unit: str
    yardstick: float | None = None
    yardstick_name: str | None = None
    target: Target | None = None
    better: Literal["lower", "higher"] = "lower"
    note: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.yardstick is None or self.yardstick == 0:
            return None
        return self.value / self.yardstick

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.value, self.yardstick)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = None if self.target is None else {**asdict(self.target),
                                                            "text": self.target.describe(self.unit)}
        data["ratio"] = self.ratio
        data["met"] = self.met
        return data


@dataclass
class Table:
    """Supporting rows for a benchmark (e.g. a rate sweep), rendered under its figures."""

    title: str
    columns: list[str]
    rows: list[list[Any]]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def discover(names: list[str] | None = None) -> dict[str, ModuleType]:
    """The benchmark modules under bench/, by name, in name order; `names` picks some of them."""
    import bench

    found: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda i: i.name):
        if info.ispkg or info.name.startswith("_"):
            continue
        if names and info.name not in names:
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if hasattr(module, "run") and hasattr(module, "TITLE"):
            found[info.name] = module
    if names:
        unknown = sorted(set(names) - set(found))
        if unknown:
            raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(discover())}")
    return found


def run_all(modules: dict[str, ModuleType], mode: Mode, log: Any = print) -> dict[str, Any]:
    """Run each benchmark in turn; a benchmark that crashes is recorded with its error, the rest run."""
    from bench.harness.machine import describe_machine

    report: dict[str, Any] = {
        "mode": mode,
        "machine": describe_machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "benchmarks": {},
        "planned": {name: why for name, why in PLANNED.items() if name not in modules},
    }
    began = time.monotonic()
    for name, module in modules.items():
        log(f"==> {name} ({mode})")
        t0 = time.monotonic()
        entry: dict[str, Any] = {"title": module.TITLE, "method": module.METHOD.strip(),
                                 "date": time.strftime("%Y-%m-%d %H:%M %Z"),
                                 # Runs of some benchmarks (--only) are merged with older ones: each
                                 # keeps the load it was measured under.
                                 "load_average": [round(x, 2) for x in os.getloadavg()],
                                 "results": [], "tables": [], "error": None}
        try:
            for item in module.run(mode):
                if isinstance(item, Result):
                    entry["results"].append(item.to_json())
                elif isinstance(item, Table):
                    entry["tables"].append(item.to_json())
                else:
                    raise TypeError(f"{name}.run returned {type(item).__name__}, not Result or Table")
        except Exception as exc:  # one broken benchmark must not hide the others
            entry["error"] = f"{type(exc).__name__}: {exc}"
            log(traceback.format_exc())
        entry["seconds"] = round(time.monotonic() - t0, 1)
        log(f"    {name} took {entry['seconds']} s" + (f" and FAILED: {entry['error']}" if entry["error"] else ""))
        report["benchmarks"][name] = entry
    report["seconds"] = round(time.monotonic() - began, 1)
    return report
