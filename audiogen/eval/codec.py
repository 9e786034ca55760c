"""Codec diagnostics: bitrate, codebook usage and perplexity per level, quality per bandwidth.

:func:`codebook_statistics` is the math (histograms of codes); :func:`codec_report` runs codecs
(one per bandwidth) over a test set, writes the decoded audio, scores it with
:func:`audiogen.eval.evaluate` and returns one table row per codec.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from audiogen import audio
from audiogen.data import manifest
from audiogen.errors import AudiogenError
from audiogen.eval.evaluation import evaluate
from audiogen.inference.inputs import Item, list_inputs
from audiogen.representations.codec import CodecTokens, EncodecTokens
from audiogen.utils import atomic_write_json


def codebook_statistics(codes: list[np.ndarray], codebook_size: int) -> list[dict[str, float]]:
    """Per level of (n_q, frames) code arrays: codes used, fraction used, perplexity.

    Perplexity is exp(entropy) of the level's code histogram (natural log): codebook_size for a
    uniform use of every code, 1 for a single code; log2(perplexity) bounds the bits a level
    really carries.
    """
    if not codes:
        return []
    levels = codes[0].shape[0]
    rows = []
    for level in range(levels):
        ids = np.concatenate([c[level].reshape(-1) for c in codes]).astype(np.int64)
        counts = np.bincount(ids, minlength=codebook_size).astype(np.float64)
        p = counts / max(counts.sum(), 1.0)
        nonzero = p[p > 0]
        entropy = float(-(nonzero * np.log(nonzero)).sum())
        rows.append({"level": level, "used": int((counts > 0).sum()),
                     "usage": float((counts > 0).mean()), "perplexity": math.exp(entropy),
                     "bits": entropy / math.log(2)})
    return rows


@torch.no_grad()
def _round_trip(codec: CodecTokens, wave: torch.Tensor, device: str
                ) -> tuple[np.ndarray, torch.Tensor]:
    """(1, T) mono audio -> (codes (n_q, frames), decoded (channels, T))."""
    batch = wave.to(device)
    if isinstance(codec, EncodecTokens):
        codes, scales = codec.tokens_and_scales(batch)
        decoded = codec.decode(codes, scales)
    else:
        codes = codec.tokens(batch)
        decoded = codec.decode(codes)
    decoded = decoded if decoded.dim() == 3 else decoded[:, None]
    return codes[0].cpu().numpy(), decoded[0, :, : wave.shape[-1]].cpu()


def codec_report(codecs: dict[str, CodecTokens], inputs: str | os.PathLike,
                 out: str | os.PathLike, metrics: list[str], limit: int | None = None,
                 device: str = "cpu", progress: bool = True) -> list[dict[str, Any]]:
    """Encode and decode ``inputs`` with each codec; score and tabulate.

    Writes ``OUT/audio/<label>/<name>.wav``, ``OUT/eval`` (results.json, per_item.csv,
    report.html) and ``OUT/codec_report.json``; returns its rows: label, bandwidth (kbps),
    bitrate (bps), n_q, metric means and per-level codebook statistics. Unreadable inputs are
    skipped and listed under ``skipped``.
    """
    out = Path(out)
    items = list_inputs(inputs)
    if limit is not None and limit < len(items):
        items = [items[round(i * len(items) / limit)] for i in range(limit)]
    rows, folders = [], {}
    for label, codec in codecs.items():
        folder = out / "audio" / label
        all_codes, skipped = [], []
        for item in tqdm(items, desc=label, unit="file", disable=not progress):
            try:
                wave, _ = audio.load(item.path, sample_rate=codec.sample_rate)
                codes, decoded = _round_trip(codec, wave, device)
                audio.save(folder / f"{item.name}.wav", decoded, codec.sample_rate)
            except AudiogenError as error:
                skipped.append([item.name, str(error)])
                continue
            all_codes.append(codes)
        folders[label] = str(folder)
        rows.append({"system": label, "bandwidth_kbps": codec.bandwidth,
                     "bitrate_bps": codec.bitrate, "n_q": codec.n_q,
                     "frame_rate": codec.frame_rate, "codebook_size": codec.codebook_size,
                     "items": len(all_codes), "skipped": skipped,
                     "levels": codebook_statistics(all_codes, codec.codebook_size)})
    reference = _reference_manifest(items, out / "reference.jsonl")
    results = evaluate(str(reference), folders, metrics, out / "eval",
                       report=out / "eval" / "report.html")
    for row in rows:
        scores = results["summary"].get(row["system"], {})
        row["metrics"] = {name: value.get("mean") for name, value in scores.items()
                          if isinstance(value, dict)}
    atomic_write_json(out / "codec_report.json", rows)
    return rows


def _reference_manifest(items: list[Item], path: Path) -> Path:
    """A manifest of exactly the chosen inputs, so scores cover the same items."""
    utterances = []
    for item in items:
        try:
            rate, frames, _ = audio.info(item.path)
        except AudiogenError:
            continue
        utterances.append(manifest.Utterance(item.name, str(item.path.resolve()), frames / rate,
                                             rate, ""))
    manifest.write(path, utterances, relative=False)
    return path


def format_report(rows: list[dict[str, Any]]) -> str:
    """Plain-text table: one line per codec, then usage/perplexity per level."""
    metric_names = sorted({m for row in rows for m in row.get("metrics", {})})
    lines = ["system".ljust(22) + "kbps".rjust(7) + "n_q".rjust(5)
             + "".join(m.rjust(10) for m in metric_names)]
    for row in rows:
        cells = []
        for name in metric_names:
            value = row.get("metrics", {}).get(name)
            cells.append(("-" if value is None else f"{value:.3f}").rjust(10))
        lines.append(row["system"].ljust(22) + f"{row['bandwidth_kbps']:7.2f}"
                     + f"{row['n_q']:5d}" + "".join(cells))
    for row in rows:
        levels = " ".join(f"{level['usage']:.2f}/{level['perplexity']:.0f}"
                          for level in row["levels"])
        lines.append(f"{row['system']}: usage/perplexity per level: {levels}")
    return "\n".join(lines)
