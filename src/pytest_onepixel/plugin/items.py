"""onepixel YAML files collected as test files, one test item per entry of `models:`.

Follows pytest's own non-Python test example (doc/en/example/nonpython): a `pytest.File` that
yields `pytest.Item`s whose `repr_failure` prints a short domain explanation, not a traceback.
Reading and validating the file is settings/gatefile.py's job.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ..errors import ConfigError, GateFailed, OnePixelError
from ..settings.gatefile import GateEntry, read_gate_file

#: The name of the one item a gate file that cannot be read yields: its error fails that item
#: (and is the file's entry in the report) while every other gate still runs.
FILE_ITEM = "gate_file"


class OnePixelFile(pytest.File):
    """A onepixel*.yaml file: one item per model entry."""

    @property
    def shown_path(self) -> Path:
        """The path as a user typed it: relative to where pytest was started, when inside."""
        start = self.config.invocation_params.dir
        return self.path.relative_to(start) if self.path.is_relative_to(start) else self.path

    def collect(self) -> Iterator[OnePixelItem]:
        try:
            gate_file = read_gate_file(self.path, self.shown_path)
        except ConfigError as error:
            # One failing item, not a collection error: pytest would stop the whole session.
            entry = GateEntry(self.path.name, 0, error=error)
            yield OnePixelItem.from_parent(self, name=FILE_ITEM, entry=entry, defaults={})
            return
        for entry in gate_file.entries:
            item = OnePixelItem.from_parent(
                self, name=entry.name, entry=entry, defaults=gate_file.defaults
            )
            self._add_markers(item, entry)
            yield item

    def _add_markers(self, item: OnePixelItem, entry: GateEntry) -> None:
        item.keywords["onepixel"] = True
        for marker in entry.markers:
            try:
                item.add_marker(marker)
            except pytest.fail.Exception:
                item.error = ConfigError(
                    f"{self.shown_path}:{entry.markers_line}: gate {entry.name!r}: marker "
                    f"{marker!r} is not registered; add it to the `markers` ini option "
                    "(--strict-markers is on)."
                )


class OnePixelItem(pytest.Item):
    """One gate of a YAML file; runs through plugin/gates.py so reports and tables see it."""

    is_onepixel_gate = True

    def __init__(self, *, entry: GateEntry, defaults: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entry = entry
        self.defaults = defaults
        self.error: ConfigError | None = entry.error

    def runtest(self) -> None:
        from .gates import record_error, run_yaml_gate

        if self.error is not None:
            record_error(self, self.entry.name, str(self.error))
            raise self.error
        run_yaml_gate(self, self.entry.settings, self.defaults)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:
        if isinstance(excinfo.value, (GateFailed, OnePixelError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.entry.line - 1, 0), f"onepixel gate: {self.name}"
