"""Stand-ins for files that earlier recipe stages make and a full config names (a k-means
codebook, an SSL model), so every full.yaml can take one trainer step in CI."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def hubert_inputs(tmp_path: Path) -> list[str]:
    """recipes/ssl/hubert: 100 MFCC units (random centroids of the right shape and spec)."""
    from audiogen.representations.cepstral import MFCC
    from audiogen.representations.units import Codebook

    rng = np.random.default_rng(0)
    Codebook(rng.standard_normal((100, 39)).astype(np.float32), MFCC().spec).save(
        tmp_path / "kmeans")
    return [f"task.targets.kmeans={tmp_path / 'kmeans'}"]


MAKERS = {"ssl/hubert": hubert_inputs}


def overrides_for(config: Path, tmp_path: Path) -> list[str]:
    """Config overrides pointing the full config of ``recipes/<area>/<name>`` at stand-ins."""
    maker = MAKERS.get(f"{config.parent.parent.name}/{config.parent.name}")
    return maker(tmp_path) if maker else []
