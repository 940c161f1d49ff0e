"""The batch choice remembered per model and machine (engine/batch_store.py): a rerun reads it
instead of timing, and what it reads back is untrusted (issue 21.3)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_onepixel.engine import batch_size
from pytest_onepixel.engine.batch_store import (
    PrefixedStore,
    batch_key,
    entry_problem,
    remembered_batch_size,
)

IMAGES = np.zeros((4, 1, 8, 8), dtype=np.float32)
MODEL = SimpleNamespace(content_hash="abc", description="m")
IDENTITY = (MODEL, SimpleNamespace(name="model", model=MODEL))


class DictStore(dict):
    def get(self, key, default=None):
        return super().get(key, default)

    def set(self, key, value):
        self[key] = value


@pytest.fixture
def timed(monkeypatch) -> list[int]:
    """Calls of 1 ms up to 64 images, slower per image above: the ladder picks 64."""
    calls: list[int] = []

    def fake(predict, batch):
        calls.append(len(batch))
        return 1e-3 if len(batch) <= 64 else len(batch) * 1e-3 / 16

    monkeypatch.setattr(batch_size, "_timed", fake)
    return calls


def test_a_second_choice_is_read_back_without_timing(timed) -> None:
    store = DictStore()
    first = remembered_batch_size(store, IDENTITY, None, IMAGES, None, 10**5, 4096)
    assert not first.from_cache and first.size == 64 and len(store) == 1
    timed.clear()
    second = remembered_batch_size(store, IDENTITY, None, IMAGES, None, 10**5, 4096)
    assert timed == [] and second.from_cache and second.images_scored == 0
    assert (second.size, second.throughput, second.limited_by) == (
        first.size,
        pytest.approx(first.throughput, rel=1e-3),
        first.limited_by,
    )
    assert second.to_json()["from_cache"] is True and "from the cache" in second.reason


def test_the_key_changes_with_what_the_timing_depended_on() -> None:
    key = batch_key(IDENTITY, IMAGES, None, 4096)
    other_model = (SimpleNamespace(content_hash="abd", description="m"), IDENTITY[1])
    twin = (MODEL, SimpleNamespace(name="onnxruntime twin", model=MODEL))
    assert (
        len(
            {
                key,
                batch_key(other_model, IMAGES, None, 4096),
                batch_key(twin, IMAGES, None, 4096),
                batch_key(IDENTITY, IMAGES[:, :, :4], None, 4096),
                batch_key(IDENTITY, IMAGES.astype(np.float64), None, 4096),
                batch_key(IDENTITY, IMAGES, 64, 4096),
                batch_key(IDENTITY, IMAGES, None, 512),
            }
        )
        == 7
    )
    assert batch_key(IDENTITY, IMAGES[:2], None, 4096) == key  # not the sample size


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        {"format": 1, "size": 10**9},
        {"format": 1, "size": True},
        {"format": 1, "size": -4},
        {"format": 1, "size": 64, "throughput": {"64": float("nan")}},
        {
            "format": 1,
            "size": 64,
            "throughput": {"64": 10.0},
            "peak_growth": {"64": 0},
            "reason": "ok\x1b[2J",
            "limited_by": "",
        },
        {"format": 99, "size": 64},
    ],
)
def test_a_bad_entry_is_ignored_timed_again_and_replaced(timed, value) -> None:
    store = DictStore()
    key = batch_key(IDENTITY, IMAGES, None, 4096)
    store[key] = value
    choice = remembered_batch_size(store, IDENTITY, None, IMAGES, None, 10**5, 4096)
    assert not choice.from_cache and timed and choice.size == 64
    assert choice.reason.startswith("cached choice ignored (")
    assert entry_problem(store[key], 4096, 10**5) == ""  # replaced by the new timing


def test_a_choice_cut_short_by_a_small_search_does_not_serve_a_larger_one(monkeypatch) -> None:
    """0.2 s a call of 16: a 100-query attack times 16 alone; a 10^6-query one times again."""
    monkeypatch.setattr(batch_size, "_timed", lambda predict, batch: 0.2 * len(batch) / 16)
    store = DictStore()
    small = remembered_batch_size(store, IDENTITY, None, IMAGES, 64, 100, 4096)
    assert sorted(small.throughput) == [16]
    again = remembered_batch_size(store, IDENTITY, None, IMAGES, 64, 100, 4096)
    assert again.from_cache
    larger = remembered_batch_size(store, IDENTITY, None, IMAGES, 64, 10**6, 4096)
    assert not larger.from_cache and "timed for a smaller search" in larger.reason
    assert sorted(larger.throughput) == [16, 32, 64]


def test_the_prefixed_store_keeps_choices_apart_from_results() -> None:
    inner = DictStore()
    PrefixedStore(inner).set("k", {"a": 1})
    assert inner == {"onepixel/batch/k": {"a": 1}} and PrefixedStore(inner).get("k") == {"a": 1}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    size=st.one_of(st.integers(), JSON),
    rates=st.one_of(st.dictionaries(st.text(max_size=5), JSON, max_size=4), JSON),
    extra=st.dictionaries(st.sampled_from(["reason", "limited_by", "for_queries"]), JSON),
)
def test_whatever_is_read_back_is_a_size_within_the_cap_or_ignored(size, rates, extra) -> None:
    value = {"format": 1, "size": size, "throughput": rates, "peak_growth": {"16": 0}, **extra}
    value.setdefault("reason", "r")
    value.setdefault("limited_by", "")
    if entry_problem(value, 64, 1000) == "":
        from pytest_onepixel.engine.batch_store import from_entry

        choice = from_entry(value)
        assert 1 <= choice.size <= 64 and choice.from_cache
        assert all(1 <= k <= 64 and v > 0 for k, v in choice.throughput.items())
