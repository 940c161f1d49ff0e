"""The package's version, in a module of its own: code inside the package imports it from here,
never from the package root (whose lazy `__getattr__` imports the rest of the package). Also the
installed versions of the runtimes a cached result or a remembered batch size depends on."""

import functools

__version__ = "0.2.0"


@functools.cache
def installed_versions(names: tuple[str, ...]) -> dict[str, str | None]:
    """The installed versions of the distributions `names` (None: not installed), read from
    their metadata (nothing is imported) once per process."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found
