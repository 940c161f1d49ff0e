"""--onepixel-seed / onepixel_seed: the seed of the sample and of the attack."""

from __future__ import annotations

from options_helpers import requested, run_gate, write_gate, write_ini


def sample(gate: dict) -> list[int]:
    """The data set indices of the sampled images, in sample order."""
    return [record["index"] for record in gate["records"]]


def test_another_seed_draws_another_sample_and_the_same_seed_the_same(repo) -> None:
    write_gate(repo)
    _, unset = run_gate(repo)
    result, seeded = run_gate(repo, "--onepixel-seed=3")
    result.assert_outcomes(passed=1)
    assert sample(seeded) != sample(unset) and requested(seeded, "seed") == 3
    assert (
        run_gate(repo, "--onepixel-seed=3", "--onepixel-cache=off")[1]["records"]
        == (seeded["records"])
    )
    result.stdout.fnmatch_lines(["onepixel: budget *, seed 3, *"])


def test_the_ini_key_sets_it_and_the_option_beats_it(repo) -> None:
    write_gate(repo)
    _, unset = run_gate(repo)
    _, seeded = run_gate(repo, "--onepixel-seed=3")
    write_ini(repo, seed=3)
    from_ini = sample(run_gate(repo)[1])
    assert from_ini == sample(seeded) and from_ini != sample(unset)
    assert sample(run_gate(repo, "--onepixel-seed=0")[1]) == sample(unset)
