"""The embedded default corpus: Asterisk's studio-recorded voice prompts, from Debian packages.

Debian ships the Asterisk core sounds as ``asterisk-core-sounds-<lang>-g722``: raw G.722
bitstreams (16 kHz wideband) recorded by Allison Smith (US English, Mexican Spanish) and Carlo
Flora (Italian), CC BY-SA 3.0. The builder downloads the packages with ``apt-get download``,
unpacks them with ``dpkg-deb -x``, decodes every prompt with PyAV (FFmpeg's G.722 decoder) to
16 kHz mono PCM16 wav and keeps each package's copyright file beside the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from audiogen.audio import resample, save
from audiogen.data.corpora.base import (
    Collected,
    CorpusBuilder,
    SkippedFile,
    copy_file,
    download_debs,
    extract_deb,
    map_files,
)
from audiogen.data.manifest import Utterance
from audiogen.errors import AudioError, DataError

SAMPLE_RATE = 16000
VOICE_PACKAGES = {
    "en_US_f_Allison": "asterisk-core-sounds-en-g722",
    "es_MX_f_Allison": "asterisk-core-sounds-es-g722",
    "it_IT_m_Carlo": "asterisk-core-sounds-it-g722",
}
SOUNDS_FOLDER = Path("usr/share/asterisk/sounds")
# 1-10 s of digital silence that Asterisk pads calls with: no voice in it, so left out.
EXCLUDED_FOLDERS = frozenset({"silence"})


@dataclass
class AsteriskBuilder(CorpusBuilder):
    """Asterisk voice prompts in three voice packages by two people (Allison in two languages,
    Carlo), decoded from G.722 to 16 kHz mono wav.

    Args:
        voices: voice folders to include (default: all of ``VOICE_PACKAGES``).
    """

    name: ClassVar[str] = "asterisk"
    voices: list[str] | None = None

    def __post_init__(self) -> None:
        if self.voices is None:
            return
        unknown = sorted(set(self.voices) - set(VOICE_PACKAGES))
        if unknown:
            raise DataError(f"asterisk: unknown voice(s) {', '.join(unknown)}; valid voices: "
                            f"{', '.join(VOICE_PACKAGES)}")
        if not self.voices:
            raise DataError("asterisk: voices is empty; leave it unset to build all voices")
        self.voices = sorted(set(self.voices))

    def selected_voices(self) -> list[str]:
        """The voices to build, in a fixed order."""
        return self.voices or list(VOICE_PACKAGES)

    def collect(self, out: Path, progress: bool) -> Collected:
        """Download and unpack the packages, then decode every prompt to ``out/wavs``."""
        voices = self.selected_voices()
        packages = sorted({VOICE_PACKAGES[voice] for voice in voices})
        extract = out / "extract"
        for package, deb in download_debs(packages, out / "downloads").items():
            extract_deb(deb, extract)
            keep_copyright(extract, package, out / "licenses")
        prompts = list_prompts(extract / SOUNDS_FOLDER, voices)
        return map_files(lambda prompt: convert_prompt(*prompt, extract, out / "wavs"), prompts,
                         "decode G.722", progress)


def keep_copyright(extract: Path, package: str, licenses: Path) -> Path:
    """Copy ``usr/share/doc/<package>/copyright`` to ``licenses/<package>.copyright``."""
    source = extract / "usr/share/doc" / package / "copyright"
    if not source.is_file():
        raise DataError(f"{package}: copyright file {source} is missing; the package is incomplete")
    return copy_file(source, licenses / f"{package}.copyright")


def list_prompts(sounds: Path, voices: list[str]) -> list[tuple[str, Path]]:
    """(voice, file) for every ``.g722`` prompt of the voices, subfolders included."""
    prompts = []
    for voice in voices:
        folder = sounds / voice
        if not folder.is_dir():
            raise DataError(f"asterisk: voice folder {folder} not found in the unpacked package")
        for path in sorted(folder.rglob("*.g722")):
            if EXCLUDED_FOLDERS.isdisjoint(path.relative_to(folder).parts[:-1]):
                prompts.append((voice, path))
    return prompts


def convert_prompt(voice: str, source: Path, extract: Path, wavs: Path
                   ) -> Utterance | SkippedFile:
    """Decode one G.722 prompt to ``wavs/<voice>/<path>.wav`` (16 kHz mono PCM16)."""
    relative = source.relative_to(extract / SOUNDS_FOLDER / voice).with_suffix("")
    target = wavs / voice / relative.with_suffix(".wav")
    try:
        samples, sample_rate = decode_g722(source)
    except AudioError as error:
        return SkippedFile(str(source), error.reason)
    wave = resample(torch.from_numpy(samples)[None], sample_rate, SAMPLE_RATE)
    save(target, wave, SAMPLE_RATE)
    return Utterance(
        id=f"{voice}/{relative.as_posix()}", path=str(target),
        duration=wave.shape[-1] / SAMPLE_RATE, sample_rate=SAMPLE_RATE, speaker=voice,
    )


def decode_g722(path: Path) -> tuple[np.ndarray, int]:
    """Decode a raw G.722 file with PyAV to float32 mono samples (time,) and their sample rate."""
    import av

    try:
        with av.open(str(path), format="g722") as container:
            frames = list(container.decode(audio=0))
    except (av.FFmpegError, OSError) as error:
        raise AudioError(path, f"cannot decode G.722 ({error})") from None
    if not frames:
        raise AudioError(path, "no audio decoded (empty file?)")
    if frames[0].layout.nb_channels != 1:
        raise AudioError(path, f"expected mono G.722, got {frames[0].layout.name}")
    samples = np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames])
    if np.issubdtype(samples.dtype, np.integer):
        samples = samples / float(-np.iinfo(samples.dtype).min)
    return samples.astype(np.float32), int(frames[0].sample_rate)
