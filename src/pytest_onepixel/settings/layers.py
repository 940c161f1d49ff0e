"""`Layers`: the named sources of a gate's settings, merged in one visible order.

As pytest-benchmark merges `dict(session.options, **marker.kwargs)` in one line, `merged()`
shows the whole precedence where it is applied: command line > `onepixel.check(**options)` >
`@pytest.mark.onepixel(...)` > YAML entry > YAML `defaults` > ini keys > built-in defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .gate_settings import GATE_SETTINGS, SOURCE_SETTINGS, GateSettings, GateSource

#: Layer names, highest precedence first, as `origin()` reports them.
PRECEDENCE = ("cli", "call", "marker", "entry", "defaults", "ini", "builtin")


@dataclass(frozen=True)
class Layers:
    """A gate's settings by source; each layer is already validated (`parse_layer`)."""

    cli: Mapping[str, Any] = field(default_factory=dict)  # --onepixel-* options
    call: Mapping[str, Any] = field(default_factory=dict)  # onepixel.check(**options)
    marker: Mapping[str, Any] = field(default_factory=dict)  # @pytest.mark.onepixel(...)
    entry: Mapping[str, Any] = field(default_factory=dict)  # the gate's YAML entry
    defaults: Mapping[str, Any] = field(default_factory=dict)  # the YAML file's `defaults:`
    ini: Mapping[str, Any] = field(default_factory=dict)  # onepixel_* ini keys

    def merged(self) -> dict[str, Any]:
        """Every layer's values, the highest layer that sets a key winning (defaults are the
        settings objects' own)."""
        return {
            **self.ini,
            **self.defaults,
            **self.entry,
            **self.marker,
            **self.call,
            **self.cli,
        }

    def settings(self) -> GateSettings:
        """The gate's settings: each value already validated by its layer."""
        merged = self.merged()
        return GateSettings(**{k: v for k, v in merged.items() if k in GATE_SETTINGS})

    def source(self) -> GateSource:
        """Where a YAML gate's model and data come from."""
        merged = self.merged()
        return GateSource(**{k: v for k, v in merged.items() if k in SOURCE_SETTINGS})

    def origin(self, key: str) -> str:
        """The name of the layer `key`'s merged value comes from."""
        for name in PRECEDENCE[:-1]:
            if key in getattr(self, name):
                return name
        return "builtin"

    def sets(self, key: str) -> bool:
        """True when some layer (not the built-in default) sets `key`."""
        return self.origin(key) != "builtin"
