"""Run logs: a JSON Lines metrics file and TensorBoard scalars, audio and spectrogram images."""

from __future__ import annotations

import json
from pathlib import Path

import torch


class MetricsLog:
    """Appends one JSON object per line; on resume drops rows past the resumed step."""

    def __init__(self, path: Path, enabled: bool, truncate_after: int | None = None) -> None:
        self.path, self.enabled = path, enabled
        if enabled and truncate_after is not None and path.is_file():
            kept = [line for line in path.read_text().splitlines()
                    if line.strip() and json.loads(line).get("step", 0) <= truncate_after]
            path.write_text("".join(line + "\n" for line in kept))

    def write(self, row: dict) -> None:
        if self.enabled:
            with open(self.path, "a") as handle:
                handle.write(json.dumps(row) + "\n")
                handle.flush()


class TensorBoardLog:
    """A SummaryWriter on the main process only; a no-op elsewhere."""

    def __init__(self, directory: Path, enabled: bool) -> None:
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(directory))

    def scalars(self, prefix: str, values: dict[str, float], step: int) -> None:
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"{prefix}/{name}", value, step)

    def audio(self, tag: str, wave: torch.Tensor, sample_rate: int, step: int,
              reference: torch.Tensor | None = None) -> None:
        """Log the first item of (B, 1, T) audio and its spectrogram (and the reference's)."""
        if self.writer is None:
            return
        pairs = [("generated", wave)] + ([("reference", reference)] if reference is not None
                                         else [])
        for name, value in pairs:
            clip = value[0, 0].detach().float().cpu().clamp(-1, 1)
            self.writer.add_audio(f"{tag}/{name}", clip, step, sample_rate=sample_rate)
            self.writer.add_figure(f"{tag}/{name}_spectrogram", spectrogram_figure(clip), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def spectrogram_figure(wave: torch.Tensor, n_fft: int = 1024, hop_length: int = 256):
    """A matplotlib figure of a log-magnitude spectrogram of (T,) audio."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    window = torch.hann_window(n_fft)
    spectrum = torch.stft(wave, n_fft, hop_length, window=window, return_complex=True).abs()
    figure, axis = plt.subplots(figsize=(8, 3))
    axis.imshow((spectrum + 1e-5).log10().numpy(), origin="lower", aspect="auto", cmap="magma")
    axis.set_xlabel("frame")
    axis.set_ylabel("bin")
    figure.tight_layout()
    return figure
