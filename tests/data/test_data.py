"""Held-out data: every source kind, the deterministic sample, and clear errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from pytest_onepixel import DataError, OnePixelWarning, load_data, sample

X = np.arange(10 * 4 * 4, dtype=np.uint8).reshape(10, 4, 4)
Y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 2])


def test_npz_with_default_and_custom_keys(tmp_path) -> None:
    np.savez(tmp_path / "a.npz", x=X, y=Y, class_names=np.array(["a", "b", "c"]))
    data = load_data(tmp_path / "a.npz")
    assert np.array_equal(data.images, X) and np.array_equal(data.labels, Y)
    assert data.class_names == ("a", "b", "c")
    np.savez(tmp_path / "b.npz", images=X, targets=Y)
    data = load_data(tmp_path / "b.npz", x_key="images", y_key="targets")
    assert data.class_names is None and len(data.images) == 10


def test_npy_pair(tmp_path) -> None:
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    for source in (
        {"x": tmp_path / "x.npy", "y": tmp_path / "y.npy"},
        (tmp_path / "x.npy", tmp_path / "y.npy"),
    ):
        assert np.array_equal(load_data(source).labels, Y)


def test_image_folder_with_class_subfolders(tmp_path) -> None:
    for name, value in (("cat", 10), ("dog", 200)):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.full((5, 4, 3), value + i, np.uint8)).save(
                tmp_path / name / f"{i}.png"
            )
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    data = load_data(tmp_path)
    assert data.images.shape == (6, 5, 4, 3) and data.layout == "NHWC"
    assert data.class_names == ("cat", "dog")
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert data.images[4, 0, 0].tolist() == [201] * 3


def test_python_function(tmp_path, monkeypatch) -> None:
    (tmp_path / "holdout_mod.py").write_text(
        "import numpy as np\n"
        "def load():\n    return np.zeros((3, 2, 2)), np.array([0, 1, 0]), ['no', 'yes']\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    data = load_data("holdout_mod:load")
    assert data.class_names == ("no", "yes") and len(data.labels) == 3
    sys.modules.pop("holdout_mod", None)


def test_sample_is_deterministic_and_a_subset(tmp_path) -> None:
    np.savez(tmp_path / "a.npz", x=X, y=Y)
    data = load_data(tmp_path / "a.npz")
    first, again, other = sample(data, 5, seed=3), sample(data, 5, seed=3), sample(data, 5, seed=4)
    assert np.array_equal(first.indices, again.indices)
    assert not np.array_equal(first.indices, other.indices)
    assert len(set(first.indices.tolist())) == 5
    assert np.array_equal(first.images, X[first.indices]) and np.array_equal(
        first.labels, Y[first.indices]
    )


def test_stratified_sample_keeps_class_shares() -> None:
    labels = np.array([0] * 80 + [1] * 15 + [2] * 5)
    data = load_data_from_arrays(np.zeros((100, 2, 2)), labels)
    drawn = sample(data, 20, seed=0, stratified=True)
    assert np.bincount(drawn.labels).tolist() == [16, 3, 1]


def load_data_from_arrays(images, labels):
    from pytest_onepixel.data import Dataset

    return Dataset(images, labels)


def test_samples_larger_than_the_data_uses_all_with_a_warning(tmp_path) -> None:
    np.savez(tmp_path / "a.npz", x=X, y=Y)
    data = load_data(tmp_path / "a.npz")
    with pytest.warns(
        OnePixelWarning, match=r"samples=50 is more than the 10 images in .*a.npz; using all 10"
    ):
        assert len(sample(data, 50).indices) == 10


@pytest.mark.parametrize("samples", [0, -3, 2.5])
def test_samples_must_be_positive(tmp_path, samples) -> None:
    data = load_data_from_arrays(X, Y)
    with pytest.raises(DataError, match="samples must be a positive integer"):
        sample(data, samples)


def test_data_errors(tmp_path) -> None:
    def fails(message: str, source, **options) -> None:
        with pytest.raises(DataError, match=message):
            load_data(source, **options)

    fails(r"data .*nothing.npz does not exist", tmp_path / "nothing.npz")
    np.savez(tmp_path / "keys.npz", images=X, labels=Y)
    fails(
        r"keys.npz has no array named 'x'; it holds \['images', 'labels'\].*x_key",
        tmp_path / "keys.npz",
    )
    np.savez(tmp_path / "short.npz", x=X, y=Y[:7])
    fails(r"short.npz has 10 images but 7 labels", tmp_path / "short.npz")
    np.savez(tmp_path / "floaty.npz", x=X, y=Y * 0.5)
    fails(r"labels .* must be a 1-D array of integers", tmp_path / "floaty.npz")
    (tmp_path / "empty").mkdir()
    fails(r"empty holds no images in class sub-folders", tmp_path / "empty")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    fails(r"junk.npz is not a readable .npz file", tmp_path / "junk.npz")
    (tmp_path / "data.csv").write_text("1,2")
    fails(r"cannot read data from .*data.csv", tmp_path / "data.csv")
    fails(r"cannot import 'no_such_pkg'", "no_such_pkg:load")
    fails(r"\['y'\] missing", {"x": tmp_path / "x.npy"})
    fails(r"data file .*x.npy does not exist", {"x": tmp_path / "x.npy", "y": tmp_path / "y.npy"})
    mixed = tmp_path / "mixed"
    for name, size in (("a", 4), ("b", 5)):
        (mixed / name).mkdir(parents=True)
        Image.fromarray(np.zeros((size, size), np.uint8)).save(mixed / name / "0.png")
    fails(r"the images in .*mixed differ in size", mixed)
