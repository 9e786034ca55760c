"""Unit error rate (UER): does converted speech keep the content of its source?

Both signals are mapped to k-means units of SSL features (a folder from ``audiogen units
fit``), each sequence is run-length deduplicated, and the Levenshtein distance between them
(rapidfuzz) is divided by the length of the deduplicated reference, as a word error rate is:
0 for the same content, and it can exceed 1. It needs no transcripts, so it serves any language
and corpus the units were fit on.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from audiogen.errors import ConfigError
from audiogen.eval.base import RESAMPLER, Metric, Score, Scorer, array_key, library, to_rate
from audiogen.representations.units import META, deduplicate, load_units

UER = Metric("uer", "Unit error rate: edit distance between the deduplicated SSL k-means units "
             "of the generated and the reference audio over the reference's deduplicated "
             "length", False, True, None, "units")
METRICS = (UER,)


def unit_error_rate(hyp_units: Sequence[int] | np.ndarray, ref_units: Sequence[int] | np.ndarray
                    ) -> float:
    """Levenshtein distance between the run-length deduplicated (frames,) unit sequences over
    the deduplicated reference's length; a ValueError for an empty reference."""
    from rapidfuzz.distance import Levenshtein

    hypothesis = deduplicate(np.asarray(hyp_units))[0].tolist()
    reference = deduplicate(np.asarray(ref_units))[0].tolist()
    if not reference:
        raise ValueError("unit error rate of an empty reference unit sequence")
    return Levenshtein.distance(hypothesis, reference) / len(reference)


class UnitErrorRate(Scorer):
    """UER with the units of one k-means folder (loaded once with its SSL model, whose rate
    the signals are resampled to); unit sequences of identical signals (a source shared by
    several systems) are cached."""

    def __init__(self, metrics: Sequence[Metric], kmeans: str | os.PathLike | None = None,
                 ssl: str | os.PathLike | None = None, cache_size: int = 512) -> None:
        super().__init__(metrics)
        if kmeans is None:
            raise ConfigError("uer needs k-means units: pass units_kmeans=DIR (a folder from "
                              "'audiogen units fit'), and units_ssl=MODEL when its SSL model "
                              "is a local folder")
        self.path = Path(kmeans)
        if not (self.path / META).is_file():
            raise ConfigError(f"units_kmeans {self.path}: not a k-means folder (no {META}; "
                              "make one with 'audiogen units fit')")
        try:
            self.units = load_units(self.path, ssl)
        except ConfigError as error:
            if ssl is not None:
                raise
            raise ConfigError(f"{error}; pass units_ssl=MODEL, the SSL model the units of "
                              f"{self.path} were fit on") from None
        self.sample_rate = int(self.units.sample_rate)
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def unit_sequence(self, wave: np.ndarray, sample_rate: int) -> np.ndarray:
        """(frames,) unit ids of a (T,) signal at ``sample_rate`` (cached by content)."""
        key = array_key(wave) + sample_rate.to_bytes(8, "little")
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        resampled = to_rate(wave, sample_rate, self.sample_rate).astype(np.float32)
        units = self.units.units(torch.from_numpy(np.ascontiguousarray(resampled))[None])
        self._cache[key] = units[0].numpy()
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return self._cache[key]

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        if reference is None:
            raise ValueError("uer needs the reference (source) signal")
        return {"uer": unit_error_rate(self.unit_sequence(generated, sample_rate),
                                       self.unit_sequence(reference, sample_rate))}

    def card(self, name: str) -> dict[str, Any]:
        features = self.units.features.spec
        model = (f"{features.get('model')} layer {features.get('layer')}"
                 if features.get("type") == "ssl" else str(features.get("type")))
        checksums = [f"k-means sha256 {self.units.codebook.sha256}"]
        if "checkpoint_sha256" in features:
            checksums.append(f"ssl weights sha256 {features['checkpoint_sha256']}")
        return {**library("torch", "transformers", "rapidfuzz"), "sample_rate": self.sample_rate,
                "resampler": RESAMPLER,
                "mode": f"K={self.units.num_units} k-means units ({self.path}) of {model}, "
                        "run-length deduplicated; rapidfuzz Levenshtein distance over the "
                        "deduplicated reference length",
                "alignment": "none needed (edit distance of unit sequences; the pair is "
                             "trimmed to the shorter signal when loaded)",
                "embedding_model": model, "checksum": "; ".join(checksums)}
