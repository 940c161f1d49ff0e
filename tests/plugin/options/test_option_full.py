"""--onepixel-full / onepixel_full: attack every sampled image even once the verdict is settled.
With 40 samples and threshold 0 the verdict is settled after the first 16 of 35 attacked."""

from __future__ import annotations

from options_helpers import run_gate, write_gate, write_ini


def test_the_option_attacks_every_image(repo) -> None:
    write_gate(repo, samples=40, max_success_rate=0.0)
    _, early = run_gate(repo)
    result, full = run_gate(repo, "--onepixel-full")
    result.assert_outcomes(failed=1)
    assert early["summary"]["skipped"] > 0 and early["summary"]["settled_after"] is not None
    assert "settled after" in early["reason"]
    assert full["summary"]["skipped"] == 0 and full["summary"]["attacked"] == 35
    assert full["full"] is True and early["full"] is False
    result.stdout.fnmatch_lines(["onepixel: *, full, *"])


def test_the_ini_key_sets_it(repo) -> None:
    write_gate(repo, samples=40, max_success_rate=0.0)
    write_ini(repo, full="true")
    _, gate = run_gate(repo)
    assert gate["summary"]["skipped"] == 0 and gate["full"] is True
    write_ini(repo, full="false")
    assert run_gate(repo)[1]["summary"]["skipped"] > 0
