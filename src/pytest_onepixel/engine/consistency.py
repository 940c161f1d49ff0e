"""Is the model a function of each image alone? Checked before any image is attacked.

A model whose scores depend on the rest of its batch (BatchNorm using batch statistics, i.e.
left in training mode) or on chance (dropout in training mode, noise in forward) makes every
result depend on `max_batch`, on which images share a batch, and on the run: the success rate
and the early verdict would change silently. So a few sample images are scored four ways (in one
batch; the same batch again; each alone; in another order, mixed with other images, in a batch
of another size) and their class probabilities must agree within `TOLERANCE`.

The probe also says whether the four scorings were bit-identical (`exact`): ONNX Runtime's CPU
kernels score a row the same whatever else is in the batch, PyTorch's move the 7th digit with the
batch size. Only an exact model's confirmations are scored several to a call (engine/batches.py
`confirm_batch`): for it, which images share a call cannot change a stored record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .batches import BatchEvaluator

#: Images probed; the probe costs about 4x this many model evaluations.
PROBE = 8
#: Largest difference between two scorings of an image's class probabilities still taken as the
#: same (float32 arithmetic that changes with the batch size differs by ~1e-6).
TOLERANCE = 1e-4


@dataclass(frozen=True)
class ConsistencyReport:
    """How far apart the four scorings of the probe images were, and the likely cause."""

    stable: bool
    max_difference: float
    differs: str | None  # which comparison went furthest: "twice", "alone" or "in another batch"
    depends_on: str | None  # "chance" (scored twice, the scores changed) or "the batch"
    cause: str | None
    images_scored: int
    #: Every scoring bit-identical (not merely within TOLERANCE): batch composition is invisible.
    exact: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "stable": self.stable,
            "max_difference": self.max_difference,
            "differs": self.differs,
            "depends_on": self.depends_on,
            "cause": self.cause,
            "images_scored": self.images_scored,
            "exact": self.exact,
        }


RANDOMNESS = (
    "randomness in the forward pass (dropout left in training mode, or noise added to the "
    "inputs or activations)"
)
BATCH_STATISTICS = (
    "the batch changing each image's scores (BatchNorm left in training mode uses the batch's "
    "statistics, or the model mixes images in a batch)"
)


def check_consistency(evaluator: BatchEvaluator, probe: int = PROBE) -> ConsistencyReport:
    """Score the first `probe` images in one batch, again, one at a time, and reversed among
    others (or duplicates) in a batch of another size, as large as the evaluator's batch (the
    largest a confirmation call can be) and at least twice `probe`; compare the probabilities."""
    n_images = len(evaluator.images.images)
    n = min(probe, n_images)
    first = np.arange(n)
    scored_before = evaluator.images_scored
    reference = evaluator.probabilities(first)
    differences = {"twice": _distance(reference, evaluator.probabilities(first))}
    alone = np.concatenate([evaluator.probabilities(first[i : i + 1]) for i in range(n)])
    differences["alone"] = _distance(reference, alone)
    mixed_size = max(2 * n, evaluator.max_batch)
    others = np.arange(n, min(n_images, mixed_size)) if n_images > n else np.zeros(1, np.intp)
    mixed = evaluator.probabilities(np.concatenate([first[::-1], others]))
    differences["in another batch"] = _distance(reference, mixed[:n][::-1])
    worst = max(differences, key=differences.get)
    stable = differences[worst] <= TOLERANCE
    depends_on = cause = None
    if not stable:
        random = differences["twice"] > TOLERANCE
        depends_on = "chance" if random else "the batch"
        cause = RANDOMNESS if random else BATCH_STATISTICS
    return ConsistencyReport(
        stable=stable,
        max_difference=float(differences[worst]),
        differs=None if stable else worst,
        depends_on=depends_on,
        cause=cause,
        images_scored=evaluator.images_scored - scored_before,
        exact=differences[worst] == 0.0,
    )


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max()) if a.size else 0.0


def unstable_text(description: str, check: ConsistencyReport) -> str:
    """Why an unstable model is refused, and what to do."""
    return (
        f"{description}: the model's scores depend on {check.depends_on}, so every attack "
        f"result would too: the same images scored {check.differs} differ by up to "
        f"{check.max_difference:.3g} in class probability (tolerance 1e-4). Likely cause: "
        f"{check.cause}. Fix: call model.eval() before exporting it (torch.export, "
        "torch.onnx.export, torch.jit.trace) and remove randomness from forward(); or set "
        "`allow_unstable_model: true` to attack it anyway (no early verdict; the instability "
        "is reported)."
    )
