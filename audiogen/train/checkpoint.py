"""Checkpoints: resolved config + safetensors weights (+ EMA) + a training-state file.

Layout of ``EXP/checkpoints/step_00001000/``: ``config.yaml``, ``meta.json`` (step, spec, version),
``model.safetensors``, ``ema.safetensors`` (when EMA is on) and ``state.pt`` (optimizers,
schedulers, RNG; read with ``torch.load(weights_only=True)`` so no arbitrary code is unpickled).
A checkpoint directory is written under a temporary name and renamed into place; the ``latest``
pointer is replaced atomically afterwards, so a crash leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors.torch import load_file, save_file

from audiogen import __version__
from audiogen.errors import AudiogenError
from audiogen.utils import atomic_write_text

LATEST = "latest"


def save(root: Path, step: int, config: dict, spec: dict, model: dict[str, torch.Tensor],
         ema: dict[str, torch.Tensor] | None, state: dict[str, Any], keep_last: int = 3) -> Path:
    """Write checkpoint ``step`` under ``root`` (an experiment's ``checkpoints`` folder)."""
    name = f"step_{step:08d}"
    final = root / name
    with staged_folder(final) as staging:
        (staging / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        meta = {"step": step, "spec": spec, "audiogen_version": __version__}
        (staging / "meta.json").write_text(json.dumps(meta, indent=2))
        save_file(_contiguous(model), str(staging / "model.safetensors"))
        if ema is not None:
            save_file(_contiguous(ema), str(staging / "ema.safetensors"))
        torch.save(state, staging / "state.pt")
    atomic_write_text(root / LATEST, name + "\n")
    _prune(root, keep_last)
    return final


@contextmanager
def staged_folder(final: Path) -> Iterator[Path]:
    """A temporary sibling folder that replaces ``final`` only when the block succeeds (and is
    removed when it fails): readers never see a half-written folder."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield staging
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _contiguous(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous().cpu() for k, v in tensors.items()}


def _prune(root: Path, keep_last: int) -> None:
    steps = sorted(p for p in root.glob("step_*") if p.is_dir())
    for old in steps[:-keep_last] if keep_last > 0 else []:
        shutil.rmtree(old, ignore_errors=True)


def latest(root: Path) -> Path | None:
    """The newest complete checkpoint under ``root`` (``latest`` pointer, else the last step)."""
    pointer = root / LATEST
    if pointer.is_file():
        candidate = root / pointer.read_text().strip()
        if (candidate / "meta.json").is_file():
            return candidate
    steps = sorted(p for p in root.glob("step_*") if (p / "meta.json").is_file())
    return steps[-1] if steps else None


def resolve(path: str | os.PathLike) -> Path:
    """Accept a checkpoint directory or an experiment directory; return the checkpoint dir."""
    path = Path(path)
    if (path / "meta.json").is_file():
        return path
    for root in (path / "checkpoints", path):
        found = latest(root) if root.is_dir() else None
        if found is not None:
            return found
    raise AudiogenError(f"{path}: no checkpoint found (expected meta.json or checkpoints/latest)")


def read_meta(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "meta.json").read_text())


def read_config(directory: Path) -> dict:
    return yaml.safe_load((directory / "config.yaml").read_text())


def check_compatible(directory: Path, spec: dict[str, Any]) -> None:
    """Refuse a checkpoint whose stored spec differs from ``spec`` (names the fields)."""
    from audiogen.representations.base import check_spec

    check_spec(read_meta(directory)["spec"], spec, what=f"checkpoint {directory}")


def weights_file(directory: Path, prefer_ema: bool = True) -> Path:
    """The weights file of a checkpoint (the EMA copy when present and preferred)."""
    ema = directory / "ema.safetensors"
    return ema if prefer_ema and ema.is_file() else directory / "model.safetensors"


def load_weights(directory: Path, prefer_ema: bool = True) -> dict[str, torch.Tensor]:
    """Model weights (the EMA copy when present and preferred)."""
    return load_file(str(weights_file(directory, prefer_ema)))


def load_state(directory: Path) -> dict[str, Any]:
    """Training state, unpickled with ``weights_only=True`` (tensors and plain containers)."""
    return torch.load(directory / "state.pt", map_location="cpu", weights_only=True)
