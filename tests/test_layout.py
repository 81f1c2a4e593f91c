"""The code's layout holds: packages import only from their own stage or the ones below it (the
data's way: intake -> speech -> scoring -> store -> report -> desk, with processing, the flows, the CLI
and the manual's generator on top), no module imports itself round a circle, and modules and functions stay short."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

# Each unit may import from the units before it in this list, and from itself.
LAYERS = (
    ("pipeline.errors", "pipeline.files", "pipeline.resources", "pipeline.stopping"),
    ("pipeline.config",),
    ("pipeline.intake",),
    ("pipeline.speech",),
    ("pipeline.scoring",),
    ("pipeline.models",),
    ("pipeline.store",),
    ("pipeline.report",),
    ("pipeline.desk",),
    ("pipeline.processing",),
    ("flows",),
    ("pipeline.cli",),
    ("pipeline.manual",),  # the manual's reference pages, generated from the CLI and the warehouse
)
MAX_MODULE_LINES = 410  # about 400: a module that grows past it is split by job
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, Path]:
    found = {}
    for package in ("pipeline", "flows"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """The project's modules that ``path`` imports, anywhere in it (functions included)."""
    named = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            named |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in named if name in known}


def unit_of(module: str) -> int:
    for rank, units in enumerate(LAYERS):
        if any(module == unit or module.startswith(unit + ".") for unit in units):
            return rank
    raise AssertionError(f"{module} is in no layer of tests/test_layout.py: add it")


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(path, set(found)) - {name} for name, path in found.items()}


def test_no_import_runs_back_up() -> None:
    upward = [f"{module} imports {target}" for module, targets in graph().items() for target in targets
              if unit_of(target) > unit_of(module)]
    assert upward == []


def test_no_import_circle() -> None:
    edges = graph()
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in edges.items()}  # a package's own __init__
    state: dict[str, str] = {}
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                circles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_modules_and_functions_stay_short() -> None:
    long_modules, long_functions = [], []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}.{node.name}: {length} lines")
    assert long_modules == [] and long_functions == []
