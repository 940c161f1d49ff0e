"""Adversarial-example pictures: the right examples are chosen, and the changed pixel is visibly
outlined where it is drawn, for grey and colour, integer and float, small and large images.

The marker is checked on the decoded PNG, not on the code that draws it: the clean and the
adversarial cell differ exactly where the changed pixel is shown, and the outline must surround
that place (and be nowhere else).
"""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest

from pytest_onepixel.gate.outcome import Example
from pytest_onepixel.reports.gallery import MARKER, gallery_png, render_examples
from pytest_onepixel.result import ImageRecord

Image = pytest.importorskip("PIL.Image")

CELL_SIDE = 136  # the cell size the gallery promises (CELL plus its border)


def success(
    index: int, pixel: tuple[int, int, tuple[float, ...]], confidence: float, adversarial: int = 1
) -> ImageRecord:
    return ImageRecord(
        index=index,
        label=7,
        clean_correct=True,
        attacked=True,
        success=True,
        queries=40,
        first_success_query=12,
        pixels=(pixel,),
        adversarial_label=adversarial,
        adversarial_confidence=confidence,
    )


def failure(index: int, confidence: float) -> ImageRecord:
    """A failed attack keeps its best try, which the gallery must not show."""
    return ImageRecord(index, 7, True, True, False, 400, None, ((0, 0, (0.0,)),), 7, confidence)


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


rng = np.random.default_rng(0)
#: images (dark enough that a bright pixel stands out, never magenta), layout, pixel range, and
#: one change (row, col, values) per case, away from the diagonal to catch a swapped row/col.
CASES = {
    "8x8 grey uint8": (
        rng.integers(0, 9, size=(2, 8, 8)).astype(np.uint8),
        "NCHW",
        (0.0, 16.0),
        (2, 5, (16.0,)),
    ),
    "28x28 grey float NCHW, corner": (
        rng.uniform(-1.0, 0.0, size=(2, 1, 28, 28)).astype(np.float32),
        "NCHW",
        (-1.0, 1.0),
        (0, 27, (1.0,)),
    ),
    "32x32 colour uint8 NHWC, edge": (
        rng.integers(0, 128, size=(2, 32, 32, 3)).astype(np.uint8),
        "NHWC",
        (0.0, 255.0),
        (31, 10, (255.0, 255.0, 255.0)),
    ),
    "224x224 colour float NCHW": (
        (rng.random(size=(2, 3, 224, 224)) * 0.5).astype(np.float32),
        "NCHW",
        (0.0, 1.0),
        (60, 170, (1.0, 1.0, 1.0)),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_changed_pixel_is_outlined_where_it_is_drawn(case: str) -> None:
    images, layout, pixel_range, (row, col, values) = CASES[case]
    before = images.copy()
    (example,) = render_examples(
        images[:1], layout, [success(0, (row, col, values), 0.9)], pixel_range
    )
    np.testing.assert_array_equal(images, before)  # the adversarial twin is a copy
    clean, adversarial = decode(example.clean_png), decode(example.adversarial_png)
    assert clean.shape == adversarial.shape == (CELL_SIDE, CELL_SIDE, 3)

    shown = np.argwhere((clean != adversarial).any(axis=2))  # where the change is drawn
    assert len(shown), "the adversarial cell does not show the change"
    (top, left), (bottom, right) = shown.min(axis=0), shown.max(axis=0)
    height, width = (
        images.shape[-2:] if layout == "NCHW" and images.ndim == 4 else images.shape[1:3]
    )
    centre = ((top + bottom) / 2 / CELL_SIDE, (left + right) / 2 / CELL_SIDE)
    assert centre == pytest.approx(((row + 0.5) / height, (col + 0.5) / width), abs=0.12)

    for cell in clean, adversarial:
        marker = np.argwhere((cell == MARKER).all(axis=2))
        assert len(marker) >= 20, "no visible outline"
        (m_top, m_left), (m_bottom, m_right) = marker.min(axis=0), marker.max(axis=0)
        # around the change, a few display pixels wide, and nowhere far from it
        assert m_top < top and m_left < left and m_bottom > bottom and m_right > right
        assert min(m_bottom - m_top, m_right - m_left) >= 8
        assert max(top - m_top, left - m_left, m_bottom - bottom, m_right - right) <= 8
    assert adversarial[shown[:, 0], shown[:, 1]].sum() > clean[shown[:, 0], shown[:, 1]].sum()


@pytest.mark.parametrize("case", sorted(CASES))
def test_grey_stays_grey_and_colour_stays_colour(case: str) -> None:
    images, layout, pixel_range, change = CASES[case]
    (example,) = render_examples(images[:1], layout, [success(0, change, 0.9)], pixel_range)
    cell = decode(example.clean_png)
    picture = cell[~(cell == MARKER).all(axis=2)]
    grey = (picture[:, 0] == picture[:, 1]).all() and (picture[:, 1] == picture[:, 2]).all()
    assert grey == ("grey" in case)


@pytest.mark.parametrize(
    ("images", "layout", "pixel_range", "values"),
    [
        (np.full((1, 8, 8), 8, np.uint8), "NCHW", (0, 16), (0.0,)),
        (np.full((1, 3, 32, 32), 0.5, np.float32), "NCHW", (0.0, 1.0), (1.0,) * 3),
        (np.full((1, 224, 224, 3), 0.0, np.float64), "NHWC", (-2.0, 2.0), (2.0,) * 3),
    ],
)
def test_values_are_mapped_from_the_pixel_range_for_display(
    images, layout, pixel_range, values
) -> None:
    """Mid-range values show as mid-grey 128, whatever the dtype and range."""
    (example,) = render_examples(images, layout, [success(0, (0, 0, values), 0.9)], pixel_range)
    middle = decode(example.clean_png)[CELL_SIDE // 2, CELL_SIDE // 2]
    assert tuple(middle) == (128, 128, 128)


def test_the_most_confident_successes_are_chosen_in_order() -> None:
    images = rng.integers(0, 17, size=(6, 8, 8)).astype(np.uint8)
    records = [
        failure(10, 0.99),
        success(11, (1, 1, (16.0,)), 0.6),
        success(12, (2, 2, (16.0,)), 0.95, adversarial=3),
        failure(13, 0.97),
        success(14, (3, 3, (0.0,)), 0.8),
        success(15, (4, 4, (0.0,)), 0.7),
    ]
    files = [f"digits/{i}.png" for i in range(6)]
    names = [f"class {i}" for i in range(10)]
    examples = render_examples(images, "NCHW", records, (0, 16), names, count=3, files=files)
    assert [e.index for e in examples] == [12, 14, 15]
    assert [e.confidence for e in examples] == [0.95, 0.8, 0.7]
    assert (examples[0].label, examples[0].adversarial) == ("class 7", "class 3")
    assert examples[0].file == "digits/2.png"
    assert examples[0].pixels == ((2, 2, (16.0,)),)
    plain = render_examples(images, "NCHW", records, (0, 16))
    assert [(e.label, e.adversarial, e.file) for e in plain[:1]] == [("7", "3", None)]
    assert len(plain) == 4


def test_the_gallery_grows_with_its_examples() -> None:
    images, layout, pixel_range, change = CASES["32x32 colour uint8 NHWC, edge"]
    records = [success(i, change, 0.5 + i / 10) for i in range(2)]
    examples = render_examples(images, layout, records, pixel_range) * 3
    one, many = gallery_png("cifar10", examples[:1]), gallery_png("cifar10", examples)
    small, large = Image.open(io.BytesIO(one)), Image.open(io.BytesIO(many))
    assert small.format == large.format == "PNG"
    assert large.width > small.width and large.height > small.height
    assert small.width >= 2 * CELL_SIDE and small.height > CELL_SIDE
    empty = Image.open(io.BytesIO(gallery_png("cifar10", [])))
    assert empty.width > 0 and empty.height < small.height


def test_examples_round_trip_through_json() -> None:
    images, layout, pixel_range, change = CASES["224x224 colour float NCHW"]
    (example,) = render_examples(images[:1], layout, [success(3, change, 0.875)], pixel_range)
    assert isinstance(example, Example)
    assert Example.from_json(json.loads(json.dumps(example.to_json()))) == example


def test_without_pillow_the_error_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    images, layout, pixel_range, change = CASES["8x8 grey uint8"]
    with pytest.raises(ImportError, match=r"pip install 'pytest-onepixel\[images\]'"):
        render_examples(images, layout, [success(0, change, 0.9)], pixel_range)
