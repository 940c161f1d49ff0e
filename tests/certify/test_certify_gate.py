"""`search: certify` through `attack()` and the gate's verdict: every attacked image ends fooled,
certified or undecided; the outcomes match exact enumeration; the verdict decides on the
vulnerability bracket; the early verdict stops proving only once the bracket settles it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from certify_nets import HIGH, attacked, fooled_by_enumeration, random_net
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel import attack
from pytest_onepixel.errors import ConfigError, UnsupportedOpError
from pytest_onepixel.gate.early import EarlyVerdict, settled_bracket
from pytest_onepixel.gate.spec import GateSpec
from pytest_onepixel.gate.verdict import judge
from pytest_onepixel.models.torch_model import TorchModel
from pytest_onepixel.result import Counts, ImageRecord


def certify(model, images, labels, **keywords):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # budget 40 runs no DE generation (warned)
        return attack(
            model,
            images.astype(np.uint8),
            labels,
            search="certify",
            budget=40,
            pixel_range=(0, HIGH),
            **keywords,
        )


@pytest.mark.parametrize(("seed", "residual"), [(0, False), (1, True), (2, False), (3, True)])
def test_outcomes_match_exact_enumeration(seed: int, residual: bool) -> None:
    model = random_net(seed, residual)
    images, labels = attacked(model, 10, seed)
    result = certify(model, images, labels)
    assert result.settings.search == "certify"
    for record, image, label in zip(result.records, images, labels, strict=True):
        assert record.outcome in ("fooled", "certified"), record
        assert (record.outcome == "fooled") == fooled_by_enumeration(model, image, int(label))
        assert record.success == (record.outcome == "fooled")
        assert set(record.proof) == {
            "passes",
            "queries",
            "boxes",
            "positions_left",
            "boxes_left",
            "found_by",
        }
        assert record.queries <= 40  # the DE's queries; the proof's work is in `proof`
    # every fooled record is a real adversarial image of the model (DE's and the proof's)
    indices, adversarial = result.adversarial_images()
    predicted = model.predict(adversarial.astype(np.float32)).argmax(1)
    assert (predicted != labels[indices]).all()
    counts = result.counts
    assert counts.certified + counts.successes == counts.attacked == 10
    assert counts.bracket == (counts.successes / 10, counts.successes / 10)


def test_a_proof_found_fooling_pixel_is_set_like_a_search_success() -> None:
    """The DE with 1 query per image fools almost nothing; the proof finds the rest."""
    model = random_net(0, False)
    images, labels = attacked(model, 12, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = attack(
            model,
            images.astype(np.uint8),
            labels,
            search="certify",
            budget=1,
            popsize=4,
            pixel_range=(0, HIGH),
        )
    by_proof = [
        r for r in result.records if r.outcome == "fooled" and r.proof["found_by"] != "search"
    ]
    assert by_proof, "the proof found no fooling pixel: the test needs another seed"
    for record in by_proof:
        assert record.success and len(record.pixels) == 1
        values = record.pixels[0][2]
        assert all(isinstance(v, int) and 0 <= v <= HIGH for v in values)
        assert record.first_success_query == record.queries
        assert record.adversarial_label != record.label
        assert 0 < record.adversarial_confidence <= 1


def test_a_tiny_certify_budget_leaves_images_undecided_and_says_where() -> None:
    model = random_net(1, True)
    images, labels = attacked(model, 6, 1)
    result = certify(model, images, labels, certify_budget=50)
    undecided = [r for r in result.records if r.outcome == "undecided"]
    assert undecided
    for record in undecided:
        assert not record.success
        assert record.proof["passes"] <= 50
        assert record.proof["positions_left"] > 0 and record.proof["boxes_left"] > 0
    counts = result.counts
    assert counts.undecided == len(undecided)
    low, high = counts.bracket
    assert low == counts.successes / counts.attacked
    assert high == (counts.attacked - counts.certified) / counts.attacked > low


class Sine(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.conv(x)).flatten(1)[:, :3]


def test_an_unsupported_op_is_named_before_any_query() -> None:
    calls = []
    module = Sine().eval()
    model = TorchModel(module, description="sine net", content_hash="sine")
    original = model.predict

    def counting(batch):
        calls.append(len(batch))
        return original(batch)

    model.predict = counting
    images, labels = attacked(model, 3, 0)
    calls.clear()
    with pytest.raises(UnsupportedOpError) as error:
        certify(model, images, labels)
    text = str(error.value)
    assert "sin" in text and "search: de" in text
    assert sum(calls) < 64  # the consistency probe and clean pass only, no DE search


def test_more_than_one_pixel_or_a_target_is_refused() -> None:
    model = random_net(0, False)
    images, labels = attacked(model, 3, 0)
    with pytest.raises(ConfigError, match=r"pixels: 2.*search: de"):
        certify(model, images, labels, pixels=2)
    with pytest.raises(ConfigError, match="targeted"):
        certify(model, images, labels, targets=(labels + 1) % 3)


def test_the_default_certify_budget_is_the_proof_engines() -> None:
    from pytest_onepixel.certify import DEFAULT_CERTIFY_BUDGET
    from pytest_onepixel.settings.gate_settings import GateSettings

    assert GateSettings().certify_budget == DEFAULT_CERTIFY_BUDGET


# --- the verdict on the bracket ---------------------------------------------------------------


def record(index: int, outcome: str | None, *, skipped: bool = False, file=None) -> ImageRecord:
    if skipped:
        return ImageRecord.unattacked(index, 0, True, None, True)
    fooled = outcome == "fooled"
    return ImageRecord(
        index, 0, True, True, fooled, 10, 10 if fooled else None, (), None, None,
        file=file, outcome=outcome, proof={"found_by": None},
    )  # fmt: skip


def records_of(outcomes: str) -> list[ImageRecord]:
    """'f', 'c', 'u' per attacked image; 's' a skipped one."""
    names = {"f": "fooled", "c": "certified", "u": "undecided"}
    return [
        record(i, names.get(o), skipped=o == "s", file=f"img{i}.png" if o == "u" else None)
        for i, o in enumerate(outcomes)
    ]


def test_the_upper_end_must_pass() -> None:
    spec = GateSpec(0.25)
    verdict = judge(spec, records_of("fccc"), 1000)
    assert verdict.passed
    assert verdict.reasons[0].startswith("vulnerability bracket [0.250, 0.250]")
    assert "upper end passes" in verdict.reason


def test_the_lower_end_fails_as_soon_as_it_breaks_the_threshold() -> None:
    verdict = judge(GateSpec(0.25), records_of("ffuu"), 1000)
    assert not verdict.passed
    assert verdict.reasons[0].startswith("vulnerability bracket [0.500, 1.000]")
    assert "lower end alone fails" in verdict.reason


def test_undecided_images_keep_it_open_and_are_named() -> None:
    verdict = judge(GateSpec(0.25), records_of("fccuu"), 1234)
    assert not verdict.passed
    text = verdict.reason
    assert text.startswith("vulnerability bracket [0.200, 0.600]")
    assert "undecided images: 3 (img3.png), 4 (img4.png)" in text
    assert "raise certify_budget (now 1234) or use search: de" in text


def test_a_de_gate_keeps_its_rate_verdict() -> None:
    plain = [ImageRecord(i, 0, True, True, i == 0, 10, None, (), None, None) for i in range(4)]
    assert Counts.of(plain).bracket is None
    assert judge(GateSpec(0.25), plain).reasons[0].startswith("success rate")


def test_records_carry_outcomes_through_json_and_old_ones_read() -> None:
    original = records_of("u")[0]
    assert ImageRecord.from_dict(original.to_dict()) == original
    old = original.to_dict()
    del old["outcome"], old["proof"]
    assert ImageRecord.from_dict(old).outcome is None


OUTCOMES = st.lists(st.sampled_from("fcu"), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(
    OUTCOMES,
    st.sampled_from([0.0, 0.1, 0.25, 0.5]),
    st.sampled_from(["point", "strict", "lenient"]),
)
def test_stopping_when_the_bracket_settles_gives_the_full_verdict(outcomes, limit, mode) -> None:
    """Proving in order and stopping at the first prefix `settled_bracket` accepts (the rest
    skipped) gives the verdict of proving every image."""
    spec = GateSpec(limit, mode=mode)
    full = records_of("".join(outcomes))
    total = len(full)
    stopped = full  # never settled early (undecided images keep it open): every image proven
    for done in range(total + 1):
        # the search finished every image (fooling none); the ones not proven have no outcome
        seen = full[:done] + [
            ImageRecord(r.index, 0, True, True, False, 10, None, (), None, None)
            for r in full[done:]
        ]
        if settled_bracket(spec, seen, total, True):
            stopped = full[:done] + [record(r.index, None, skipped=True) for r in full[done:]]
            break
    assert judge(spec, stopped, 1000).passed == judge(spec, full, 1000).passed


def test_the_early_verdict_stops_proving_once_settled() -> None:
    """Threshold 0: the first fooled image settles a failure; later images are not proven."""
    model = random_net(0, False)
    images, labels = attacked(model, 40, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = attack(
            model,
            images.astype(np.uint8),
            labels,
            search="certify",
            budget=1,
            popsize=4,
            pixel_range=(0, HIGH),
            stop_when=EarlyVerdict(GateSpec(0.0), bracket=True),
        )
    counts = result.counts
    assert counts.skipped > 0 and counts.successes >= 1
    assert all(r.outcome is None and not r.attacked for r in result.records if r.skipped)
    assert not judge(GateSpec(0.0), result.records, 1000).passed


def test_shards_prove_their_own_images_as_the_full_run_does() -> None:
    model = random_net(2, False)
    images, labels = attacked(model, 10, 2)
    full = {r.index: r for r in certify(model, images, labels).records}
    for k in (1, 2):
        for record in certify(model, images, labels, shard=(k, 2)).records:
            assert record == full[record.index]
