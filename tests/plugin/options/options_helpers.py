"""Shared pieces of the one-file-per-option tests (tests/plugin/options/test_option_*.py).

Not a conftest.py on purpose: without __init__.py files pytest imports every conftest.py under
the module name `conftest`, so a second one would replace tests/conftest.py in sys.modules and
break every later `from conftest import ...` in the suite.

`requested` and `measured` are the one place that knows where a gate's JSON entry keeps what
was asked (`settings`) apart from what the attack found out (`measured`: batch, backend, twin,
popsize, generations, ...).
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

# pytester's in-process runs drop the modules first imported inside them: import here what every
# run would otherwise import again (the hypothesis plugin imports hypothesis, ~1 s, at the end of
# each run; onnxruntime for the tiny ONNX model; Pillow and matplotlib for galleries and curves).
import hypothesis  # noqa: F401
import onnxruntime  # noqa: F401
import PIL.Image  # noqa: F401
import pytest

with contextlib.suppress(ImportError):  # matplotlib is an optional extra
    from matplotlib import figure  # noqa: F401
    from matplotlib.backends import backend_agg  # noqa: F401

#: The base gate's YAML entry: one gate `g` on the tiny ONNX model, cheap enough to run often.
BASE = {
    "samples": 12,
    "budget": 20,
    "pixel_range": [0, 16],
    "preset": "continuous",
    "max_success_rate": 1.0,
}


def write_gate(repo: pytest.Pytester, name: str = "onepixel.yaml", **settings: Any) -> None:
    """One gate `g` with BASE's settings, changed by `settings` (a value of None drops a key,
    so an ini key or option can set it instead)."""
    entry = {"name": "g", "model": "models/tiny.onnx", "data": "data/holdout.npz"}
    entry.update({k: v for k, v in {**BASE, **settings}.items() if v is not None})
    (repo.path / name).write_text("models:\n  - " + json.dumps(entry) + "\n")


def write_baseline(repo: pytest.Pytester, rate: float, name: str = "baseline.json") -> None:
    """A JSON report of the base gate, run now, whose success rate is then set to `rate` (the
    base gate's own is 0.455, with 95% interval [0.167, 0.766])."""
    repo.runpytest(f"--onepixel-report={name}")
    document = json.loads((repo.path / name).read_text())
    document["gates"][0]["summary"]["success_rate"] = rate
    (repo.path / name).write_text(json.dumps(document))


def write_ini(repo: pytest.Pytester, **keys: Any) -> None:
    """A pytest.ini setting onepixel_<key> = value for each keyword."""
    lines = [f"onepixel_{key} = {value}" for key, value in keys.items()]
    repo.makeini("\n".join(["[pytest]", *lines]) + "\n")


def run_gate(
    repo: pytest.Pytester, *args: str, report: str = "r.json"
) -> tuple[pytest.RunResult, dict[str, Any]]:
    """Run pytest with `args` and a JSON report; the result and the first gate's entry."""
    result = repo.runpytest(f"--onepixel-report={report}", *args)
    return result, gate_entry(repo, report)


def gate_entry(repo: pytest.Pytester, report: str = "r.json") -> dict[str, Any]:
    """The first gate's entry in the JSON report at `report`."""
    return json.loads((repo.path / report).read_text())["gates"][0]


def requested(gate: dict[str, Any], key: str) -> Any:
    """What the gate asked for (None: an optional setting left unset, omitted from the report)."""
    return gate["settings"].get(key)


def measured(gate: dict[str, Any], key: str) -> Any:
    """What the attack found out: `batch` (its `size` and timings), `backend`, `twin`,
    `model_check`, `preset`, `popsize`, `generations`, `layout`, `data_layout`, `pixel_range`."""
    return gate["measured"][key]


def successes(gate: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of the images the attack fooled."""
    return [record for record in gate["records"] if record["success"]]


def table_cell(result: pytest.RunResult, column: str, name: str = "g") -> str:
    """One cell of gate `name`'s row in the terminal's onepixel table, by its column's header
    (the columns are right-aligned under their headers; a cell may hold spaces)."""
    lines = result.stdout.str().split("= onepixel gates =")[1].splitlines()
    header = next(line for line in lines if line.startswith("gate "))
    row = next(line for line in lines if line.split()[:1] == [name])
    ends = [match.end() for match in re.finditer(r"\S+", header)]
    names = header.split()
    end = ends[names.index(column)]
    start = ends[names.index(column) - 1] if names.index(column) else 0
    return row[start:end].strip()
