"""Held-out data from the files ML repos already keep, and the deterministic sample of a gate.

Sources: an ``.npz`` (keys ``x``/``y`` by default), a pair of ``.npy`` files, a folder with one
sub-folder of images per class (Pillow, extra ``images``), or a ``"package.module:function"``
returning ``(images, labels)`` or ``(images, labels, class_names)``.

An image folder's labels are the class indices of its sub-folders: by default the sub-folders
sorted by name (``cat, dog, zebra`` -> 0, 1, 2, what torchvision's ``ImageFolder`` does), or as
`classes` says (the names in class order, or ``{name: index}``). A model trained with another
order gets the wrong labels, which the gate's clean-accuracy floor then catches.

The sample keeps its random order: the gate attacks it in that order, so any prefix at which an
early verdict stops is itself a random sample of the data.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import validators
from .errors import DataError, OnePixelWarning
from .importing import first_line, import_object, looks_like_spec
from .paths import unreadable_reason

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class Dataset:
    """Images with integer labels; `layout` is set when the source fixes it (image folders)."""

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...] | None = None
    layout: str | None = None
    source: str = ""
    files: tuple[str, ...] | None = None  # each image's file, for an image folder


@dataclass(frozen=True)
class Sample:
    """The images one gate attacks; `indices` are their positions in the dataset (RNG keys)."""

    images: np.ndarray
    labels: np.ndarray
    indices: np.ndarray
    dataset: Dataset


def load_data(
    source: str | Path | Sequence[str | Path] | Mapping[str, str | Path],
    *,
    x_key: str = "x",
    y_key: str = "y",
    classes: Sequence[str] | Mapping[str, int] | None = None,
) -> Dataset:
    """Load held-out images and labels from any supported source (see the module docstring).

    A pair of .npy files is given as ``(x_path, y_path)`` or ``{"x": ..., "y": ...}``.
    `classes` (image folders only) gives each sub-folder's class index: the sub-folder names in
    class order, or a mapping of name to index; by default the sorted names are 0, 1, ...
    """
    if classes is not None:
        classes = _valid_classes(classes)
    if classes is not None and not (
        isinstance(source, (str, Path)) and not looks_like_spec(source) and Path(source).is_dir()
    ):
        raise DataError(
            f"`classes` names an image folder's sub-folders, but data {source} is not a folder "
            "of class sub-folders: its labels are already class indices. Remove `classes`."
        )
    if isinstance(source, Mapping):
        missing = {"x", "y"} - set(source)
        if missing:
            raise DataError(
                f"a pair of .npy files is given as {{x: images.npy, y: labels.npy}}; "
                f"{sorted(missing)} missing in {dict(source)}."
            )
        return _checked(_load_npy(source["x"]), _load_npy(source["y"]), None, None, str(source))
    if isinstance(source, (list, tuple)):
        if len(source) != 2:
            raise DataError(f"a pair of .npy files needs 2 paths; found {len(source)}.")
        return load_data({"x": source[0], "y": source[1]})
    if looks_like_spec(source):
        return _from_function(str(source))
    path = Path(source)
    if path.is_dir():
        return _from_folder(path, classes)
    reason = unreadable_reason(path)
    if reason is not None:
        raise DataError(
            f"data {path} {reason}. Give an .npz file, a pair of .npy files, a folder of "
            "class sub-folders, or 'package.module:function'."
        )
    if path.suffix.lower() == ".npz":
        return _from_npz(path, x_key, y_key)
    raise DataError(
        f"cannot read data from {path}: use an .npz file, a pair of .npy files, a folder of "
        "class sub-folders, or a 'package.module:function' string."
    )


def sample(dataset: Dataset, samples: int, seed: int = 0, *, stratified: bool = False) -> Sample:
    """`samples` images drawn without replacement, in a random order fixed by `seed`.

    Stratified sampling gives each class its share of the sample (largest remainders), so a
    small sample of imbalanced data still covers every class.
    """
    n = len(dataset.labels)
    if not isinstance(samples, (int, np.integer)) or isinstance(samples, bool) or samples <= 0:
        raise DataError(f"samples must be a positive integer; found {samples!r}.")
    if samples > n:
        warnings.warn(
            f"samples={samples} is more than the {n} images in {dataset.source or 'the data'}; "
            f"using all {n}.",
            OnePixelWarning,
            stacklevel=2,
        )
        samples = n
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31,)))
    if stratified:
        indices = rng.permutation(_stratified(dataset.labels, samples, rng))
    else:
        indices = rng.permutation(n)[:samples]
    return Sample(dataset.images[indices], dataset.labels[indices], indices, dataset)


def _stratified(labels: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * samples / len(labels)
    take = np.floor(quota).astype(int)
    remainder_order = np.argsort(-(quota - take), kind="stable")
    take[remainder_order[: samples - take.sum()]] += 1
    chosen = [
        rng.choice(np.flatnonzero(labels == c), size=k, replace=False)
        for c, k in zip(classes, take, strict=True)
    ]
    return np.concatenate(chosen)


def _from_npz(path: Path, x_key: str, y_key: str) -> Dataset:
    _check_magic(path, ZIP_MAGIC, "a readable .npz file", "np.savez(path, x=images, y=labels)")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as error:
        raise DataError(f"{path} is not a readable .npz file ({first_line(error)}).") from None
    if not hasattr(archive, "files"):
        raise DataError(f"{path} holds a single array (.npy content), not an .npz archive.")
    with archive:
        missing = [key for key in (x_key, y_key) if key not in archive.files]
        if missing:
            raise DataError(
                f"{path} has no array named {missing[0]!r}; it holds {archive.files}. Name the "
                "image and label arrays with x_key / y_key (YAML: `x_key`, `y_key`)."
            )
        arrays = {}
        for key in (x_key, y_key, "class_names"):
            if key not in archive.files:
                continue
            try:
                arrays[key] = archive[key]
            except ValueError:
                raise DataError(_object_array_text(path, key)) from None
            except Exception as error:
                raise DataError(
                    f"{path}: array {key!r} cannot be read ({first_line(error)})."
                ) from None
        names = tuple(map(str, arrays["class_names"])) if "class_names" in arrays else None
        return _checked(arrays[x_key], arrays[y_key], names, None, str(path))


def _load_npy(path: str | Path) -> np.ndarray:
    path = Path(path)
    reason = unreadable_reason(path)
    if reason is not None:
        raise DataError(f"data file {path} {reason}. Check the path.")
    _check_magic(path, NPY_MAGIC, "a NumPy array file (.npy)", "np.save(path, array)")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataError(_object_array_text(path, None)) from None
        raise DataError(f"{path} is not a readable .npy file ({first_line(error)}).") from None
    except Exception as error:
        raise DataError(f"{path} is not a readable .npy file ({first_line(error)}).") from None


def _check_magic(path: Path, magic: bytes, kind: str, how: str) -> None:
    """np.load takes a file without its format's leading bytes for a pickle (and refuses it as
    "pickled data"), so a text file named .npy would be called a file of Python objects: look
    at the first bytes first and say what the file is instead."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
    except OSError as error:
        raise DataError(f"data file {path} cannot be read ({error.strerror}).") from None
    if head.startswith(magic):
        return
    if head.startswith(NPY_MAGIC):
        found = "it holds a single array (.npy content), not an .npz archive"
    elif head.startswith(ZIP_MAGIC):
        found = "it is a zip archive (an .npz?), not a single array"
    else:
        found = "it is empty" if not head else f"it starts with {head!r}"
    shown = f"{path} (a link to {path.resolve()})" if path.is_symlink() else f"{path}"
    raise DataError(f"{shown} is not {kind}: {found}. Save the arrays with {how}.")


def _object_array_text(path: Path, key: str | None) -> str:
    what = f"array {key!r} in {path}" if key else f"{path}"
    return (
        f"{what} holds Python objects (dtype object): they are not pixels, and unpickling them "
        "could run code, so they are not loaded. Save the images and labels as numeric arrays "
        "(e.g. images.astype(np.uint8))."
    )


def _from_folder(folder: Path, classes: Sequence[str] | Mapping[str, int] | None) -> Dataset:
    try:
        from PIL import Image
    except ImportError:
        raise DataError(
            f"reading the image folder {folder} needs Pillow: pip install "
            "'pytest-onepixel[images]'."
        ) from None
    indices = _class_indices(
        folder, sorted(d.name for d in folder.iterdir() if d.is_dir()), classes
    )
    files = [
        (label, f)
        for name, label in indices.items()
        for f in sorted((folder / name).iterdir())
        if f.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not files:
        raise DataError(
            f"{folder} holds no images in class sub-folders: put each class's images "
            f"({', '.join(IMAGE_SUFFIXES)}) in a sub-folder named after the class."
        )
    arrays = []
    for _, path in files:
        with Image.open(path) as image:
            grey = image.mode in ("L", "1")
            arrays.append(np.asarray(image.convert("L" if grey else "RGB")))
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DataError(
            f"the images in {folder} differ in size or mode ({sorted(shapes)[:3]}...): resize "
            "them to one size first."
        )
    labels = np.array([label for label, _ in files], dtype=np.int64)
    dataset = _checked(np.stack(arrays), labels, _names(indices, classes), "NHWC", str(folder))
    return replace(dataset, files=tuple(str(path.relative_to(folder)) for _, path in files))


def _valid_classes(classes: object) -> list[str] | dict[str, int]:
    try:
        return validators.classes(list(classes) if isinstance(classes, tuple) else classes)
    except ValueError as error:
        raise DataError(f"`classes` must be {error}; found {classes!r}.") from None


def _names(
    indices: Mapping[str, int], classes: Sequence[str] | Mapping[str, int] | None
) -> tuple[str, ...]:
    """Class names by index (every name `classes` gives, with or without a sub-folder; an
    index no name has is shown as the number)."""
    given = dict(indices)
    if isinstance(classes, Mapping):
        given = dict(classes)
    elif classes is not None:
        given = {name: index for index, name in enumerate(classes)}
    names = [str(i) for i in range(max(given.values()) + 1)]
    for name, index in given.items():
        names[index] = name
    return tuple(names)


def _class_indices(
    folder: Path, found: list[str], classes: Sequence[str] | Mapping[str, int] | None
) -> dict[str, int]:
    """Each sub-folder's class index, in the order the images are read: the sorted names by
    default; else as `classes` says, which must name every sub-folder (an image whose class
    is not given cannot be labelled). A name without a sub-folder is a class with no
    held-out images."""
    if classes is None:
        return {name: index for index, name in enumerate(found)}
    given = classes if isinstance(classes, Mapping) else {n: i for i, n in enumerate(classes)}
    unnamed = [name for name in found if name not in given]
    if unnamed:
        missing = [name for name in given if name not in found]
        hint = f"; `classes` names {missing[:5]}, which are not sub-folders" if missing else ""
        raise DataError(
            f"`classes` does not give the class of the sub-folder(s) {unnamed[:5]} of {folder} "
            f"(its sub-folders: {found[:10]}){hint}. List every sub-folder in `classes`, in "
            "class order or as {name: index}."
        )
    return {name: int(given[name]) for name in sorted(found, key=lambda n: given[n])}


def _from_function(spec: str) -> Dataset:
    function = import_object(spec, "data function", DataError)
    try:
        returned = function()
    except Exception as error:
        raise DataError(f"data function {spec} raised {type(error).__name__}: {error}") from None
    if not isinstance(returned, tuple) or len(returned) not in (2, 3):
        raise DataError(
            f"data function {spec} must return (images, labels) or (images, labels, "
            f"class_names); it returned a {type(returned).__name__}."
        )
    names = tuple(map(str, returned[2])) if len(returned) == 3 else None
    return _checked(np.asarray(returned[0]), np.asarray(returned[1]), names, None, spec)


def _checked(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: tuple[str, ...] | None,
    layout: str | None,
    source: str,
) -> Dataset:
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(
            f"labels in {source} must be a 1-D array of integers; found dtype {labels.dtype} "
            f"and shape {labels.shape}."
        )
    images = np.asarray(images)
    if images.dtype.kind not in "uif":
        raise DataError(
            f"images in {source} must be integer or float pixels; found dtype {images.dtype}. "
            "Save them as a numeric array (e.g. uint8)."
        )
    if images.ndim not in (3, 4):
        raise DataError(
            f"images in {source} must have shape (N, H, W), (N, C, H, W) or (N, H, W, C); found "
            f"shape {images.shape}."
        )
    if len(images) != len(labels):
        raise DataError(
            f"{source} has {len(images)} images but {len(labels)} labels; there must be one "
            "label per image."
        )
    if not len(labels):
        raise DataError(f"{source} holds no images.")
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        bad = np.flatnonzero(~np.isfinite(images.reshape(len(images), -1)).all(axis=1))
        raise DataError(
            f"images in {source} hold NaN or infinite pixel values ({len(bad)} of {len(images)} "
            f"images, the first at position {bad[0]}). Clean or drop those images."
        )
    return Dataset(images, labels.astype(np.int64), class_names, layout, source)
