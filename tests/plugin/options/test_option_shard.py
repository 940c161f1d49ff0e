"""--onepixel-shard / onepixel_shard: attack only shard K/N of every gate's attacked images;
the gate is then judged by `pytest-onepixel merge` over the N reports."""

from __future__ import annotations

import pytest
from options_helpers import run_gate, table_cell, write_gate, write_ini


def attacked(gate: dict) -> set[int]:
    return {record["index"] for record in gate["records"] if record["attacked"]}


def test_shards_split_the_attacked_images_and_leave_the_verdict_open(repo) -> None:
    write_gate(repo)
    _, whole = run_gate(repo)
    result, first = run_gate(repo, "--onepixel-shard=1/2")
    result.assert_outcomes(passed=1)  # a shard is not a verdict: its item passes
    assert first["status"] == "shard" and first["shard"]["count"] == 2
    assert table_cell(result, "verdict") == "shard 1/2"
    _, second = run_gate(repo, "--onepixel-shard=2/2")
    assert attacked(first) and attacked(second) and not attacked(first) & attacked(second)
    assert attacked(first) | attacked(second) == attacked(whole)


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, shard="1/2")
    result, gate = run_gate(repo)
    assert table_cell(result, "verdict") == "shard 1/2" and gate["shard"]["index"] == 1
    result, gate = run_gate(repo, "--onepixel-shard=2/2")
    assert table_cell(result, "verdict") == "shard 2/2" and gate["shard"]["index"] == 2


def test_a_shard_past_the_count_is_a_usage_error(repo) -> None:
    result = repo.runpytest("--onepixel-shard=3/2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*argument --onepixel-shard: must be K/N with 1 <= K <= N*"])
