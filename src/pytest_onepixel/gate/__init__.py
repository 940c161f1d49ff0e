"""From records to a verdict, with no pytest: statistics, the gate's criteria, the exact early
verdict, baseline comparison, the `GateOutcome` (the JSON report's schema) and `run_gate`, the
one path every gate runs through, whether it comes from a YAML file or `onepixel.check()`.

Importing this package imports nothing heavy; scipy loads when an interval is first needed.
"""

#: The gate modes (gate/spec.py gives their rules), named here so the settings table can list
#: them without loading the gate's code.
GATE_MODES = ("point", "strict", "lenient")
#: Result cache modes (gate/cache.py), likewise.
CACHE_MODES = ("use", "refresh", "off")
