"""Benchmark workloads of realistic size: trained colour-digit CNNs and ResNet-18s, exported.

Run from the repo root: `python bench/workloads.py` (trains on a cache miss: ~30 s for the
small CNN and ~5 min for the CIFAR ResNet-18 on 2 cores; ~20 s once cached). It builds,
exports and checks:

- `colour_cnn()`: networks.SmallCNN trained on colour digits (colour_digits.py, 32x32x3).
- `resnet_cifar()`: the CIFAR-variant ResNet-18 trained briefly on the same data: a network of
  the size people actually gate (11M parameters, 0.56 GFLOPs per 32x32 image), where the model,
  not the engine, dominates the cost of an attack.
- `resnet224()`: the ImageNet-variant ResNet-18 (224x224x3, 1000 classes) with seeded random
  weights, BatchNorm statistics calibrated on `imagenet_like()` images; with
  `imagenet_like(n)` (images + the model's own predictions as labels) it is a speed and memory
  workload at ImageNet size, not a strength one (no ImageNet data ships in a package).

Each network is written to bench/.cache/ as ONNX (opset 17, dynamic batch) and as a torch.export
program (.pt2, dynamic batch), plus its state_dict, under a name keyed by a hash of the code that
makes it (colour_digits.py, networks.py, this module's training/building functions) and its
settings: a change to any of them rebuilds, anything else reuses the files. After building (and
on every run), ONNX Runtime and the .pt2 are compared with the PyTorch module on one batch.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import colour_digits
import networks
import numpy as np
import torch
from torch import nn

SEED = 0
CACHE = Path(__file__).resolve().parent / ".cache"
THREADS = 2
CHECK_BATCH = 16  # images compared across PyTorch, ONNX Runtime and the .pt2 after export


@dataclass(frozen=True)
class TrainSettings:
    """What a training run depends on besides the code; part of the cache key."""

    epochs: int
    batch: int
    lr: float
    weight_decay: float = 5e-4
    subset: int | None = None  # train on the first `subset` training images only


SMALL = TrainSettings(epochs=12, batch=64, lr=3e-3)
RESNET = TrainSettings(epochs=2, batch=64, lr=2e-3)
#: The fragile ResNet-18 (issue 22): one coloured copy of each training digit (no augmented
#: copies) and 2 epochs, 40 steps instead of RESNET's 158, so some one-pixel changes fool it
#: (3 epochs, 60 steps: held-out accuracy 0.959, but the guided default fooled 1 of the first 16
#: images at budget 400).
RESNET_FRAGILE = TrainSettings(epochs=2, batch=64, lr=2e-3, subset=1257)
IMAGENET_CLASSES = 1000
IMAGENET_SIDE = 224
CALIBRATION_IMAGES = 64  # images whose statistics set the random ResNet's BatchNorm layers


@dataclass(frozen=True)
class Built:
    """Paths of one built network and what building it measured."""

    onnx: Path
    pt2: Path
    weights: Path
    info: dict


def _source_hash(*objects: object) -> str:
    """Hash of the source text of modules/functions, so editing the code that makes a network
    invalidates its cached files (settings alone would miss a changed architecture)."""
    digest = hashlib.sha256()
    for item in objects:
        digest.update(inspect.getsource(item).encode())
    return digest.hexdigest()


def _cache_key(name: str, settings: dict, code: tuple[object, ...]) -> str:
    """Names the cached files of one network: its settings, the seed, and the source of the
    code that makes it (`code`, plus the network definitions and exporters and the build and
    seeding functions every network shares)."""
    source = _source_hash(networks, _setup_torch, _build, *code)
    text = json.dumps({"name": name, "settings": settings, "code": source, "seed": SEED})
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _setup_torch() -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)


def train(
    model: nn.Module, images: np.ndarray, labels: np.ndarray, settings: TrainSettings
) -> nn.Module:
    """Seeded AdamW with a one-cycle learning rate, plain cross-entropy; returns the model in
    eval mode. Augmentation is in the data (colour_digits' coloured, shifted copies), not here,
    so the training loop stays the same for every network."""
    if settings.subset is not None:
        images, labels = images[: settings.subset], labels[: settings.subset]
    xs = torch.from_numpy(images.astype(np.float32))
    ys = torch.from_numpy(labels)
    steps = settings.epochs * -(-len(xs) // settings.batch)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(SEED)
    model.train()
    for epoch in range(settings.epochs):
        order = torch.randperm(len(xs), generator=generator)
        total, start = 0.0, time.perf_counter()
        for first in range(0, len(xs), settings.batch):
            batch = order[first : first + settings.batch]
            optimizer.zero_grad()
            loss = loss_fn(model(xs[batch]), ys[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        seconds = time.perf_counter() - start
        mean_loss = total / len(xs)
        print(f"  epoch {epoch + 1}/{settings.epochs}: loss {mean_loss:.4f} ({seconds:.0f} s)")
    return model.eval()


def predict_torch(model: nn.Module, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """Logits of an eval-mode module for uint8/float NCHW images, in batches (no autograd)."""
    outputs = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            chunk = torch.from_numpy(images[start : start + batch].astype(np.float32))
            outputs.append(model(chunk).numpy())
    return np.concatenate(outputs)


def onnx_session(path: Path, threads: int = THREADS):
    """An ONNX Runtime CPU session on `threads` intra-op threads (the benchmarks' setting)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_predict(
    path: Path, threads: int = THREADS, chunk: int = 256
) -> Callable[[np.ndarray], np.ndarray]:
    """A predict function (float32 NCHW batch -> logits) over ONNX Runtime, as measure.py wants.

    Batches are run `chunk` images at a time: measure.exhaustive_success sends 8192 one-pixel
    variants of a 32x32x3 image at once, which would need gigabytes of activations in a
    ResNet-18 and runs no faster than chunks of 256 on 2 cores."""
    session = onnx_session(path, threads)

    def predict(batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32)
        return np.concatenate(
            [
                session.run(None, {networks.INPUT: batch[i : i + chunk]})[0]
                for i in range(0, len(batch), chunk)
            ]
        )

    return predict


def _build(
    name: str,
    settings: dict,
    make: Callable[[], nn.Module],
    example: torch.Tensor,
    code: tuple[object, ...],
) -> Built:
    """Make (train) the network on a cache miss, export it both ways, and write its info.

    `code`: the modules and functions `make` depends on, hashed into the cache key."""
    key = _cache_key(name, settings, code)
    stem = CACHE / f"{name}_{key}"
    built = Built(stem.with_suffix(".onnx"), stem.with_suffix(".pt2"), stem.with_suffix(".pth"), {})
    info_path = stem.with_suffix(".json")
    if all(p.exists() for p in (built.onnx, built.pt2, built.weights, info_path)):
        return Built(built.onnx, built.pt2, built.weights, json.loads(info_path.read_text()))
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"{name}: cache miss ({stem.name}), building")
    _setup_torch()
    start = time.perf_counter()
    model = make().eval()
    build_seconds = time.perf_counter() - start
    torch.save(model.state_dict(), built.weights)
    start = time.perf_counter()
    networks.export_onnx(model, example, built.onnx)
    networks.export_pt2(model, example, built.pt2)
    info = {
        "settings": settings,
        "build_seconds": round(build_seconds, 1),
        "export_seconds": round(time.perf_counter() - start, 1),
    }
    info_path.write_text(json.dumps(info, indent=1))
    return Built(built.onnx, built.pt2, built.weights, info)


def _colour_digits_network(name: str, factory: Callable[[], nn.Module], settings: TrainSettings):
    def make() -> nn.Module:
        x_train, y_train = colour_digits.load("train")
        return train(factory(), x_train, y_train, settings)

    example = torch.zeros(2, 3, 32, 32)
    built = _build(name, asdict(settings), make, example, (colour_digits, train))
    images, labels = colour_digits.load("test")
    return built, images, labels


def colour_cnn() -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """(onnx path, pt2 path, held-out images uint8 (540, 3, 32, 32), labels): the SmallCNN."""
    built, images, labels = _colour_digits_network("colour_cnn", networks.SmallCNN, SMALL)
    return built.onnx, built.pt2, images, labels


def resnet_cifar() -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """(onnx path, pt2 path, held-out images, labels): the CIFAR ResNet-18, briefly trained."""
    built, images, labels = _colour_digits_network(
        "resnet18_cifar", lambda: networks.ResNet18(10, cifar=True), RESNET
    )
    return built.onnx, built.pt2, images, labels


def resnet_fragile() -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """(onnx path, pt2 path, held-out images, labels): the CIFAR ResNet-18 trained without the
    augmented copies and for fewer steps (RESNET_FRAGILE), so one pixel fools some images."""
    built, images, labels = _colour_digits_network(
        "resnet18_fragile", lambda: networks.ResNet18(10, cifar=True), RESNET_FRAGILE
    )
    return built.onnx, built.pt2, images, labels


def imagenet_like(count: int, seed: int = SEED) -> np.ndarray:
    """`count` deterministic 224x224x3 uint8 NCHW images with structure at several scales
    (smooth colour fields from 4x4, 16x16 and 56x56 random grids, bilinearly enlarged, plus
    pixel noise): unlike pure noise, they give a convolutional network's features something
    to respond to, and they cost nothing to store or download."""
    from scipy.ndimage import zoom

    rng = np.random.default_rng([seed, 224])
    side = IMAGENET_SIDE
    images = np.zeros((count, 3, side, side))
    for grid, amplitude in ((4, 90.0), (16, 45.0), (56, 20.0)):
        coarse = rng.normal(0.0, amplitude, (count, 3, grid, grid))
        images += zoom(coarse, (1, 1, side / grid, side / grid), order=1, grid_mode=True,
                       mode="nearest")  # fmt: skip
    images += 118.0 + rng.normal(0.0, 6.0, images.shape)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def _calibrated_random_resnet() -> nn.Module:
    """ImageNet ResNet-18 with seeded random weights whose BatchNorm statistics are set by one
    forward pass in training mode over CALIBRATION_IMAGES imagenet_like images: with identity
    BatchNorm statistics (mean 0, var 1) activations grow through the residual stages and one
    class wins every image, which would make its predictions (the labels) degenerate."""
    model = networks.ResNet18(IMAGENET_CLASSES, cifar=False)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # cumulative average: one pass sets the batch statistics
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(imagenet_like(CALIBRATION_IMAGES, seed=SEED + 1).astype(np.float32)))
    return model.eval()


def resnet224() -> tuple[Path, Path]:
    """(onnx path, pt2 path) of the random-weight ImageNet ResNet-18 (224x224x3, 1000 classes)."""
    settings = {"classes": IMAGENET_CLASSES, "calibration": CALIBRATION_IMAGES}
    example = torch.zeros(2, 3, IMAGENET_SIDE, IMAGENET_SIDE)
    code = (imagenet_like, _calibrated_random_resnet)
    built = _build("resnet18_224", settings, _calibrated_random_resnet, example, code)
    return built.onnx, built.pt2


def resnet224_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    """(`count` imagenet_like images, the random ResNet-18's own top-1 predictions as labels),
    so every image counts as correctly classified and all of them are attacked."""
    onnx_path, _ = resnet224()
    images = imagenet_like(count)
    labels = onnx_predict(onnx_path, chunk=32)(images.astype(np.float32)).argmax(1)
    return images, labels.astype(np.int64)


def module_from_cache(onnx_path: Path) -> nn.Module:
    """The PyTorch module of a built network, rebuilt from the state_dict beside its ONNX file."""
    name = onnx_path.stem.rsplit("_", 1)[0]
    model = {
        "colour_cnn": networks.SmallCNN,
        "resnet18_cifar": lambda: networks.ResNet18(10, cifar=True),
        "resnet18_fragile": lambda: networks.ResNet18(10, cifar=True),
        "resnet18_224": lambda: networks.ResNet18(IMAGENET_CLASSES, cifar=False),
    }[name]()
    model.load_state_dict(torch.load(onnx_path.with_suffix(".pth"), weights_only=True))
    return model.eval()


def check_exports(onnx_path: Path, pt2_path: Path, images: np.ndarray) -> dict[str, float]:
    """Max abs logit difference of ONNX Runtime and of the .pt2 against the PyTorch module on
    `images` (float32 vs float32: differences of ~1e-5 are kernel rounding, not a bad export),
    and the largest logit for scale."""
    batch = images.astype(np.float32)
    reference = predict_torch(module_from_cache(onnx_path), batch)
    from_onnx = onnx_predict(onnx_path)(batch)
    with torch.no_grad():
        from_pt2 = networks.load_pt2(pt2_path)(torch.from_numpy(batch)).numpy()
    return {
        "onnx": float(np.abs(from_onnx - reference).max()),
        "pt2": float(np.abs(from_pt2 - reference).max()),
        "max_abs_logit": float(np.abs(reference).max()),
        "agree_top1": float((from_onnx.argmax(1) == reference.argmax(1)).mean()),
    }


def held_out_accuracy(onnx_path: Path, images: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy of the exported ONNX model, the artefact a gate would load."""
    scores = onnx_predict(onnx_path)(images.astype(np.float32))
    return float((scores.argmax(1) == labels).mean())


def _check_line(check: dict[str, float]) -> str:
    return (
        f"  max |logit diff| vs PyTorch on {CHECK_BATCH} images: onnxruntime {check['onnx']:.2e}, "
        f"pt2 {check['pt2']:.2e} (max |logit| {check['max_abs_logit']:.1f}; top-1 agreement "
        f"{check['agree_top1']:.3f})"
    )


def main() -> None:
    torch.set_num_threads(THREADS)
    for name, build in (("colour_cnn", colour_cnn), ("resnet18_cifar", resnet_cifar)):
        start = time.perf_counter()
        onnx_path, pt2_path, images, labels = build()
        wall = time.perf_counter() - start
        accuracy = held_out_accuracy(onnx_path, images, labels)
        print(
            f"{name}: held-out accuracy {accuracy:.4f} ({len(labels)} images); "
            f"{onnx_path.name}, {pt2_path.name}; build/load {wall:.1f} s"
        )
        print(_check_line(check_exports(onnx_path, pt2_path, images[:CHECK_BATCH])))
    start = time.perf_counter()
    onnx_path, pt2_path = resnet224()
    wall = time.perf_counter() - start
    images, labels = resnet224_images(64)
    print(
        f"resnet18_224: {onnx_path.name}, {pt2_path.name}; build/load {wall:.1f} s; "
        f"{len(set(labels.tolist()))} distinct predicted classes on {len(labels)} images"
    )
    print(_check_line(check_exports(onnx_path, pt2_path, images[:CHECK_BATCH])))


if __name__ == "__main__":
    main()
