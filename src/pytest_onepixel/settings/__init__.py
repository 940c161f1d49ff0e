"""Settings: what each key means, where it may be set, how the layers merge, gate files.

- `values`: the parsers that validate one value each (they raise ValueError naming what a
  value must be).
- `table`: `SETTINGS`, one table that drives the command-line options, the ini keys, the YAML
  schema and the marker and `check()` keywords.
- `layers`: `Layers`, the named sources of a gate's settings merged in one visible order.
- `gatefile`: reading onepixel YAML files safely, keeping every key's line for messages.

Nothing here imports pytest, numpy or (but for `gatefile`) yaml: the plugin reads this table at
start-up.
"""
