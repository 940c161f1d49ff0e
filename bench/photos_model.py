"""A CIFAR-size (32x32x3, 10 classes) stand-in built from real photographs that ship in packages.

No package on the registries ships CIFAR-10 itself (every loader downloads it, which this
project may not do). The best stand-in we found with real colour images: the ten colour
photographs bundled in scikit-learn (`load_sample_images`: china, flower) and scikit-image
(`skimage.data`: astronaut, chelsea, coffee, hubble_deep_field, immunohistochemistry,
stereo_motorcycle's left view, retina, rocket). Each photo is scaled to 128 pixels on its short
side; the task is to tell which photo a 32x32 crop comes from. Training crops come from the left
three quarters of each photo, held-out crops from the right quarter, so no held-out pixel was
seen in training.

It is a texture/colour recognition task rather than CIFAR's object categories, but it has
CIFAR's input format (uint8 RGB 32x32), ten classes, real pixel statistics, and a small CNN of
CIFAR size trained on it, which is what the engine's speed and strength depend on.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

SEED = 0
SIDE = 128
CROP = 32
TRAIN_CROPS = 600  # per photo
TEST_CROPS = 60  # per photo
EPOCHS = 20
CACHE = Path(__file__).resolve().parent / ".cache"
SKIMAGE_PHOTOS = (
    "astronaut", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry",
    "stereo_motorcycle", "retina", "rocket",
)  # fmt: skip


def photos() -> list[tuple[str, np.ndarray]]:
    """The ten photos as uint8 (H, W, 3), short side scaled to SIDE pixels."""
    from skimage import data
    from skimage.transform import resize
    from sklearn.datasets import load_sample_images

    sklearn_images = load_sample_images()
    named = [
        (Path(name).stem, image)
        for name, image in zip(sklearn_images.filenames, sklearn_images.images, strict=True)
    ]
    for name in SKIMAGE_PHOTOS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = getattr(data, name)()
        named.append((name, loaded[0] if name == "stereo_motorcycle" else loaded))
    scaled = []
    for name, image in named:
        image = image[..., :3]
        factor = SIDE / min(image.shape[:2])
        shape = (round(image.shape[0] * factor), round(image.shape[1] * factor), 3)
        small = resize(image, shape, anti_aliasing=True, preserve_range=True)
        scaled.append((name, np.clip(np.rint(small), 0, 255).astype(np.uint8)))
    return scaled


def crops(image: np.ndarray, count: int, columns: slice, rng: np.random.Generator) -> np.ndarray:
    """`count` random CROP x CROP crops whose columns lie within `columns`, as (N, 3, 32, 32)."""
    height, width = image.shape[:2]
    first, last = columns.indices(width)[:2]
    rows = rng.integers(0, height - CROP + 1, count)
    cols = rng.integers(first, last - CROP + 1, count)
    patches = np.stack([image[r : r + CROP, c : c + CROP] for r, c in zip(rows, cols, strict=True)])
    return patches.transpose(0, 3, 1, 2)


def dataset() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(train x, train y, test x, test y, class names); x uint8 NCHW (N, 3, 32, 32)."""
    rng = np.random.default_rng(SEED)
    parts: dict[str, list] = {"xtr": [], "ytr": [], "xte": [], "yte": []}
    names = []
    for label, (name, image) in enumerate(photos()):
        names.append(name)
        split = image.shape[1] * 3 // 4
        parts["xtr"].append(crops(image, TRAIN_CROPS, slice(0, split), rng))
        parts["xte"].append(crops(image, TEST_CROPS, slice(split, None), rng))
        parts["ytr"].append(np.full(TRAIN_CROPS, label))
        parts["yte"].append(np.full(TEST_CROPS, label))
    x_train, y_train, x_test, y_test = (
        np.concatenate(parts[k]) for k in ("xtr", "ytr", "xte", "yte")
    )
    return x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64), names


def photos_onnx() -> tuple[Path, np.ndarray, np.ndarray]:
    """(onnx path, held-out crops uint8 (N, 3, 32, 32), labels); trains on a cache miss."""
    x_train, y_train, x_test, y_test, _ = dataset()
    settings = {"seed": SEED, "side": SIDE, "epochs": EPOCHS, "train": TRAIN_CROPS, "v": 1}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    path = CACHE / f"photos_cnn_{key}.onnx"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        _train_and_export(x_train, y_train, x_test, y_test, path)
    return path, x_test, y_test


def _train_and_export(x_train, y_train, x_test, y_test, path: Path) -> None:
    import torch
    from torch import nn

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)

    class PhotosCNN(nn.Module):
        """CIFAR-size CNN: 3x(conv, relu, pool) then two dense layers, on raw 0..255 pixels."""

        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.Sequential(
                nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(64 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10),
            )  # fmt: skip

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layers(x / 255.0)

    model = PhotosCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    xs, ys = torch.from_numpy(x_train.astype(np.float32)), torch.from_numpy(y_train)
    generator = torch.Generator().manual_seed(SEED)
    for _ in range(EPOCHS):
        order = torch.randperm(len(xs), generator=generator)
        for start in range(0, len(xs), 64):
            batch = order[start : start + 64]
            flip = torch.rand(len(batch), generator=generator) < 0.5
            inputs = torch.where(flip[:, None, None, None], xs[batch].flip(3), xs[batch])
            optimizer.zero_grad()
            loss_fn(model(inputs), ys[batch]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(x_test.astype(np.float32))).argmax(1).numpy()
    print(f"photos CNN trained: held-out accuracy {(predicted == y_test).mean():.4f}")
    temporary = path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.zeros(2, 3, CROP, CROP),),
            str(temporary),
            dynamo=False,
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
        )
    temporary.replace(path)
