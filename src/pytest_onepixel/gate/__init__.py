"""From records to a verdict, with no pytest: statistics, the gate's criteria, the exact early
verdict, baseline comparison, the `GateOutcome` (the JSON report's schema) and `run_gate`, the
one path every gate runs through, whether it comes from a YAML file or `onepixel.check()`.

Importing this package imports nothing heavy; scipy loads when an interval is first needed.
"""

from ..settings.setting import CACHE_MODES, GATE_MODES

__all__ = ["CACHE_MODES", "GATE_MODES"]
