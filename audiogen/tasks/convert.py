"""Voice conversion by resynthesis: source speech -> content features -> a target voice.

A vocoder conditioned on speaker-poor content features (k-means units of an SSL layer, or the
continuous layer itself) and trained on one voice only speaks every input in that voice: the
units carry what was said, the vocoder supplies who says it (any-to-one conversion, as in
unit-based resynthesis and kNN-VC). :class:`UnitConverter` turns such a vocoder into an
audio-to-audio model, so conversion shares the enhancement batch job, chunking and API.
"""

from __future__ import annotations

from typing import Any

import torch

from audiogen.errors import ConfigError
from audiogen.tasks.base import Task
from audiogen.tasks.enhance import AudioToAudio

#: Feature types that describe content; a vocoder on these can speak another voice's words.
CONTENT_FEATURES = ("units", "ssl")


class UnitConverter(AudioToAudio):
    """(B, T) source speech -> (B, T) the same words in the vocoder's training voice.

    ``vocoder``: a trained vocoder task whose representation encodes audio into content
    features (spec type ``units`` or ``ssl``); a vocoder on mel or STFT features would copy the
    source voice, so it is refused.
    """

    def __init__(self, vocoder: Task) -> None:
        super().__init__()
        kind = vocoder.representation.spec.get("type")
        if kind not in CONTENT_FEATURES:
            raise ConfigError(f"{type(vocoder).__name__} is conditioned on {kind!r} features, "
                              "which carry the source voice; voice conversion needs a vocoder "
                              f"on content features ({', '.join(CONTENT_FEATURES)})")
        self.vocoder = vocoder
        self.representation = vocoder.representation

    @property
    def spec(self) -> dict[str, Any]:
        return {**self.vocoder.spec, "task": "voice_conversion"}

    def enhance(self, wave: torch.Tensor, steps: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Encode the source's content at the vocoder's frame rate and synthesize it."""
        length = wave.shape[-1]
        audio = self.vocoder.synthesize(self.encode_whole_frames(wave), steps=steps,
                                        generator=generator)
        if audio.shape[-1] < length:
            audio = torch.nn.functional.pad(audio, (0, length - audio.shape[-1]))
        return audio[..., :length]
