"""The batch size is timed once per model and machine and remembered in pytest's cache (issue
21.3): a rerun reads it back (`from_cache: true` in the JSON report's measured block), the
size read back changes speed only (records stay identical, whatever valid size it says), and an
entry that is corrupted is timed again without a traceback."""

from __future__ import annotations

import json

from conftest import write_gates

GATE = """\
defaults: {samples: 20, pixel_range: [0, 16], budget: 40, preset: continuous}
models:
  - {name: batchy, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 1.0}
"""


def run(repo, report: str, *args: str) -> dict:
    """One run of the gate (attacked again with `refresh`: the result cache would otherwise
    serve the whole outcome); its gate's JSON block."""
    result = repo.runpytest(f"--onepixel-report={report}", *args)
    result.assert_outcomes(passed=1)
    assert "Traceback" not in result.stdout.str()
    (gate,) = json.loads((repo.path / report).read_text())["gates"]
    assert not gate.get("cached")
    return gate


def batch_entries(repo) -> list:
    return sorted((repo.path / ".pytest_cache" / "v" / "onepixel" / "batch").iterdir())


def test_a_rerun_takes_the_batch_from_the_cache_with_identical_records(repo) -> None:
    write_gates(repo, GATE)
    first = run(repo, "one.json")
    assert first["measured"]["batch"]["from_cache"] is False
    assert first["measured"]["batch"]["images_scored"] > 0
    (entry,) = batch_entries(repo)

    second = run(repo, "two.json", "--onepixel-cache=refresh")
    batch = second["measured"]["batch"]
    assert batch["from_cache"] is True and batch["images_scored"] == 0
    assert batch["size"] == first["measured"]["batch"]["size"]
    assert batch["reason"].startswith("from the cache (timed on an earlier run: ")
    assert second["records"] == first["records"]

    # Another valid size in the entry: the search runs in other batches, the records do not move
    stored = json.loads(entry.read_text())
    other = 17 if stored["size"] != 17 else 19
    stored.update(size=other, throughput={str(other): 1.0}, peak_growth={str(other): 0})
    entry.write_text(json.dumps(stored))
    third = run(repo, "three.json", "--onepixel-cache=refresh")
    assert third["measured"]["batch"]["size"] == other
    assert third["measured"]["batch"]["from_cache"] is True
    assert third["records"] == first["records"]


def test_a_corrupted_entry_is_timed_again_without_a_traceback(repo) -> None:
    write_gates(repo, GATE)
    first = run(repo, "one.json")
    (entry,) = batch_entries(repo)

    entry.write_text(json.dumps({"format": 1, "size": 10**9, "reason": "huge"}))
    again = run(repo, "two.json", "--onepixel-cache=refresh")
    batch = again["measured"]["batch"]
    assert batch["from_cache"] is False and batch["images_scored"] > 0
    assert batch["reason"].startswith("cached choice ignored (its size 1000000000 is not a whole")
    assert again["records"] == first["records"]
    assert json.loads(entry.read_text())["size"] == batch["size"]  # replaced by the new timing

    entry.write_text("{not json")
    third = run(repo, "three.json", "--onepixel-cache=refresh")
    assert third["measured"]["batch"]["from_cache"] is False
    assert third["records"] == first["records"]


def test_cache_clear_forgets_the_choice(repo) -> None:
    write_gates(repo, GATE)
    run(repo, "one.json")
    cleared = run(repo, "two.json", "--cache-clear")
    assert cleared["measured"]["batch"]["from_cache"] is False
