"""Diagnostics of discrete units: codebook usage, entropy, rates, purity and PNMI.

Purity and PNMI follow HuBERT (Hsu et al. 2021, section IV-D) on the joint distribution
p(y, z) of frame labels y and units z: label purity E_z[max_y p(y|z)], cluster purity
E_y[max_z p(z|y)], and phone-normalised mutual information I(y; z) / H(y).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np


def entropy_bits(counts: np.ndarray) -> float:
    """Shannon entropy in bits of the distribution proportional to ``counts``."""
    p = np.asarray(counts, dtype=np.float64)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log2(p)).sum())


def usage_statistics(sequences: Sequence[np.ndarray], num_units: int, frame_rate: float
                     ) -> dict[str, Any]:
    """Usage, entropy and rates of (frames,) unit sequences at ``frame_rate`` frames/s.

    Rates are given for the raw sequences and after run-length deduplication; the bitrate is
    units/s x log2 K (a fixed-length code) and units/s x entropy (an ideal code of the unigram
    distribution).
    """
    counts = np.zeros(num_units, dtype=np.int64)
    runs = 0
    frames = 0
    for units in sequences:
        units = np.asarray(units)
        counts += np.bincount(units, minlength=num_units)[:num_units]
        frames += units.size
        runs += int(units.size and 1 + np.count_nonzero(units[1:] != units[:-1]))
    seconds = frames / frame_rate if frame_rate else 0.0
    entropy = entropy_bits(counts)
    dedup_rate = runs / seconds if seconds else 0.0
    return {"num_units": num_units, "used_units": int(np.count_nonzero(counts)),
            "usage": float(np.count_nonzero(counts) / num_units), "entropy_bits": entropy,
            "perplexity": float(2.0 ** entropy), "frames": frames, "seconds": seconds,
            "units_per_second": frame_rate, "dedup_units_per_second": dedup_rate,
            "mean_run_length": frames / runs if runs else 0.0,
            "bits_per_second": frame_rate * math.log2(num_units),
            "dedup_bits_per_second": dedup_rate * math.log2(num_units),
            "entropy_bits_per_second": dedup_rate * entropy}


def purity_pnmi(units: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Label purity, cluster purity and PNMI of frame-aligned (N,) units and (N,) labels."""
    units, labels = np.asarray(units), np.asarray(labels)
    if units.shape != labels.shape or units.size == 0:
        raise ValueError(f"units {units.shape} and labels {labels.shape} must be equal, "
                         "non-empty shapes")
    _, unit_index = np.unique(units, return_inverse=True)
    _, label_index = np.unique(labels, return_inverse=True)
    joint = np.zeros((label_index.max() + 1, unit_index.max() + 1))
    np.add.at(joint, (label_index, unit_index), 1.0)
    joint /= joint.sum()
    p_label, p_unit = joint.sum(1), joint.sum(0)
    nonzero = joint > 0
    mutual = float((joint[nonzero] * np.log(joint[nonzero] / np.outer(p_label, p_unit)[
        nonzero])).sum())
    label_entropy = float(-(p_label[p_label > 0] * np.log(p_label[p_label > 0])).sum())
    return {"label_purity": float(joint.max(0).sum()),
            "cluster_purity": float(joint.max(1).sum()),
            "pnmi": mutual / label_entropy if label_entropy > 0 else 0.0}


def markdown_report(title: str, usage: dict[str, Any], purity: dict[str, dict[str, float]]
                    ) -> str:
    """A short markdown report of :func:`usage_statistics` and per-label purity/PNMI."""
    lines = [f"# {title}", "", "| statistic | value |", "|---|---|"]
    for key, value in usage.items():
        lines.append(f"| {key} | {value:.4g} |" if isinstance(value, float)
                     else f"| {key} | {value} |")
    if purity:
        lines += ["", "| label | label purity | cluster purity | PNMI |", "|---|---|---|---|"]
        for name, scores in purity.items():
            lines.append(f"| {name} | {scores['label_purity']:.3f} | "
                         f"{scores['cluster_purity']:.3f} | {scores['pnmi']:.3f} |")
    return "\n".join(lines) + "\n"
