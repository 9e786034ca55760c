"""The predictor network: shapes, output ranges, and padded frames that change nothing."""

from __future__ import annotations

import pytest
import torch

from audiogen.models.quality import QualityPredictor


@pytest.mark.parametrize("lstm", [True, False])
def test_shapes_and_ranges(lstm: bool) -> None:
    torch.manual_seed(0)
    model = QualityPredictor(8, dim=16, intermediate_dim=24, num_layers=2, lstm=lstm).eval()
    features = 5.0 * torch.randn(3, 8, 37)
    scores, frames = model(features, torch.tensor([37, 20, 1]))
    assert scores.shape == (3, 3) and frames.shape == (3, 3, 37)
    low, high = torch.tensor([1.0, 0.0, 1.0]), torch.tensor([4.64, 1.0, 5.0])
    assert ((frames >= low[:, None]) & (frames <= high[:, None])).all()
    assert ((scores >= low) & (scores <= high)).all()
    assert torch.allclose(scores[1], frames[1, :, :20].mean(dim=-1), atol=1e-6)


@pytest.mark.parametrize("lstm", [True, False])
def test_padded_frames_do_not_change_the_scores(lstm: bool) -> None:
    torch.manual_seed(0)
    model = QualityPredictor(8, dim=16, intermediate_dim=24, num_layers=3, lstm=lstm).eval()
    short = torch.randn(1, 8, 23)
    alone, _ = model(short)
    padded = torch.cat([short, 100.0 * torch.randn(1, 8, 17)], dim=-1)
    batch = torch.cat([padded, torch.randn(1, 8, 40)])
    together, _ = model(batch, torch.tensor([23, 40]))
    assert torch.allclose(together[0], alone[0], atol=1e-5)
    unmasked, _ = model(padded)
    assert not torch.allclose(unmasked[0], alone[0], atol=1e-3)


def test_bad_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="low < high"):
        QualityPredictor(8, output_ranges=((1.0, 1.0),))
