"""Shards across CI jobs: the K/N slices partition any sample, `pytest-onepixel merge` of the N
shard reports equals the single full run (apart from time fields), and merge refuses a missing
shard, a duplicated one, and shards of another sample or other settings."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import write_gates
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel.cli import main
from pytest_onepixel.engine.schedule import shard_positions

#: Fields that hold times or what was measured from timings: they may differ between runs.
TIME_FIELDS = ("seconds", "created")
MEASURED = ("batch",)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), max_size=80), st.integers(1, 9))
def test_shard_slices_partition_the_sample(attacked: list[bool], count: int) -> None:
    mask = np.array(attacked, dtype=bool)
    slices = [shard_positions(mask, (index, count)) for index in range(1, count + 1)]
    union = np.sort(np.concatenate(slices)) if slices else np.array([])
    assert union.tolist() == list(range(len(mask)))  # every position once
    sizes = [int(mask[s].sum()) for s in slices]
    assert max(sizes) - min(sizes) <= 1  # balanced by attacked images
    assert all((np.diff(s) > 0).all() for s in slices)  # in sample order


GATES = """\
defaults: {samples: 40, pixel_range: [0, 16], budget: 30}
models:
  - {name: strict-gate, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 0.5,
     gate: strict, max_success_rate_at: {10: 0.4}}
  - {name: point-gate, model: models/tiny.onnx, data: data/holdout.npz, max_success_rate: 0.2}
"""


def body(document: dict) -> dict:
    """A report without time fields and measured batch sizes, for byte comparison."""
    document = json.loads(json.dumps(document))
    for key in (*TIME_FIELDS, "options", "interrupted", "signal", "shard"):
        document.pop(key, None)
    for gate in document["gates"]:
        for key in (*TIME_FIELDS, "examples"):
            gate.pop(key, None)
        for key in MEASURED:
            gate["measured"].pop(key, None)
    return document


@pytest.fixture
def shard_reports(repo):
    write_gates(repo, GATES)
    for index in (1, 2, 3):
        repo.runpytest(f"--onepixel-shard={index}/3", f"--onepixel-report=shard{index}.json")
    repo.runpytest("--onepixel-full", "--onepixel-report=full.json", "--onepixel-cache=off")
    return repo


def test_merge_equals_the_single_full_run(shard_reports, monkeypatch, capsys) -> None:
    monkeypatch.chdir(shard_reports.path)
    shard = json.loads((shard_reports.path / "shard2.json").read_text())
    assert shard["shard"] == {"index": 2, "count": 3}
    assert {g["status"] for g in shard["gates"]} == {"shard"}
    code = main(["merge", "shard1.json", "shard2.json", "shard3.json", "--report", "merged.json"])
    full = json.loads((shard_reports.path / "full.json").read_text())
    merged = json.loads((shard_reports.path / "merged.json").read_text())
    assert json.dumps(body(merged), sort_keys=True) == json.dumps(body(full), sort_keys=True)
    assert code == (0 if all(g["passed"] for g in full["gates"]) else 1)
    assert "strict-gate" in capsys.readouterr().out


def test_merge_works_with_compare_gallery_and_html(shard_reports, monkeypatch) -> None:
    monkeypatch.chdir(shard_reports.path)
    shards = ["shard1.json", "shard2.json", "shard3.json"]
    args = ["merge", *shards, "--report", "m.json", "--compare", "full.json"]
    main([*args, "--gallery", "pictures", "--html", "page.html"])
    merged = json.loads((shard_reports.path / "m.json").read_text())
    assert all(g["compare"]["change"] == 0 for g in merged["gates"])
    assert list((shard_reports.path / "pictures").glob("*point-gate*.png"))
    assert 'data-gate="strict-gate"' in (shard_reports.path / "page.html").read_text()


@pytest.mark.parametrize(
    ("shards", "message"),
    [
        (["shard1.json", "shard2.json"], "shard(s) 3/3 missing"),
        (["shard1.json", "shard2.json", "shard2.json"], "shard 2/3 is in both"),
        (["shard1.json", "shard2.json", "other.json"], "in its sample;"),
        (["shard1.json", "shard2.json", "seeded.json"], "in its sample;"),
        (["shard1.json", "shard2.json", "full.json"], "is not a shard"),
    ],
)
def test_merge_refuses_shards_that_do_not_belong_together(
    shard_reports, monkeypatch, capsys, shards, message
) -> None:
    repo = shard_reports
    data = dict(np.load(repo.path / "data" / "holdout.npz"))
    np.savez(repo.path / "data" / "holdout.npz", x=data["x"][::-1].copy(), y=data["y"][::-1].copy())
    repo.runpytest("--onepixel-shard=3/3", "--onepixel-report=other.json")
    np.savez(repo.path / "data" / "holdout.npz", **data)
    repo.runpytest("--onepixel-shard=3/3", "--onepixel-seed=7", "--onepixel-report=seeded.json")
    monkeypatch.chdir(repo.path)
    assert main(["merge", *shards, "--report", "m.json"]) == 2
    assert message in capsys.readouterr().err


def test_other_settings_are_refused(shard_reports, monkeypatch, capsys) -> None:
    repo = shard_reports
    repo.runpytest("--onepixel-shard=3/3", "--onepixel-budget=40", "--onepixel-report=budget.json")
    shutil.copy(repo.path / "budget.json", repo.path / "b.json")
    monkeypatch.chdir(repo.path)
    assert main(["merge", "shard1.json", "shard2.json", "b.json", "--report", "m.json"]) == 2
    err = capsys.readouterr().err
    assert "b.json does not match shard1.json in its settings;" in err
    assert "has another" not in err and err.count("pytest-onepixel ") == 1


def test_shards_combine_with_xdist(shard_reports, monkeypatch) -> None:
    repo = shard_reports
    for index in (1, 2, 3):
        repo.runpytest_subprocess(
            "-n", "2", f"--onepixel-shard={index}/3", f"--onepixel-report=x{index}.json"
        )
    monkeypatch.chdir(repo.path)
    main(["merge", "x1.json", "x2.json", "x3.json", "--report", "xm.json"])
    merged = json.loads((repo.path / "xm.json").read_text())
    full = json.loads((repo.path / "full.json").read_text())
    assert json.dumps(body(merged), sort_keys=True) == json.dumps(body(full), sort_keys=True)
