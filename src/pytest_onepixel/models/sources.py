"""The repository source a model factory runs, found without running it.

A factory string (`zoo.nets.factory:make`) builds its module from code: the factory's file, and
the architecture modules it imports (`from .blocks import ...`, `import arch`). A result
cached for the factory must be re-attacked when any of them changes, so its hash covers every
module of the factory's top-level package and every module those import, transitively, that
lives in the repository rather than in the Python installation (stdlib and site-packages: an
installed package is not the project's code). Imports are read from the source with `ast` and
resolved with `PathFinder`, which imports nothing: hashing a factory never runs its package's
`__init__.py` (or imports torch).
"""

from __future__ import annotations

import ast
import functools
import importlib
import site
import sys
import sysconfig
from collections.abc import Iterator
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path

#: A repository larger than this many modules is still hashed, but no further imports are
#: followed past it (a guard against a runaway walk, not a limit a project meets).
MOST_MODULES = 5000


def repository_sources(module_name: str) -> list[tuple[str, Path]] | None:
    """(module name, file) for the factory's module and every repository module its package
    holds or imports, sorted by name; None when the factory's module cannot be found."""
    importlib.invalidate_caches()  # files written since the last import are seen
    spec = _spec(module_name)
    if spec is None:
        return None
    found: dict[str, Path] = {}
    if _file_of(spec) is not None:
        found[module_name] = _file_of(spec)
    queue = [module_name, *_parents(module_name), *_package_modules(module_name.split(".")[0])]
    seen: set[str] = set()
    while queue and len(seen) < MOST_MODULES:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        spec = _spec(name)
        path = _file_of(spec) if spec is not None else None
        if path is None or not (name == module_name or in_repository(path)):
            continue
        found[name] = path
        if path.suffix == ".py":
            queue.extend(imported_names(path, name, spec.submodule_search_locations is not None))
    return sorted(found.items())


def imported_names(path: Path, name: str, is_package: bool) -> Iterator[str]:
    """Every module name an `import` statement in `path` may load (with its parent packages;
    names that turn out not to be modules are dropped when resolved)."""
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):
        return
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from (alias.name, *_parents(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base is None:
                continue
            if base:
                yield from (base, *_parents(base))
            for alias in node.names:
                yield f"{base}.{alias.name}" if base else alias.name


def _absolute(node: ast.ImportFrom, package: str) -> str | None:
    """The module a `from ... import` names, relative imports resolved against `package`."""
    if not node.level:
        return node.module
    parts = package.split(".") if package else []
    if node.level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def _package_modules(top: str) -> Iterator[str]:
    """Every module file of the top-level package `top`, when it is a package in the
    repository (a top-level module has no package beyond itself)."""
    spec = _spec(top)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        root = Path(folder)
        if not in_repository(root):
            continue
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts and parts[-1] == "__init__":
                parts = parts[:-1]
            if all(part.isidentifier() for part in parts):
                yield ".".join((top, *parts))


def _spec(name: str) -> ModuleSpec | None:
    """The module's spec, from sys.modules or found on its path without importing anything."""
    try:
        loaded = sys.modules.get(name)
        if loaded is not None and getattr(loaded, "__spec__", None) is not None:
            return loaded.__spec__
        parts, search, found = name.split("."), None, None
        for end in range(1, len(parts) + 1):
            found = PathFinder.find_spec(".".join(parts[:end]), search)
            if found is None:
                return None
            search = found.submodule_search_locations
            if search is None and end < len(parts):
                return None
        return found
    except (ImportError, ValueError, AttributeError):
        return None


def _file_of(spec: ModuleSpec) -> Path | None:
    origin = spec.origin
    if not origin or not spec.has_location:
        return None
    path = Path(origin)
    return path if path.is_file() else None


def in_repository(path: Path) -> bool:
    """True for a file outside the Python installation (its stdlib and site-packages)."""
    resolved = path.resolve()
    return not any(resolved.is_relative_to(root) for root in _installed_roots())


@functools.cache
def _installed_roots() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    roots = [paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    roots += list(getattr(site, "getsitepackages", list)())
    roots.append(getattr(site, "getusersitepackages", lambda: None)())
    return tuple({Path(root).resolve() for root in roots if root})
