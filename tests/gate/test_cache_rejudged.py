"""A cache hit supplies records only: the verdict, interval, curve and text are computed again
against the current gate, and an entry whose records do not fit the request (doctored,
copied, malformed) is a miss with a note, never a verdict, a traceback or a gate error."""

from __future__ import annotations

import json

from conftest import write_gates

GATE = """\
defaults: {{samples: 20, pixel_range: [0, 16], budget: 20}}
models:
  - {{name: g, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: {rate}}}
"""


def entries(repo) -> list:
    return sorted((repo.path / ".pytest_cache" / "v" / "onepixel" / "results").iterdir())


def run(repo, *args: str, rate: float = 0.05) -> dict:
    """One run of gate `g`; its JSON entry, with the terminal output under "output"."""
    write_gates(repo, GATE.format(rate=rate))
    result = repo.runpytest("--onepixel-report=r.json", *args)
    gate = json.loads((repo.path / "r.json").read_text())["gates"][0]
    gate["output"] = result.stdout.str() + result.stderr.str()
    return gate


def edit(repo, change) -> None:
    """Apply `change` to the only cache entry, in place."""
    (path,) = entries(repo)
    stored = json.loads(path.read_text())
    change(stored)
    path.write_text(json.dumps(stored))


def test_an_entry_edited_to_passed_still_fails(repo) -> None:
    first = run(repo)
    assert first["status"] == "failed"

    def forge(stored: dict) -> None:
        stored.update(status="passed", passed=True, reasons=["forged"], reason="forged")
        if "summary" in stored:
            stored["summary"]["success_rate"] = 0.0

    edit(repo, forge)
    second = run(repo)
    assert second["status"] == "failed" and "forged" not in second["output"]
    assert second["summary"]["success_rate"] == first["summary"]["success_rate"]


def test_an_entry_stored_for_another_threshold_is_judged_against_this_one(repo) -> None:
    """Copied from the 0.5 key onto the 0.05 key, the records are judged against 0.05 (a full
    run's records fit any threshold, so the hit is used and fails)."""
    loose = run(repo, "--onepixel-full", rate=0.9)
    assert loose["status"] == "passed"
    (stored,) = entries(repo)
    tight = run(repo, "--onepixel-full", "--onepixel-cache=refresh")
    assert tight["status"] == "failed"
    tight_entry = next(path for path in entries(repo) if path != stored)
    tight_entry.write_text(stored.read_text())
    again = run(repo, "--onepixel-full")
    assert again["cached"] and again["status"] == "failed"
    assert again["threshold"] == 0.05 and "> threshold 0.050" in again["reason"]


def test_doctored_records_are_a_miss_with_a_note(repo) -> None:
    first = run(repo, rate=0.9)

    def over_budget(stored: dict) -> None:
        attacked = next(r for r in stored["records"] if r["attacked"])
        attacked["queries"] = 10_000

    def success_without_pixels(stored: dict) -> None:
        fooled = next(r for r in stored["records"] if r["success"])
        fooled["pixels"] = []

    def wrong_index(stored: dict) -> None:
        stored["records"][0]["index"] += 1000

    def attacked_but_misclassified(stored: dict) -> None:
        attacked = next(r for r in stored["records"] if r["attacked"])
        attacked["clean_correct"] = False

    def dropped_record(stored: dict) -> None:
        stored["records"].pop()

    for change, words in [
        (over_budget, "budget"),
        (success_without_pixels, "pixel"),
        (wrong_index, "index"),
        (attacked_but_misclassified, "classified"),
        (dropped_record, "20"),
    ]:
        edit(repo, change)
        again = run(repo, rate=0.9)
        assert not again["cached"], change.__name__
        assert again["records"] == first["records"], change.__name__
        (note,) = [n for n in again["notes"] if "cache entry" in n]
        assert "rejected" in note and words in note and "attacked again" in note, note


def test_malformed_entries_are_a_miss_never_a_traceback(repo) -> None:
    first = run(repo, rate=0.9)
    assert first["status"] == "passed"
    changes = [
        lambda s: s.setdefault("summary", {}).update(success_rate="0.0"),
        lambda s: s.update(settings={}),
        lambda s: s.pop("measured"),
        lambda s: s.update(measured={"batch": 3}),
        lambda s: s.update(records="none"),
        lambda s: s["records"][0].update(queries="10"),
        lambda s: s["records"][1].update(pixels=[{"row": "a"}]),
        lambda s: s.clear(),
    ]
    for number, change in enumerate(changes):
        edit(repo, change)
        again = run(repo, rate=0.9)
        assert again["status"] == "passed", (number, again["output"][-2000:])
        assert not again["cached"], number
        assert "Traceback" not in again["output"] and "INTERNALERROR" not in again["output"]
        assert any("cache entry" in note for note in again["notes"]), number
