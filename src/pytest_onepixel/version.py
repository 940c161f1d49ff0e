"""The package's version, in a module of its own: code inside the package imports it from here,
never from the package root (whose lazy `__getattr__` imports the rest of the package)."""

__version__ = "0.2.0"
