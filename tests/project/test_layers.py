"""The layer rules of DESIGN.md, checked on the source: data flows settings -> model + sample ->
engine -> result -> verdict -> reports, and no import points back up.

Every import in every module counts, at module level or inside a function, so a lazy import
cannot hide a cycle or a wrong-way arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pytest_onepixel

PACKAGE = Path(pytest_onepixel.__file__).parent
NAME = "pytest_onepixel"

#: Modules free to every layer: they import nothing of the package.
BASE_MODULES = ("errors", "importing", "paths", "validators", "version")
#: What each layer may import from the package (a layer always imports itself).
ALLOWED = {
    "base": set(),
    "engine": {"base"},
    # the typed settings sit just above the engine: attack() and every layer above it share them
    "settings": {"base", "engine"},
    "models": {"base", "engine"},
    # exact verdicts (search: certify): bound propagation over the plugin's models
    "certify": {"base", "engine", "models"},
    "data": {"base"},
    "result": {"base", "engine", "settings"},
    "executors": {"base", "engine", "settings", "models", "result", "backends"},
    "backends": {"base", "engine", "settings", "models"},
    # search: certify inside an attack (proving.py): beside api, which routes to it
    "proving": {"base", "engine", "settings", "models", "result", "certify"},
    # the search plan (planning.py) and its gradient guide (guiding.py), which reads the
    # model's graph from certify's converters
    "planning": {"base", "engine", "settings"},
    "guiding": {"base", "engine", "models", "certify"},
    "api": {
        "base",
        "engine",
        "settings",
        "models",
        "result",
        "executors",
        "backends",
        "proving",
        "planning",
        "guiding",
    },
    "gate": {"base", "engine", "settings", "models", "data", "result", "api", "executors"},
    "reports": {"base", "engine", "settings", "result", "api", "executors", "gate"},
    "cli": {"base", "engine", "settings", "result", "gate", "reports"},
    "plugin": {
        "base",
        "engine",
        "models",
        "data",
        "result",
        "executors",
        "backends",
        "api",
        "gate",
        "settings",
        "reports",
    },
}
#: Only the plugin may import pytest; the engine imports nothing but numpy and the stdlib.
THIRD_PARTY_FORBIDDEN = {layer: {"pytest", "_pytest"} for layer in ALLOWED if layer != "plugin"}
THIRD_PARTY_FORBIDDEN["engine"] |= {"scipy", "yaml", "torch", "onnxruntime"}
THIRD_PARTY_FORBIDDEN["gate"] |= {"yaml"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "public"  # the package's lazy __init__
    first = parts[1]
    return "base" if first in BASE_MODULES else first


def _is_module(name: str) -> bool:
    where = PACKAGE.parent.joinpath(*name.split("."))
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module `path` imports (package-relative ones resolved)."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            # `from . import x` may name a submodule: then it imports that, not the package's
            # own names (and the package only as Python must, which is not an arrow here)
            submodules = {f"{origin}.{alias.name}" for alias in node.names}
            found |= submodules
            if not all(_is_module(name) for name in submodules):
                found.add(origin)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
GRAPH = {
    name: {m for m in imports_of(path) if m in MODULES and m != name}
    for name, path in MODULES.items()
}


def test_imports_point_down_the_layers() -> None:
    """One test for the whole package (not one per module: the headline counts behaviour)."""
    problems = []
    for module in sorted(MODULES):
        layer = layer_of(module)
        if layer == "public":
            continue
        wrong = {
            target for target in GRAPH[module] if layer_of(target) not in ALLOWED[layer] | {layer}
        }
        if wrong:
            problems.append(f"{module} ({layer}) imports {sorted(wrong)}")
        third_party = {m.split(".")[0] for m in imports_of(MODULES[module])}
        forbidden = third_party & THIRD_PARTY_FORBIDDEN.get(layer, set())
        if forbidden:
            problems.append(f"{module} ({layer}) imports {sorted(forbidden)}")
    assert not problems, "\n".join(problems)


def test_nothing_inside_the_package_imports_its_root() -> None:
    """The root's lazy `__getattr__` imports the rest of the package: a module importing the
    root (even for `__version__`, which lives in `version.py`) would be a hidden cycle."""
    importers = [m for m in sorted(MODULES) if m != NAME and NAME in GRAPH[m]]
    assert not importers, f"these modules import {NAME} itself: {importers}"


def test_no_import_cycles() -> None:
    """Depth-first search for a back edge over every import, lazy ones included. A package's
    __init__ importing its own submodule is not a cycle."""
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if target.startswith(module + "."):
                continue
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])


def test_the_rules_see_the_modules() -> None:
    """The scan itself works: it finds the known arrows (so an empty graph cannot pass)."""
    assert f"{NAME}.engine.search" in GRAPH[f"{NAME}.api"]
    assert f"{NAME}.gate.run" in GRAPH[f"{NAME}.plugin.gates"]
    assert {layer_of(m) for m in MODULES} == set(ALLOWED) | {"public"}


def test_modules_and_functions_stay_small() -> None:
    """No module over ~400 lines, class over ~150 or function over ~50 (STYLE.md)."""
    problems = []
    for module in sorted(MODULES):
        source = MODULES[module].read_text()
        if source.count("\n") > 420:
            problems.append(f"{module} has {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            size = (node.end_lineno or 0) - node.lineno + 1 if hasattr(node, "lineno") else 0
            if isinstance(node, ast.ClassDef) and size > 160:
                problems.append(f"class {node.name} in {module} has {size} lines")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                lines = (body[-1].end_lineno - body[0].lineno + 1) if body else 0
                if lines > 55:
                    problems.append(f"{node.name}() in {module} has a {lines}-line body")
    assert not problems, "\n".join(problems)
