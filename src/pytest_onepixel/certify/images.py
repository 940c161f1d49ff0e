"""`certify_images`: the public entry of the proof search, for the gate's `search: certify`.

It takes the plugin's own models (TorchModel, OnnxModel, either behind a PreprocessedModel),
converts the model once into a provable graph (graph.py), checks that the graph computes what
the model computes on the images given, and runs one proof search per image (proof.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError, UnsupportedOpError
from .bounds import largest_activation
from .convert import graph_of
from .graph import Graph
from .proof import ImageProof, ProofRecord

#: Model-pass equivalents one image's proof may spend. On a 32 x 32 x 3 image one bound of every
#: position costs 1,024 x 32 passes; on the bench's colour CNN the 40 attacked images measured
#: took 0.5M passes on average and 1.5M at most to decide (bench/certify.md), digits about 1,000.
DEFAULT_CERTIFY_BUDGET = 4_000_000
#: Memory for one chunk of boxes' linear bounds (float64, both lines, with temporaries).
DEFAULT_BOUND_MEMORY_MB = 256
_TEMPORARIES = 6


def certify_images(
    model: object,
    images: np.ndarray,
    labels: Sequence[int],
    pixel_range: tuple[float, float],
    *,
    integer: bool,
    certify_budget: int = DEFAULT_CERTIFY_BUDGET,
    layout: str | None = None,
    bound_memory_mb: int = DEFAULT_BOUND_MEMORY_MB,
    graph: Graph | None = None,
    cone: bool | None = None,
    box_cost: int | None = None,
) -> list[ProofRecord]:
    """One `ProofRecord` per image: `fooled`, `certified` or `undecided`.

    Parameters
    ----------
    model : a plugin Model (its `predict` is the ground truth of every `fooled` outcome); it
        must be a TorchModel, an OnnxModel, or one of them behind a PreprocessedModel, so that
        its graph can be read (unsupported ops raise UnsupportedOpError naming op and node).
    images : (N, C, H, W) or (N, H, W, C) array in the layout the model's predict takes,
        each classified as `labels[i]` by the model (the attacked set).
    pixel_range : (low, high), the values any single pixel's channels may take.
    integer : the data are integers: only integer colours count, the search ends at integer
        resolution and evaluates what is left exactly.
    certify_budget : model-pass equivalents per image (proof.py says how work is counted);
        an image whose search would pass it is `undecided`.
    layout : "NCHW" or "NHWC"; default the model's own layout, else NCHW.
    bound_memory_mb : memory for the bounds of one chunk of boxes (chunks are sized by it).
    graph : a graph already converted from this model (saves converting it again).
    cone : bound only each pixel's receptive-field cone (margins.bound_boxes; same bounds,
        less work on big images); None chooses by image size.
    box_cost : model-pass equivalents charged per bounded box (default proof.box_cost(C)).
    """
    images = np.asarray(images)
    layout = layout or getattr(model, "layout", None) or "NCHW"
    if images.ndim != 4 or layout not in ("NCHW", "NHWC"):
        raise InputError(
            f"search 'certify' needs (N, C, H, W) or (N, H, W, C) images in the model's layout; "
            f"found shape {images.shape} with layout {layout!r}."
        )
    labels = np.asarray(labels, dtype=np.int64)
    graph = graph or graph_of(model, images.shape[1:])
    check_graph(graph, model, images, labels)
    channels = images.shape[1] if layout == "NCHW" else images.shape[3]
    per_box = 8 * (channels + 1) * 2 * _TEMPORARIES * largest_activation(graph, images[0])
    chunk = max(1, bound_memory_mb * 2**20 // per_box)
    return [
        ImageProof(
            graph,
            model,
            image,
            int(label),
            layout,
            pixel_range,
            integer,
            certify_budget,
            chunk,
            cone,
            box_cost,
        ).run()
        for image, label in zip(images, labels, strict=True)
    ]


def check_graph(graph: Graph, model: object, images: np.ndarray, labels: np.ndarray) -> None:
    """The converted graph must score the images as the model does (a graph that does not is a
    converter bug or an unsupported model, never a proof), and the model must classify them as
    labelled (certify proves attacked images only)."""
    batches = [images[s : s + 256].astype(np.float32) for s in range(0, len(images), 256)]
    scores = np.concatenate([np.asarray(model.predict(b), dtype=np.float64) for b in batches])
    wrong = np.flatnonzero(scores.argmax(1) != labels)
    if len(wrong):
        raise InputError(
            f"images {wrong[:10].tolist()} are not classified as labelled; search 'certify' "
            "proves only the attacked set (images the model classifies correctly)."
        )
    logits = np.concatenate([graph.run(b).numpy() for b in batches])
    if not any(_close(exact, scores) for exact in _candidates(logits, graph.softmax_dropped)):
        raise UnsupportedOpError(
            "search 'certify' converted the model to a graph whose scores differ from the "
            "model's own (an output selection, a layout change or an op it mis-read); use "
            "`search: de` for this model, and report it."
        )


def _candidates(logits: np.ndarray, softmax_dropped: bool) -> list[np.ndarray]:
    """What the model may output: the logits, or (a softmax was dropped) probabilities or
    log-probabilities."""
    if not softmax_dropped:
        return [logits]
    shifted = logits - logits.max(1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    return [np.exp(log_probabilities), log_probabilities]


def _close(exact: np.ndarray, scores: np.ndarray) -> bool:
    scale = max(float(np.abs(scores).max()), 1e-6)
    return exact.shape == scores.shape and np.allclose(exact, scores, rtol=1e-3, atol=1e-3 * scale)
