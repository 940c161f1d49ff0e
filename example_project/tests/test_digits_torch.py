"""The release model as PyTorch (a torch.export archive), gated from Python with the marker and
fixture. Needs torch: pip install 'pytest-onepixel[torch]' -c constraints.txt; pytest -m torch."""

from pathlib import Path

import pytest

from pytest_onepixel import load_data, sample

HERE = Path(__file__).resolve().parent.parent


@pytest.mark.torch
@pytest.mark.onepixel(max_success_rate=0.30, budget=400)
def test_digits_cnn_pytorch_export(onepixel):
    held_out = sample(load_data(HERE / "data" / "holdout.npz"), 200, seed=0)
    result = onepixel.check(
        HERE / "models" / "digits.pt2",
        held_out.images,
        held_out.labels,
        indices=held_out.indices,  # the same RNG keys as the YAML gate: identical records
        pixel_range=(0, 16),
    )
    assert result.clean_accuracy > 0.95
