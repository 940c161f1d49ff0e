"""`search: certify` inside an attack: the usual DE search first, then a proof for each attacked
image it did not fool (DESIGN.md, "Exact verdicts").

`proven()` wraps the attack's search. For a certify gate it checks what a proof can answer (one
pixel, untargeted), converts the real model into a provable graph before any query is spent (an
unsupported op fails the gate at once, naming op and node), runs the DE search exactly as
`search: de` does, and then runs `certify.certify_images` on the images the search did not fool,
one at a time in sample order, on the real model (never a twin; in this process, also when Ray
ran the search, since each image's proof is independent). Every attacked image then ends with an
`outcome`: "fooled" (the search's success, or the proof's fooling pixel confirmed on the real
model alone, with its pixels, adversarial label and confidence), "certified" or "undecided".
A record's `queries` stay the search's; the proof's work is in its `proof` block.

With an early verdict (`stop_when`, gate/early.py) proving stops once the vulnerability bracket
settles the verdict; the images not proven then are recorded as skipped (unattacked), as the
search's own early stop records the images it never started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from .errors import ConfigError
from .result import ImageRecord
from .settings.gate_settings import GateSettings

#: The `proof` block of an image the DE search fooled before any proof ran.
SEARCH_PROOF = {
    "passes": 0,
    "queries": 0,
    "boxes": 0,
    "positions_left": 0,
    "boxes_left": 0,
    "found_by": "search",
}
RAY_NOTE = (
    "search: certify: the DE search ran on Ray; the proofs of the images it did not fool ran "
    "in the driver process"
)


def proven(
    search: Callable[..., tuple[dict[int, ImageRecord], Any, Any]],
    context: Any,
    jobs: list,
    plan: Any,
    settings: GateSettings,
    run: Any,
    stop_when: Callable[..., bool] | None,
) -> tuple[dict[int, ImageRecord], Any, Any, tuple[str, ...]]:
    """`search(context, jobs, plan, settings, run, stop_when)`, and for `search: certify` the
    proofs after it: (records by position, backend, batch choice, notes for `measured`)."""
    if settings.search != "certify":
        return (*search(context, jobs, plan, settings, run, stop_when), ())
    _check_provable(settings, run.targets)
    from .certify import graph_of

    problem = context.problem
    graph = graph_of(problem.model, problem.images.model_images.shape[1:])
    records, chosen, batch = search(context, jobs, plan, settings, run, stop_when)
    prover = _Prover(context, graph, settings)
    records = prover.prove(records, [job.position for job in jobs], stop_when)
    return records, chosen, batch, (RAY_NOTE,) if run.executor == "ray" else ()


def _check_provable(settings: GateSettings, targets: object) -> None:
    """A proof answers one question: does any single pixel change the predicted class."""
    if settings.pixels != 1 or targets is not None or settings.targeted:
        raise ConfigError(
            "search: certify proves one-pixel untargeted robustness (no value of any single "
            f"pixel changes the class); this gate asks for pixels: {settings.pixels}"
            f"{' and a targeted attack' if targets is not None or settings.targeted else ''}. "
            "Set pixels: 1 and targeted: false, or use search: de."
        )


class _Prover:
    """Proves one attacked image at a time on the real model and maps its ProofRecord."""

    def __init__(self, context: Any, graph: Any, settings: GateSettings) -> None:
        self._context = context
        self._graph = graph
        self._budget = settings.certify_budget

    def prove(
        self,
        records: dict[int, ImageRecord],
        positions: list[int],
        stop_when: Callable[..., bool] | None,
    ) -> dict[int, ImageRecord]:
        """Every attacked record with its outcome; once `stop_when` says the verdict is settled
        (or the search stopped early: a settled failure), the unproven ones become skipped."""
        records = dict(records)
        for i in positions:
            if i in records and records[i].success:
                records[i] = replace(records[i], outcome="fooled", proof=dict(SEARCH_PROOF))
        settled = any(i not in records for i in positions)  # the search's early verdict
        for i in positions:
            if i not in records or records[i].outcome is not None:
                continue
            if not settled and stop_when is not None:
                finished = [records[p] for p in positions if p in records]
                settled = stop_when(finished, len(positions), self._context.accuracy)
            if settled:
                old = records[i]
                records[i] = ImageRecord.unattacked(
                    old.index, old.label, old.clean_correct, old.target, True
                )
                continue
            records[i] = self._proved(i, records[i])
        return records

    def _proved(self, i: int, record: ImageRecord) -> ImageRecord:
        from .certify import certify_images

        images = self._context.problem.images
        image = images.model_images[i : i + 1]
        proof = certify_images(
            self._context.problem.model,
            image,
            [record.label],
            tuple(images.pixel_range),
            integer=images.is_integer,
            certify_budget=self._budget,
            layout=images.model_layout,
            graph=self._graph,
        )[0]
        block = {
            "passes": int(proof.passes),
            "queries": int(proof.queries),
            "boxes": int(proof.boxes),
            "positions_left": int(proof.positions_left),
            "boxes_left": int(proof.boxes_left),
            "found_by": proof.found_by,
        }
        if proof.outcome != "fooled":
            return replace(record, outcome=proof.outcome, proof=block)
        return self._fooled(image[0], record, proof, block)

    def _fooled(
        self, image: np.ndarray, record: ImageRecord, proof: Any, block: dict
    ) -> ImageRecord:
        """The proof's fooling pixel, confirmed by the real model scoring it alone (as the
        search confirms its successes); one it does not reproduce is undecided and rejected."""
        from .certify.queries import with_pixels

        images = self._context.problem.images
        row, col = proof.position
        value = np.asarray(proof.value, dtype=np.float64)
        if images.is_integer:
            value = np.round(value)
        batch = with_pixels(image, images.model_layout, np.array([[row, col]]), value[None])
        probabilities = self._context.score(batch)[0]
        predicted = int(np.argmax(probabilities))
        if predicted == record.label:
            return replace(record, outcome="undecided", proof=block, rejected=True)
        values = tuple(int(v) if images.is_integer else float(v) for v in value)
        return replace(
            record,
            success=True,
            first_success_query=record.queries,
            pixels=((int(row), int(col), values),),
            adversarial_label=predicted,
            adversarial_confidence=float(probabilities[predicted]),
            outcome="fooled",
            proof=block,
        )
