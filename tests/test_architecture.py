"""The layout's rules, checked over the source: no two vecbench modules import each other, even through others.

Every import is counted, including those inside functions (a lazy import is still a dependency: it
only moves the circle to run time). A package's ``__init__`` is a module of its own; ``from . import x``
inside a package depends on the module ``x``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from vecbench.operations import COMPANION_SUFFIXES

PACKAGE = Path(__file__).resolve().parents[1] / "vecbench"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """``{module: modules of vecbench it imports}``, over every ``.py`` file of the package."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                targets = [node.args[0].value]  # importlib.import_module("vecbench.x"): an import all the same
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node)
                # `from pkg import mod` depends on pkg.mod when that is a module, else on pkg itself
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for t in targets:
                while t and t not in files:  # `import vecbench.a.b` names a module; an attribute path its module
                    t = t.rpartition(".")[0]
                if t and t != name:
                    deps.add(t)
        graph[name] = deps
    # vecbench.operations imports its op modules by discovery (pkgutil): every module there but the companions.
    graph["vecbench.operations"] |= {n for n in files if n.startswith("vecbench.operations.")
                                     and not n.rpartition(".")[2].startswith("_")
                                     and not n.endswith(COMPANION_SUFFIXES)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_graph_sees_every_kind_of_import():
    graph = import_graph()
    assert "vecbench.opspec" in graph["vecbench.operations.dot"]  # `from ..opspec import ...`
    assert "vecbench.operations" in graph["vecbench.registry"]  # importlib.import_module("vecbench.operations")
    assert "vecbench.display" in graph["vecbench.results"]  # `from .display import ...` inside a method
    assert "vecbench.operations.dot" in graph["vecbench.operations"]  # discovered, imported by name
    assert "vecbench.operations.dot_numba" not in graph["vecbench.operations"]  # a companion: only named
    assert "vecbench.report.figures" in graph["vecbench.report.write"]  # `from . import figures`
    # a circle through three modules is found
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_two_modules_import_each_other():
    """No circle in the import graph, however long, with imports inside functions counted."""
    found = cycles(import_graph())
    assert not found, "import circles (each a group of modules that import each other):\n" + "\n".join(
        " <-> ".join(c) for c in found)


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for dep in graph.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_one_module_per_command_and_per_output():
    """The command line and the report are packages of small modules, each covered by the circle check."""
    graph = import_graph()
    for command in ("list_", "info", "run", "compare", "report", "train", "graph", "options", "console"):
        assert f"vecbench.cli.{command}" in graph
    for output in ("analysis", "markdown", "html", "figures", "write"):
        assert f"vecbench.report.{output}" in graph
    # data flows one way: the analysis never reaches the text it is rendered into (figures it may: results
    # draw themselves in a notebook), and nothing of the report reaches the command line
    assert not {"vecbench.report.markdown", "vecbench.report.html", "vecbench.report.write"} & _reachable(
        graph, "vecbench.report.analysis")
    assert not any(m.startswith("vecbench.cli") for m in _reachable(graph, "vecbench.report"))


def test_figures_never_reach_the_harness():
    """Drawing never imports the measuring side, not even through another module."""
    graph = import_graph()
    for start in ("vecbench.report.figures", "vecbench.report.write", "vecbench.plotting_gpu"):
        reached = _reachable(graph, start)
        assert not {"vecbench.harness", "vecbench.worker", "vecbench.measuring"} & reached, start
