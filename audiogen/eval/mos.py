"""Predicted MOS without a reference: DNSMOS P.835 and P.808, PLCMOS, and UTMOS from a local file.

DNSMOS (Reddy et al. 2022) and PLCMOS (Diener et al. 2023) run the ONNX models shipped in the
``speechmos`` wheel through onnxruntime; each model is loaded once per run. Their input is 16 kHz
audio in [-1, 1]; samples outside are clipped first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from audiogen.errors import ConfigError
from audiogen.eval.base import (
    RESAMPLER,
    Metric,
    Score,
    Scorer,
    eval_mode,
    library,
    load_torch_module,
    onnx_session,
    to_rate,
)
from audiogen.utils import file_sha256

MOS_RATE = 16000
REFERENCE_FREE = "none (reference-free)"


def _mos(name: str, description: str, group: str) -> Metric:
    return Metric(name, description, True, False, MOS_RATE, group, "MOS")


DNSMOS_OVRL = _mos("dnsmos_ovrl", "DNSMOS P.835 overall quality (1-5)", "dnsmos")
DNSMOS_SIG = _mos("dnsmos_sig", "DNSMOS P.835 speech signal quality (1-5)", "dnsmos")
DNSMOS_BAK = _mos("dnsmos_bak", "DNSMOS P.835 background noise quality (1-5)", "dnsmos")
DNSMOS_P808 = _mos("dnsmos_p808", "DNSMOS P.808 overall quality (1-5)", "dnsmos")
PLCMOS = _mos("plcmos", "PLCMOS v2 packet-loss-concealment quality (1-5)", "plcmos")
UTMOS = _mos("utmos", "UTMOS-style predicted naturalness MOS: a hook for a checkpoint the user "
             "supplies (none ships or downloads)", "utmos")
METRICS = (DNSMOS_OVRL, DNSMOS_SIG, DNSMOS_BAK, DNSMOS_P808, PLCMOS, UTMOS)
DNSMOS_KEYS = {"dnsmos_ovrl": "ovrl_mos", "dnsmos_sig": "sig_mos", "dnsmos_bak": "bak_mos",
               "dnsmos_p808": "p808_mos"}


def _speechmos_file(*parts: str) -> Path:
    import speechmos

    return Path(os.path.dirname(speechmos.__file__), *parts)


def _mono_16k(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    return np.clip(to_rate(wave, sample_rate, MOS_RATE), -1.0, 1.0).astype(np.float32)


class Dnsmos(Scorer):
    """DNSMOS P.835 (SIG, BAK, OVRL, non-personalised) and P.808 as speechmos's DNSMOS class
    computes them: 9.01 s windows at a 1 s hop averaged, shorter clips tiled (doubled) to
    9.01 s, P.835 outputs mapped by the polynomial fit of Microsoft's dnsmos_local.py
    (speechmos's own mel and polynomial functions are called).

    P.835 runs as :class:`audiogen.eval.dnsmos.DnsmosNetwork`: the shipped graph's
    convolutional trunk once per signal instead of once per window (same values up to float
    summation order). ``short_clips="whole"`` scores a clip shorter than 9.01 s once at its own
    length instead of tiling it (about 7x less work on short clips; values change, see the
    card). The P.808 model runs only when ``dnsmos_p808`` is requested, on the tiled windows;
    sessions use full graph optimisation and ``threads`` intra-op threads."""

    SHORT_CLIPS = ("tile", "whole")

    def __init__(self, metrics: Sequence[Metric], personalized: bool = False,
                 threads: int | None = None, short_clips: str = "tile") -> None:
        from audiogen.eval.dnsmos import DnsmosNetwork

        super().__init__(metrics)
        if short_clips not in self.SHORT_CLIPS:
            raise ConfigError(f"dnsmos_short_clips must be one of {', '.join(self.SHORT_CLIPS)}"
                              f", got {short_clips!r}")
        folder = "pdnsmos_models" if personalized else "dnsmos_models"
        self.personalized, self.short_clips = personalized, short_clips
        self.files = (_speechmos_file(folder, "sig_bak_ovr.onnx"),
                      _speechmos_file("dnsmos_models", "model_v8.onnx"))
        self.primary = (DnsmosNetwork(self.files[0], lambda graph: onnx_session(graph, threads))
                        if set(self.names) - {"dnsmos_p808"} else None)
        self.p808 = onnx_session(self.files[1], threads) if "dnsmos_p808" in self.names else None

    def windows(self, audio: np.ndarray) -> np.ndarray:
        """(windows, 144160) float32: speechmos's tiling and 1 s hop over a 16 kHz clip."""
        from audiogen.eval.dnsmos import WINDOW, tile, window_starts

        audio = tile(audio, WINDOW)
        return np.stack([audio[start: start + WINDOW] for start in window_starts(len(audio))]
                        ).astype(np.float32)

    def raw_p835(self, audio: np.ndarray) -> np.ndarray:
        """(windows, 3) raw SIG, BAK, OVRL of a 16 kHz clip under ``short_clips``."""
        from audiogen.eval.dnsmos import WINDOW, tile, window_starts

        assert self.primary is not None
        if self.short_clips == "whole" and len(audio) < WINDOW:
            return self.primary.whole(audio)
        audio = tile(audio, WINDOW)
        return self.primary.windows(audio, window_starts(len(audio)))

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        from speechmos.dnsmos import DNSMOS

        audio = _mono_16k(generated, sample_rate)
        values: dict[str, float] = {}
        if self.primary is not None:
            mapped = [DNSMOS.get_polyfit_val(None, sig, bak, ovr, self.personalized)
                      for sig, bak, ovr in self.raw_p835(audio)]
            for column, key in enumerate(("sig_mos", "bak_mos", "ovrl_mos")):
                values[key] = float(np.mean([row[column] for row in mapped]))
        if self.p808 is not None:
            mels = np.stack([DNSMOS.audio_melspec(None, audio=window[:-160])
                             for window in self.windows(audio)]).astype(np.float32)
            values["p808_mos"] = float(np.mean(self.p808.run(None, {"input_1": mels})[0][:, 0]))
        return {name: values[DNSMOS_KEYS[name]] for name in self.names}

    def card(self, name: str) -> dict[str, Any]:
        model = self.files[1] if name == "dnsmos_p808" else self.files[0]
        short = ("short clips tiled" if name == "dnsmos_p808" or self.short_clips == "tile"
                 else "clips shorter than 9.01 s scored once at their own length (not tiled)")
        card = {**library("speechmos", "onnxruntime"), "sample_rate": MOS_RATE,
                "resampler": RESAMPLER,
                "mode": f"{'personalised' if self.personalized else 'non-personalised'}, "
                        f"9.01 s windows at 1 s hop averaged, {short}, samples "
                        "clipped to [-1, 1]; onnxruntime ORT_ENABLE_ALL",
                "alignment": REFERENCE_FREE, "embedding_model": f"speechmos/{model.parent.name}/"
                                                                f"{model.name}",
                "checksum": file_sha256(model)}
        if name != "dnsmos_p808":
            card["revision"] = DNSMOS_REVISIONS[self.short_clips]
        return card


DNSMOS_REVISIONS = {
    "tile": "2 (2026-12-03): the P.835 trunk runs once per signal and is shared by its "
            "overlapping windows; values equal revision 1 (one model run per window) up to "
            "float summation order (asterisk test+valid: max |difference| < 1e-6)",
    "whole": "2-whole (2026-12-03, option dnsmos_short_clips=whole): clips shorter than 9.01 s "
             "are scored once, not tiled; not comparable with tiled DNSMOS (asterisk test+valid "
             "with white noise at 20 dB: OVRL mean |difference| 0.13, max 0.72; SIG 0.19 / 1.30; "
             "BAK 0.17 / 0.92; recipes/eval/README.md)",
}


class Plcmos(Scorer):
    """PLCMOS v2 with speechmos's PLCMOS class; its ``rounds`` random rater embeddings are drawn
    from NumPy's global generator seeded with ``seed`` for every item (the previous state is
    restored), so scores are reproducible."""

    def __init__(self, metrics: Sequence[Metric], rounds: int = 15, seed: int = 0) -> None:
        from speechmos.plcmos import PLCMOS as Model

        super().__init__(metrics)
        self.rounds, self.seed = rounds, seed
        self.model = Model(embed_rounds=rounds)

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        state = np.random.get_state()
        np.random.seed(self.seed)
        try:
            value = self.model(_mono_16k(generated, sample_rate))["plcmos"]
        finally:
            np.random.set_state(state)
        return {"plcmos": float(value)}

    def card(self, name: str) -> dict[str, Any]:
        return {**library("speechmos", "onnxruntime"), "sample_rate": MOS_RATE,
                "resampler": RESAMPLER,
                "mode": f"plcmos_v2, mean over {self.rounds} rater embeddings drawn with seed "
                        f"{self.seed} per item, samples clipped to [-1, 1]",
                "alignment": REFERENCE_FREE,
                "embedding_model": "speechmos/plcmos_models/plcmos_v2.onnx",
                "checksum": file_sha256(self.model.model_path)}


class Utmos(Scorer):
    """A UTMOS-style MOS predictor (Saeki et al. 2022) from a local checkpoint: a TorchScript or
    ``torch.export`` (.pt2) archive, or a state dict loaded (weights only) into ``module``. The
    model maps a (1, T) 16 kHz waveform to a predicted MOS (the mean of its output is taken)."""

    def __init__(self, metrics: Sequence[Metric], checkpoint: str | os.PathLike | None = None,
                 module: torch.nn.Module | None = None) -> None:
        super().__init__(metrics)
        if checkpoint is None:
            raise ConfigError("utmos needs a local checkpoint: pass utmos_checkpoint=PATH (a "
                              "TorchScript UTMOS model, or a state dict with utmos_module=MODULE)"
                              "; no model is downloaded")
        self.path = Path(checkpoint)
        if not self.path.is_file():
            raise ConfigError(f"{self.path}: utmos checkpoint not found")
        self.model = eval_mode(_load_module(self.path, module))

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        wave = torch.from_numpy(to_rate(generated, sample_rate, MOS_RATE).astype(np.float32))
        with torch.inference_mode():
            prediction = self.model(wave[None])
        return {"utmos": float(torch.as_tensor(prediction, dtype=torch.float64).mean())}

    def card(self, name: str) -> dict[str, Any]:
        return {**library("torch"), "sample_rate": MOS_RATE, "resampler": RESAMPLER,
                "mode": "mean of the model's output for the (1, T) waveform",
                "alignment": REFERENCE_FREE, "embedding_model": str(self.path),
                "checksum": file_sha256(self.path)}


def _load_module(path: Path, module: torch.nn.Module | None) -> torch.nn.Module:
    """A TorchScript or torch.export archive, or a weights-only state dict loaded into
    ``module``."""
    if module is None:
        try:
            return load_torch_module(path)
        except ValueError as error:
            raise ConfigError(f"{error}; to load a state dict pass the matching architecture "
                              "as utmos_module (Python API)") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ConfigError(f"{path}: cannot read a state dict ({error})") from None
    module.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
    return module
