"""The result cache: an unchanged gate is read back, not attacked; changing one weight, one
image or one setting re-attacks; `refresh` re-attacks and stores; `off` leaves no entry."""

from __future__ import annotations

import json

import numpy as np
import onnx
from conftest import write_gates

ONE_GATE = """\
defaults: {samples: 20, pixel_range: [0, 16], budget: 20}
models:
  - {name: g, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 1.0}
"""


def run(repo, *args: str) -> dict:
    result = repo.runpytest("--onepixel-report=r.json", *args)
    result.assert_outcomes(passed=1)
    gate = json.loads((repo.path / "r.json").read_text())["gates"][0]
    gate["output"] = result.stdout.str()
    return gate


def test_an_unchanged_gate_is_read_back_from_the_cache(repo) -> None:
    write_gates(repo, ONE_GATE)
    first, second = run(repo), run(repo)
    assert not first["cached"] and second["cached"]
    assert second["records"] == first["records"] and second["summary"] == first["summary"]
    assert "cached" in second["output"].split("onepixel gates")[1]
    assert second["seconds"] < first["seconds"]


def test_one_changed_weight_image_or_setting_re_attacks(repo) -> None:
    write_gates(repo, ONE_GATE)
    assert not run(repo)["cached"] and run(repo)["cached"]
    assert not run(repo, "--onepixel-budget=21")["cached"]  # a setting (same sample)
    data = dict(np.load(repo.path / "data" / "holdout.npz"))
    data["x"] = data["x"].copy()
    data["x"][data["x"] == 0] = 1  # images of the sample change
    np.savez(repo.path / "data" / "holdout.npz", **data)
    assert not run(repo)["cached"]
    assert run(repo)["cached"]
    model = onnx.load(repo.path / "models" / "tiny.onnx")
    weights = model.graph.initializer[0]
    weights.raw_data = weights.raw_data[:-4] + np.float32(0.375).tobytes()
    onnx.save(model, repo.path / "models" / "tiny.onnx")
    assert not run(repo)["cached"]  # one weight


def test_drawing_settings_are_read_back_not_re_attacked(repo) -> None:
    """`gallery` and `examples` choose what is drawn from the records: a hit draws with the
    new values and reports them."""
    write_gates(repo, ONE_GATE.replace("budget: 20}", "budget: 20, gallery: false}"))
    first = run(repo)
    write_gates(repo, ONE_GATE.replace("budget: 20}", "budget: 20, examples: 3}"))
    second = run(repo)
    assert second["cached"] and second["records"] == first["records"]
    assert (first["settings"]["gallery"], second["settings"]["gallery"]) == (False, True)
    assert second["settings"]["examples"] == 3
    assert not first["examples"] and len(second["examples"]) == 3  # drawn again, on a hit


def test_refresh_re_attacks_and_off_leaves_no_entry(repo) -> None:
    write_gates(repo, ONE_GATE)
    run(repo)
    assert not run(repo, "--onepixel-cache=refresh")["cached"]
    assert run(repo)["cached"]
    entries = repo.path / ".pytest_cache" / "v" / "onepixel" / "results"
    count = len(list(entries.iterdir()))
    assert not run(repo, "--onepixel-cache=off", "--onepixel-seed=5")["cached"]
    assert len(list(entries.iterdir())) == count


def test_cache_entries_hold_records_not_images_or_verdicts(repo) -> None:
    write_gates(repo, ONE_GATE)
    run(repo)
    (entry,) = (repo.path / ".pytest_cache" / "v" / "onepixel" / "results").iterdir()
    stored = json.loads(entry.read_text())
    assert set(stored) == {"format", "records", "measured", "model"}  # no verdict, no images
    assert len(stored["records"]) == 20
