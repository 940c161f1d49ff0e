"""Measurements the benchmarks share: the machine, raw model throughput, exhaustive search."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence

import numpy as np
import onnxruntime
import torch

import pytest_onepixel

Predict = Callable[[np.ndarray], np.ndarray]
RAW_BATCH = 4096
RAW_BATCHES = (256, 1024, RAW_BATCH)


def machine() -> str:
    """One line naming the machine and the versions, so numbers can be compared across runs."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{platform.platform()}, {platform.machine()}, nproc {cores}; Python "
        f"{platform.python_version()}, numpy {np.__version__}, onnxruntime "
        f"{onnxruntime.__version__}, torch {torch.__version__}, pytest-onepixel "
        f"{pytest_onepixel.__version__}"
    )


def raw_throughput(
    predict: Predict, shape: tuple[int, ...], high: int, seconds: float = 1.0
) -> float:
    """Images/s of the bare model on random pixels in 0..high: the best of batches of 256,
    1024 and 4096 images (large batches can be slower on CPU once activations leave the cache,
    so one size would flatter the engine)."""
    rng = np.random.default_rng(0)
    best = 0.0
    for size in RAW_BATCHES:
        batch = rng.integers(0, high + 1, (size, *shape)).astype(np.float32)
        predict(batch)  # warm-up: the first run allocates and plans
        calls, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            predict(batch)
            calls += 1
        best = max(best, calls * size / elapsed)
    return best


def exhaustive_success(
    predict: Predict, images: np.ndarray, labels: np.ndarray, colours: Sequence[Sequence[float]]
) -> np.ndarray:
    """Per NCHW image, whether any one-pixel change (every position x every colour in
    `colours`) is misclassified: the strength limit no one-pixel attack can beat over that set.

    Builds the variants of a few images at once so the model sees batches of ~4096 images.
    """
    _, channels, height, width = images.shape
    palette = np.asarray(colours, dtype=np.float32).reshape(-1, channels)
    rows, cols, which = (
        a.ravel()
        for a in np.meshgrid(
            np.arange(height), np.arange(width), np.arange(len(palette)), indexing="ij"
        )
    )
    variants = len(rows)
    group = max(1, RAW_BATCH // variants)
    fooled = np.zeros(len(images), dtype=bool)
    for start in range(0, len(images), group):
        chunk = images[start : start + group].astype(np.float32)
        batch = np.repeat(chunk[:, None], variants, axis=1)  # (g, variants, C, H, W)
        # Advanced indices split by the channel slice put the variant axis first: (v, g, C).
        batch[:, np.arange(variants), :, rows, cols] = palette[which][:, None, :]
        predicted = predict(batch.reshape(-1, *images.shape[1:])).argmax(axis=1)
        wrong = predicted.reshape(len(chunk), variants) != labels[start : start + group, None]
        fooled[start : start + group] = wrong.any(axis=1)
    return fooled
