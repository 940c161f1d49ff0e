"""Cache entries read back through `run_gate` with an in-memory store: a hit is the stored
records judged again, and an entry whose records cannot be this request's is a miss."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import LinearModel, labelled_images

from pytest_onepixel.gate.run import GateRequest, run_gate
from pytest_onepixel.settings.gate_settings import GateSettings


class Store(dict):
    """A ResultStore that keeps JSON text, as pytest's cache does."""

    def get(self, key, default=None):
        text = super().get(key)
        return default if text is None else json.loads(text)

    def set(self, key, value) -> None:
        self[key] = json.dumps(value)


@pytest.fixture
def many() -> tuple[LinearModel, np.ndarray, np.ndarray]:
    """200 one-channel 6x6 images a linear model classifies, a quarter of them wrong."""
    rng = np.random.default_rng(3)
    images = rng.integers(0, 17, size=(200, 6, 6)).astype(np.uint8)
    model = LinearModel((6, 6), classes=4, seed=4)
    model.scale = 1 / 16
    return (model, *labelled_images(model, images, flip_every=4))


def gate(many, store: Store, full: bool = False, **settings):
    model, images, labels = many
    values = {"budget": 40, "pixel_range": (0, 16), "cache_key": "linear", **settings}
    request = GateRequest(
        name="g",
        settings=GateSettings.from_keywords(lambda key: key, **values),
        model=model,
        images=images,
        labels=labels,
        draw_sample=False,
        cache=store,
        full=full,
    )
    return run_gate(request).outcome


def test_a_hit_is_the_stored_records_judged_again(many) -> None:
    store = Store()
    first = gate(many, store, max_success_rate=0.5)
    second = gate(many, store, max_success_rate=0.5)
    assert second.cached and second.records == first.records
    assert (second.status, second.reasons, second.summary) == (
        first.status,
        first.reasons,
        first.summary,
    )
    assert second.curve == first.curve


def test_an_early_stop_that_does_not_settle_this_gate_is_a_miss(many) -> None:
    """Records cut short by a failing early verdict at threshold 0 are copied onto the key of
    a gate at 0.9: they do not settle it, so the entry is rejected and the gate attacked."""
    store = Store()
    tight = gate(many, store, max_success_rate=0.0)
    assert tight.summary.skipped > 0 and not tight.passed
    (tight_key,) = store
    loose = gate(many, store, max_success_rate=0.9, gate="strict")
    (loose_key,) = set(store) - {tight_key}
    store[loose_key] = store[tight_key]
    again = gate(many, store, max_success_rate=0.9, gate="strict")
    assert not again.cached and again.records == loose.records
    assert any("early stop" in note and "rejected" in note for note in again.notes)


def test_a_settled_early_stop_is_used_for_a_gate_it_settles(many) -> None:
    """The same records settle a gate at 0.005 (they hold more successes than it allows):
    the copied entry is a hit, judged against 0.005."""
    store = Store()
    gate(many, store, max_success_rate=0.0)
    (tight_key,) = store
    gate(many, store, max_success_rate=0.005)
    (other_key,) = set(store) - {tight_key}
    store[other_key] = store[tight_key]
    again = gate(many, store, max_success_rate=0.005)
    assert again.cached and not again.passed and "threshold 0.005" in again.reason


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda e: e["records"][1].update(first_success_query=None, success=True), "first"),
        (lambda e: e["records"][1].update(target=2), "target"),
        (lambda e: e["records"][1].update(label=e["records"][1]["label"] + 1), "label"),
        (lambda e: e["records"][1]["pixels"].append({"row": 0, "col": 0, "values": [1]}), "k"),
        (lambda e: e["records"][1].update(pixels=[{"row": 9, "col": 0, "values": [1]}]), "6x6"),
        (lambda e: e["records"][1].update(pixels=[{"row": 0, "col": 0, "values": [99]}]), "range"),
        (lambda e: e["records"][1].update(queries=True), "int"),
        (lambda e: e["measured"]["model_check"].update(stable=False), "unstable"),
        (lambda e: e["measured"].update(shard={"index": 1, "count": 2}), "shard"),
        (lambda e: e["measured"].update(pixel_range=[0, 255]), "pixel_range"),
        (lambda e: e.update(status="passed"), "status"),
        (lambda e: e.update(format=1), "format"),
        (lambda e: e["model"].update(hash=None), "model"),
    ],
)
def test_records_that_do_not_fit_the_request_are_a_miss(many, change, words) -> None:
    store = Store()
    first = gate(many, store, max_success_rate=0.9, full=True)
    (key,) = store
    entry = json.loads(store[key])
    change(entry)
    store[key] = json.dumps(entry)
    again = gate(many, store, max_success_rate=0.9, full=True)
    assert not again.cached and again.records == first.records
    (note,) = [n for n in again.notes if n.startswith("cache entry")]
    assert words in note and note.endswith("attacked again")


def test_a_shard_hit_is_a_shard_again(many) -> None:
    """A shard's records come back as the shard they are (no verdict of their own); the same
    entry under another shard's key does not fit."""
    model, images, labels = many
    store = Store()

    def shard(index: int):
        request = GateRequest(
            name="g",
            settings=GateSettings.from_keywords(
                lambda key: key, budget=40, pixel_range=(0, 16), cache_key="linear",
                max_success_rate=0.5,
            ),
            model=model, images=images, labels=labels, draw_sample=False, cache=store,
            shard=(index, 2),
        )  # fmt: skip
        return run_gate(request).outcome

    first, second = shard(1), shard(1)
    assert second.cached and second.status == first.status and second.shard == first.shard
    (one,) = store
    other = shard(2)
    (two,) = set(store) - {one}
    store[two] = store[one]
    again = shard(2)
    assert not again.cached and again.records == other.records
    assert any("shard" in note for note in again.notes if note.startswith("cache entry"))
