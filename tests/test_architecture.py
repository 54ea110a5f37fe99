"""The house's one structural rule that no linter checks: imports point down. No module of waqtor/ imports,
directly or through others, a module that imports it — counting imports made only for type checking
(`if TYPE_CHECKING:`) and imports inside functions, since each is a dependency all the same.
(Private members of other objects are ruff's SLF001, in the gate ./scripts/test runs first.)"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules(package: Path) -> dict[str, Path]:
    """Every module of `package` by dotted name (a package by its own name, for its __init__)."""
    found = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of `known` that module `name` imports, wherever in it the import stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            wanted = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` imports module a.b when there is one, else a name of module a.
            wanted = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in wanted:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
    return targets


def cycles(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """The import cycles of `graph`: each strongly connected set of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> Iterator[list[str]]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                yield from visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                yield sorted(members)

    for node in sorted(graph):
        if node not in index:
            yield from visit(node)


def import_graph(package: Path) -> dict[str, set[str]]:
    known = modules(package)
    return {name: imports(name, path, known) for name, path in known.items()}


def describe(graph: dict[str, set[str]], members: list[str]) -> str:
    inside = set(members)
    return "\n".join(f"  {a} -> {b}" for a in members for b in sorted(graph[a] & inside))


def test_no_module_of_waqtor_imports_one_that_imports_it() -> None:
    graph = import_graph(ROOT / "waqtor")
    assert len(graph) > 100, "the whole package was read"
    found = list(cycles(graph))
    assert not found, "import cycles (each must become imports that point down):\n" + "\n\n".join(
        describe(graph, members) for members in found)


def test_the_check_sees_a_cycle_made_only_for_type_checking(tmp_path: Path) -> None:
    package = tmp_path / "house"
    (package / "low").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low" / "__init__.py").write_text("")
    (package / "low" / "registry.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from house.top import Manager\n")
    (package / "top.py").write_text("from .low.registry import Registry\n")
    (package / "leaf.py").write_text("def later():\n    from house import top\n")
    graph = import_graph(package)
    assert graph["house.top"] == {"house.low.registry"} and graph["house.leaf"] == {"house", "house.top"}
    assert list(cycles(graph)) == [["house.low.registry", "house.top"]]
