"""Tiny models shared by the tests.

`LinearModel` scores each image with elementwise products and a sum over a fixed axis, so an
image's scores do not depend on which other images share its batch (a BLAS matmul may change in
the last bit with the batch size, which would hide the determinism the engine promises).
"""

from __future__ import annotations

import textwrap

import numpy as np

# pytester's in-process runs drop the modules first imported inside them; C extensions cannot
# be loaded twice (torch segfaults, onnx loses its checker), so load what the gates import
# lazily up front, whichever test file runs first or alone.
import onnx  # noqa: F401
import onnxruntime  # noqa: F401
import pytest
import scipy.stats  # noqa: F401
import torch


class LinearModel:
    """Linear logits over the flattened image; counts the images it has scored."""

    def __init__(self, image_shape: tuple[int, ...], classes: int = 4, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.weights = rng.normal(size=(int(np.prod(image_shape)), classes))
        self.scale = 1.0
        self.images_seen = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.images_seen += len(batch)
        flat = batch.reshape(len(batch), -1).astype(np.float64)
        return (flat[:, :, None] * self.weights[None]).sum(axis=1) * self.scale


def labelled_images(
    model: LinearModel, images: np.ndarray, flip_every: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Labels the model gets right (every `flip_every`-th one wrong, to exercise clean accuracy)."""
    labels = model(images.astype(np.float32)).argmax(axis=1)
    model.images_seen = 0
    if flip_every:
        labels[::flip_every] = (labels[::flip_every] + 1) % model.weights.shape[1]
    return images, labels


@pytest.fixture
def digits_like() -> tuple[LinearModel, np.ndarray, np.ndarray]:
    """Twenty 6x6 one-channel uint8 images in 0..16 with a 4-class linear model."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 17, size=(20, 6, 6)).astype(np.uint8)
    model = LinearModel((6, 6), classes=4, seed=2)
    model.scale = 1 / 16
    return (model, *labelled_images(model, images))


@pytest.fixture(scope="session")
def gate_assets(tmp_path_factory) -> dict[str, bytes]:
    """An ONNX model (the exact-arithmetic TinyNet) and a held-out .npz it mostly gets right."""
    import warnings

    from tinynet import make

    folder = tmp_path_factory.mktemp("gate_assets")
    net = make()
    rng = np.random.default_rng(5)
    images = rng.integers(0, 17, size=(40, 1, 6, 6)).astype(np.uint8)
    with torch.no_grad():
        labels = net(torch.from_numpy(images.astype(np.float32))).argmax(1).numpy()
    labels[::8] = (labels[::8] + 1) % 3
    np.savez(folder / "holdout.npz", x=images, y=labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (torch.from_numpy(images[:2].astype(np.float32)),),
            str(folder / "tiny.onnx"),
            dynamo=False,
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_axes={"pixels": {0: "n"}, "logits": {0: "n"}},
        )
    return {name: (folder / name).read_bytes() for name in ("tiny.onnx", "holdout.npz")}


#: Two gates on the tiny model; the `continuous` preset (the 0.1 default search) keeps the
#: numbers some tests pin (7 of 16 images fooled at budget 20) independent of the default's.
CHECK_PREAMBLE = """
import numpy as np
import pytest

rng = np.random.default_rng(1)
WEIGHTS = rng.normal(size=(36, 3))
IMAGES = rng.integers(0, 17, size=(30, 6, 6)).astype(np.uint8)

def model(batch):
    flat = batch.reshape(len(batch), -1).astype(np.float64)
    return (flat[:, :, None] * WEIGHTS[None]).sum(axis=1) / 16

LABELS = model(IMAGES.astype(np.float32)).argmax(axis=1)
"""
"""The top of a test file for `onepixel.check()`: a seeded linear model on 30 grey 6x6 images
and the labels it predicts for them."""


GATES = """\
defaults: {samples: 20, pixel_range: [0, 16], preset: continuous}
models:
  - name: tiny-pass
    model: models/tiny.onnx
    data: data/holdout.npz
    max_success_rate: 1.0
  - name: tiny-fail
    model: models/tiny.onnx
    data: data/holdout.npz
    max_success_rate: 0.0
"""


@pytest.fixture
def repo(pytester: pytest.Pytester, gate_assets: dict[str, bytes]) -> pytest.Pytester:
    """A small ML repo: an ONNX model, held-out data, and room for a onepixel.yaml."""
    (pytester.path / "models").mkdir()
    (pytester.path / "data").mkdir()
    (pytester.path / "models" / "tiny.onnx").write_bytes(gate_assets["tiny.onnx"])
    (pytester.path / "data" / "holdout.npz").write_bytes(gate_assets["holdout.npz"])
    return pytester


def write_gates(repo: pytest.Pytester, text: str = GATES, name: str = "onepixel.yaml") -> None:
    (repo.path / name).write_text(textwrap.dedent(text))


def measured(**changes: object):
    """A plausible `Measured` block for outcomes a test builds by hand."""
    from pytest_onepixel.result import Measured

    fields = {
        "batch": {"size": 16},
        "backend": "model",
        "twin": {},
        "model_check": {"stable": True},
        "preset": "default",
        "popsize": 20,
        "generations": 4,
        "layout": "NCHW",
        "data_layout": "NCHW",
        "pixel_range": (0.0, 16.0),
    }
    return Measured(**{**fields, **changes})
