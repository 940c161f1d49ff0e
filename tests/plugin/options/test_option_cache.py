"""--onepixel-cache / onepixel_cache: the result cache, use (default: an unchanged gate is read
back, not attacked), refresh (attack and store again) or off (neither read nor write)."""

from __future__ import annotations

from options_helpers import run_gate, table_cell, write_gate, write_ini


def entries(repo) -> int:
    folder = repo.path / ".pytest_cache" / "v" / "onepixel" / "results"
    return len(list(folder.iterdir())) if folder.exists() else 0


def test_use_reads_back_refresh_attacks_again_off_leaves_nothing(repo) -> None:
    write_gate(repo)
    assert not run_gate(repo)[1]["cached"]
    result, hit = run_gate(repo)
    assert hit["cached"] and table_cell(result, "s") == "cached"
    assert not run_gate(repo, "--onepixel-cache=refresh")[1]["cached"]
    count = entries(repo)
    _, off = run_gate(repo, "--onepixel-cache=off", "--onepixel-seed=5")
    assert not off["cached"] and entries(repo) == count


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    write_ini(repo, cache="off")
    run_gate(repo)
    assert entries(repo) == 0 and not run_gate(repo)[1]["cached"]
    run_gate(repo, "--onepixel-cache=use")
    assert entries(repo) == 1 and run_gate(repo, "--onepixel-cache=use")[1]["cached"]
