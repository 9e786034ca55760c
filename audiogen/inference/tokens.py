"""Codec tokens as files: build a codec by name or path, extract tokens, decode them to audio.

A token file ``OUT/<relative name>.npz`` is a feature file
(:mod:`~audiogen.inference.feature_files`): ``features`` holds the codes (int16
(n_q, frames)), ``spec`` the codec spec as a JSON string; it also holds ``num_samples`` (the
input's length at the codec's rate) and, for EnCodec 48 kHz, ``scales`` (per-segment loudness).
No pickles: files are read with ``allow_pickle=False``. Jobs are resumable (existing files with
the same spec are kept) and go on past bad inputs, reporting them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from audiogen import audio
from audiogen.errors import AudiogenError, DataError
from audiogen.inference.feature_files import FEATURE_SUFFIX, read_feature_file, save_features
from audiogen.inference.inputs import Item, list_inputs
from audiogen.representations.base import check_spec
from audiogen.representations.codec import ENCODEC_MODELS, CodecTokens, EncodecTokens
from audiogen.train.loading import trained_codec

TOKEN_SUFFIX = FEATURE_SUFFIX


def load_codec(codec: str, bandwidth: float | None = None, checkpoint: str | None = None,
               device: str = "cpu") -> CodecTokens:
    """``encodec_24khz`` / ``encodec_48khz`` (weights from ``checkpoint`` or the package's
    cache) or a trained codec experiment directory (:func:`~audiogen.train.loading.
    trained_codec`, over the one loader); ``bandwidth`` in kbps."""
    if codec in ENCODEC_MODELS:
        model: CodecTokens = EncodecTokens(codec, 6.0 if bandwidth is None else bandwidth,
                                           checkpoint)
    elif Path(codec).is_dir():
        if checkpoint:
            raise AudiogenError("--codec-checkpoint applies to EnCodec models; a trained codec "
                                "is loaded from its experiment folder")
        model = trained_codec(codec, bandwidth)
    else:
        raise AudiogenError(f"codec {codec!r}: not one of {', '.join(ENCODEC_MODELS)} nor an "
                            "experiment folder")
    return model.to(device).eval()


@dataclass
class TokenFile:
    """The contents of one token file."""

    codes: np.ndarray
    spec: dict[str, Any]
    num_samples: int
    scales: np.ndarray | None = None


def save_tokens(path: Path, tokens: TokenFile) -> Path:
    """Write a token file atomically (a feature file with the codes as its features)."""
    codes = tokens.codes.astype(np.int16 if tokens.codes.max(initial=0) < 2**15 else np.int32)
    extra = {"num_samples": np.array(tokens.num_samples)}
    if tokens.scales is not None:
        extra["scales"] = tokens.scales.astype(np.float32)
    return save_features(path, codes, tokens.spec, **extra)


def load_tokens(path: str | os.PathLike) -> TokenFile:
    """Read a token file written by :func:`save_tokens` (no pickles)."""
    codes, spec, extra = read_feature_file(path)
    if codes.dtype.kind not in "iu" or "num_samples" not in extra:
        raise DataError(f"{path}: not an audiogen token file (features of another kind)")
    return TokenFile(codes.astype(np.int64), spec, int(extra["num_samples"]),
                     extra.get("scales"))


@dataclass
class TokenReport:
    """What a token job wrote, kept (resume), skipped (with reasons) and noted."""

    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)


def _read_audio(item: Item, codec: CodecTokens, report: TokenReport) -> torch.Tensor:
    """(channels, T) audio at the codec's rate; resampling and downmixing are noted."""
    rate, _, channels = audio.info(item.path)
    wave, _ = audio.load(item.path, sample_rate=codec.sample_rate, channels="keep")
    if rate != codec.sample_rate:
        report.notes.append((item.name, f"resampled {rate} Hz -> {codec.sample_rate} Hz"))
    model_channels = int(getattr(codec, "channels", 1))
    if channels > model_channels:
        report.notes.append((item.name, f"downmixed {channels} channels to mono"))
        wave = wave.mean(dim=0, keepdim=True)
    return wave


def _encode(codec: CodecTokens, wave: torch.Tensor, device: str
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """(channels, T) -> codes (n_q, frames) and scales (segments,) or None."""
    batch = wave.to(device)[None]
    if isinstance(codec, EncodecTokens):
        codes, scales = codec.tokens_and_scales(batch)
        return codes[0].cpu().numpy(), None if scales is None else scales[0].cpu().numpy()
    return codec.tokens(batch[:, 0])[0].cpu().numpy(), None


def extract_tokens(codec: CodecTokens, inputs: str | os.PathLike, out: str | os.PathLike,
                   device: str = "cpu", batch_size: int = 1, progress: bool = True
                   ) -> TokenReport:
    """Encode every input (file, folder or manifest) to ``OUT/<name>.npz``.

    Inputs of one batch are encoded together (padded to the longest, sorted by length, codes
    trimmed per item) when the codec allows it; EnCodec 48 kHz normalises per segment and
    therefore encodes one input at a time. Existing files with the codec's spec are kept;
    one with another spec stops the job (:class:`SpecMismatchError` names the field).
    """
    out = Path(out)
    report = TokenReport()
    todo: list[Item] = []
    for item in list_inputs(inputs):
        target = out / f"{item.name}{TOKEN_SUFFIX}"
        if target.is_file():
            check_spec(codec.spec, load_tokens(target).spec, what=f"tokens in {target}")
            report.kept.append(item.name)
        else:
            todo.append(item)
    together = 1 if getattr(codec, "segment_frames", None) else max(1, batch_size)
    bar = tqdm(total=len(todo), desc="tokens", unit="file", disable=not progress)
    for start in range(0, len(todo), together):
        loaded: list[tuple[Item, torch.Tensor]] = []
        for item in todo[start: start + together]:
            try:
                loaded.append((item, _read_audio(item, codec, report)))
            except AudiogenError as error:
                report.skipped.append((item.name, str(error)))
                bar.update(1)
        for item, codes, scales, length in _encode_group(codec, loaded, device):
            save_tokens(out / f"{item.name}{TOKEN_SUFFIX}",
                        TokenFile(codes, codec.spec, length, scales))
            report.written.append(item.name)
            bar.update(1)
    bar.close()
    return report


def _encode_group(codec: CodecTokens, loaded: list[tuple[Item, torch.Tensor]], device: str
                  ) -> list[tuple[Item, np.ndarray, np.ndarray | None, int]]:
    if len(loaded) <= 1 or any(wave.shape[0] != 1 for _, wave in loaded):
        return [(item, *_encode(codec, wave, device), wave.shape[-1]) for item, wave in loaded]
    longest = max(wave.shape[-1] for _, wave in loaded)
    batch = torch.stack([torch.nn.functional.pad(wave[0], (0, longest - wave.shape[-1]))
                         for _, wave in loaded]).to(device)
    codes = codec.tokens(batch).cpu().numpy()
    return [(item, codes[index, :, : codec.num_frames(wave.shape[-1])], None, wave.shape[-1])
            for index, (item, wave) in enumerate(loaded)]


def first_spec(inputs: str | os.PathLike) -> dict[str, Any]:
    """The spec of the first token file under ``inputs`` (to pick the decoder)."""
    source = Path(inputs)
    first = source if source.is_file() else next(iter(sorted(source.rglob(f"*{TOKEN_SUFFIX}"))),
                                                   None)
    if first is None:
        raise DataError(f"{source}: no token files ({TOKEN_SUFFIX}) found")
    return load_tokens(first).spec


def decode_tokens(codec: CodecTokens, inputs: str | os.PathLike, out: str | os.PathLike,
                  device: str = "cpu", progress: bool = True) -> TokenReport:
    """Decode every token file under ``inputs`` to ``OUT/<name>.wav`` at the codec's rate.

    Tokens whose spec differs from the codec's (n_q, codebook size, frame rate, weights...)
    are refused with :class:`SpecMismatchError` naming the fields; unreadable files are
    skipped and reported; outputs already present are kept.
    """
    source, out = Path(inputs), Path(out)
    files = ([source] if source.is_file() else
             sorted(p for p in source.rglob(f"*{TOKEN_SUFFIX}") if p.is_file()))
    if not files:
        raise DataError(f"{source}: no token files ({TOKEN_SUFFIX}) found")
    report = TokenReport()
    for path in tqdm(files, desc="decode", unit="file", disable=not progress):
        name = path.stem if source.is_file() else path.relative_to(source).with_suffix(
            "").as_posix()
        target = out / f"{name}.wav"
        if target.is_file():
            report.kept.append(name)
            continue
        try:
            tokens = load_tokens(path)
        except DataError as error:
            report.skipped.append((name, str(error)))
            continue
        check_spec(codec.spec, tokens.spec, what=f"tokens in {path}")
        try:
            audio.save(target, decode_file(codec, tokens, device), codec.sample_rate)
        except (AudiogenError, ValueError) as error:
            report.skipped.append((name, str(error)))
            continue
        report.written.append(name)
    return report


@torch.no_grad()
def decode_file(codec: CodecTokens, tokens: TokenFile, device: str = "cpu") -> torch.Tensor:
    """Token file contents -> (channels, num_samples) audio."""
    codes = torch.from_numpy(tokens.codes)[None].to(device)
    if isinstance(codec, EncodecTokens):
        scales = None if tokens.scales is None else torch.from_numpy(tokens.scales)[None]
        wave = codec.decode(codes, scales.to(device) if scales is not None else None)
    else:
        wave = codec.decode(codes)
    wave = wave[0] if wave.dim() == 3 else wave
    wave = wave if wave.dim() == 2 else wave[None]
    return wave[..., : tokens.num_samples].cpu()

