"""An image folder's class order: sorted sub-folder names by default, or `classes` (the names
in class order, or {name: index}); a bad `classes` is a DataError naming the key."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pytest_onepixel import DataError, load_data

NAMES = ("zebra", "ant", "mouse")  # class 0, 1, 2: sorted, they read ant, mouse, zebra


@pytest.fixture
def folder(tmp_path):
    for index, name in enumerate(NAMES):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.fromarray(np.full((4, 4), 10 * index + i, np.uint8)).save(
                tmp_path / name / f"{i}.png"
            )
    return tmp_path


def labels_by_folder(data) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for file, label in zip(data.files, data.labels.tolist(), strict=True):
        found.setdefault(file.split("/")[0], set()).add(label)
    return found


def test_default_order_is_the_sorted_names(folder) -> None:
    data = load_data(folder)
    assert data.class_names == ("ant", "mouse", "zebra")
    assert labels_by_folder(data) == {"ant": {0}, "mouse": {1}, "zebra": {2}}


def test_a_list_gives_the_class_order(folder) -> None:
    data = load_data(folder, classes=list(NAMES))
    assert data.class_names == NAMES
    assert labels_by_folder(data) == {"zebra": {0}, "ant": {1}, "mouse": {2}}
    zebra = [i for i, f in enumerate(data.files) if f.startswith("zebra")]
    assert data.images[zebra, 0, 0].tolist() == [0, 1]  # images stay with their files


def test_a_mapping_gives_each_index(folder) -> None:
    data = load_data(folder, classes={"ant": 4, "zebra": 0, "mouse": 7})
    assert labels_by_folder(data) == {"zebra": {0}, "ant": {4}, "mouse": {7}}
    assert data.class_names[0] == "zebra" and data.class_names[4] == "ant"
    assert data.class_names[7] == "mouse" and data.class_names[1] == "1"


def test_names_without_a_sub_folder_are_classes_without_images(folder) -> None:
    data = load_data(folder, classes=[*NAMES, "whale"])
    assert data.class_names == (*NAMES, "whale") and set(data.labels.tolist()) == {0, 1, 2}


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        (["zebra", "ant"], r"`classes` does not give the class of the sub-folder\(s\) \['mouse'\]"),
        (["zebra", "ant", "mose"], r"\['mouse'\].*`classes` names \['mose'\], which are not"),
        (["zebra", "zebra"], r"`classes` must be the sub-folder names in class order"),
        ({"zebra": 0, "ant": 0, "mouse": 1}, r"`classes` must be .*each name and index once"),
        ({"zebra": -1}, r"`classes` must be"),
        ("zebra", r"`classes` must be .*found 'zebra'"),
        ([], r"`classes` must be"),
    ],
)
def test_bad_classes_name_the_key(folder, classes, message) -> None:
    with pytest.raises(DataError, match=message):
        load_data(folder, classes=classes)


def test_classes_on_arrays_is_an_error(tmp_path) -> None:
    np.savez(tmp_path / "a.npz", x=np.zeros((2, 4, 4), np.uint8), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"`classes` names an image folder's sub-folders.*a.npz"):
        load_data(tmp_path / "a.npz", classes=["a", "b"])
