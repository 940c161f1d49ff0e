"""Fail when a built wheel leaves out a module of the source tree, or a fresh install of it
cannot import one: the check that would have caught the missing `models/` subpackage.

Usage: python .ci/check_wheel.py WHEEL [SDIST]   (any directory)
Run it with the interpreter of an environment where that wheel is installed (not editable):
it also imports every module of the installed package.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import tarfile
import zipfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "pytest_onepixel"
# Modules that need an extra the CI user environment leaves out (torch, ray, pictures) may fail
# to import for that reason alone; any other import error is a packaging fault.
OPTIONAL_IMPORTS = {"torch", "ray", "matplotlib", "PIL", "pytest_html"}


def source_modules() -> set[str]:
    return {str(p.relative_to(SOURCE)) for p in (SOURCE / PACKAGE).rglob("*.py")}


def wheel_modules(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if name.endswith(".py")}


def sdist_modules(sdist: Path) -> set[str]:
    """Module paths in an sdist, relative to its src/ folder."""
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if name.endswith(".py")]
    return {name.removeprefix("src/") for name in names if name.startswith(f"src/{PACKAGE}/")}


def installed_modules_import() -> list[str]:
    """Import every module of the installed package; the names that fail, with why."""
    package = importlib.import_module(PACKAGE)
    if SOURCE in Path(package.__file__).resolve().parents:
        return [f"{PACKAGE} was imported from the source tree ({package.__file__}), not the wheel"]
    failures = []
    for module in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
        try:
            importlib.import_module(module.name)
        except ImportError as error:
            missing = (getattr(error, "name", None) or "").split(".")[0]
            if missing in OPTIONAL_IMPORTS:
                print(f"check_wheel: {module.name} needs the extra that installs {missing}")
            else:
                failures.append(f"{module.name}: {error}")
    return failures


def main(wheel: Path, sdist: Path | None) -> int:
    missing = sorted(source_modules() - wheel_modules(wheel))
    problems = [f"not in the wheel: {name}" for name in missing]
    if sdist is not None:
        missing = sorted(source_modules() - sdist_modules(sdist))
        problems += [f"not in the sdist: {name}" for name in missing]
    problems += installed_modules_import()
    for problem in problems:
        print(f"check_wheel: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_wheel: the wheel holds all {len(source_modules())} modules; all import")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None))
