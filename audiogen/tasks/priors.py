"""Starting distributions x_0 for path models: standard Gaussian, or mel-shaped (PriorGrad)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from audiogen.errors import ConfigError
from audiogen.representations.base import Representation
from audiogen.representations.mel_inversion import Method, PhaseInit


class Prior(nn.Module):
    """x_0 = mean + std * N(0, I); mean and std may depend on the features."""

    zero_mean = True

    def bind(self, representation: Representation, state: Representation) -> None:
        """Attach the feature and state representations (called by the task)."""

    def std(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Per-element std broadcastable to ``shape`` (B, C, T)."""
        raise NotImplementedError

    def mean(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor | None:
        """Per-element mean shaped ``shape``, or None for a zero-mean prior."""
        return None

    def sample(self, features: torch.Tensor, shape: torch.Size,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw x_0 shaped ``shape`` (B, C, T) in float32."""
        return self.draw(features, shape, generator)[0]

    def draw(self, features: torch.Tensor, shape: torch.Size,
             generator: torch.Generator | None = None, noise: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x_0 and the mean it was drawn around (None for a zero-mean prior); ``noise``, a
        standard normal draw shaped ``shape``, replaces the one drawn from ``generator``."""
        if noise is None:
            noise = torch.randn(shape, generator=generator, device=features.device)
        x_0 = self.std(features, shape) * noise
        mean = self.mean(features, shape)
        return (x_0 if mean is None else x_0 + mean), mean


class GaussianPrior(Prior):
    """x_0 ~ N(0, I): std is one everywhere."""

    def std(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        return torch.ones((), device=features.device)


class MelSpectralPrior(Prior):
    """Complex Gaussian whose per-bin power follows the spectrum implied by the mel features.

    The idea of PriorGrad (Lee et al. 2022) moved to the complex STFT: the mel is mapped back to
    a linear magnitude by the filterbank's pseudo-inverse, and each bin's real and imaginary
    parts get the std that gives that expected magnitude in the state's compressed coordinates.
    ``floor`` (relative to the utterance's largest std) keeps quiet bins from collapsing.
    Needs a log-mel ``representation`` and a :class:`CompressedSTFT` ``state``.
    """

    def __init__(self, floor: float = 0.05) -> None:
        super().__init__()
        self.floor = floor
        self.to_magnitude: Any = None
        self.to_std: Any = None

    def bind(self, representation: Representation, state: Representation) -> None:
        to_magnitude = getattr(representation, "mel_to_magnitude", None)
        to_std = getattr(state, "magnitude_to_std", None)
        if to_magnitude is None or to_std is None:
            raise ConfigError("MelSpectralPrior needs a LogMel representation and a "
                              "CompressedSTFT state")
        self.to_magnitude, self.to_std = to_magnitude, to_std

    def std(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        if self.to_magnitude is None:
            raise RuntimeError("MelSpectralPrior used before bind()")
        with torch.autocast(features.device.type, enabled=False):
            std = self.to_std(self.to_magnitude(features.float()))
            top = std.amax(dim=(1, 2), keepdim=True)
            return std.clamp_min(self.floor * top)[..., : shape[-1]]


class GriffinLimPrior(MelSpectralPrior):
    """Starts the path at a Griffin-Lim estimate: x_0 = state(GL(mel)) + noise * mel-shaped std.

    A bridge from a cheap phase-consistent estimate to the data, in the spirit of BridgeVoC's
    mel-derived starting point and of Deep Griffin-Lim Iteration (Masuyama et al. 2019), where
    a network refines Griffin-Lim; ``n_iter`` iterations of ``method`` (``"griffin_lim"`` or
    ``"mel_consistent"``, see :mod:`audiogen.representations.mel_inversion`) from the start
    ``phase_init`` with ``momentum`` run per utterance.
    """

    zero_mean = False

    def __init__(self, n_iter: int = 8, noise: float = 0.1, floor: float = 0.05,
                 method: Method = "griffin_lim", phase_init: PhaseInit = "random",
                 momentum: float = 0.99) -> None:
        super().__init__(floor)
        self.n_iter, self.noise, self.method = n_iter, noise, method
        self.phase_init, self.momentum = phase_init, momentum
        self.decode: Any = None
        self.encode_state: Any = None

    def bind(self, representation: Representation, state: Representation) -> None:
        super().bind(representation, state)
        self.decode, self.encode_state = representation.decode, state.encode

    def std(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        return self.noise * super().std(features, shape)

    def mean(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor | None:
        with torch.no_grad(), torch.autocast(features.device.type, enabled=False):
            wave = self.decode(features.float(), n_iter=self.n_iter, method=self.method,
                               phase_init=self.phase_init, momentum=self.momentum)
            return self.encode_state(wave)[..., : shape[-1]]


class DecodedPrior(Prior):
    """Starts the path at the representation's own decoding: x_0 = state(decode(features))
    + noise * N(0, I).

    The general form of :class:`GriffinLimPrior` for any representation that decodes: a codec's
    decoder for its tokens (the flow then refines the codec's output, as MultiBand-Diffusion
    replaces and Vocos-on-EnCodec improves on the codec decoder). With a zero-initialised
    velocity network the untrained model returns the decoder's output.
    """

    zero_mean = False

    def __init__(self, noise: float = 0.1) -> None:
        super().__init__()
        self.noise = noise
        self.decode: Any = None
        self.encode_state: Any = None

    def bind(self, representation: Representation, state: Representation) -> None:
        if type(representation).decode is Representation.decode:
            raise ConfigError(f"DecodedPrior needs a representation that decodes; "
                              f"{type(representation).__name__} does not")
        self.decode, self.encode_state = representation.decode, state.encode

    def std(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        return torch.full((), self.noise, device=features.device)

    def mean(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor | None:
        if self.decode is None:
            raise RuntimeError("DecodedPrior used before bind()")
        with torch.no_grad(), torch.autocast(features.device.type, enabled=False):
            state = self.encode_state(self.decode(features.float()))
            missing = shape[-1] - state.shape[-1]
            if missing > 0:
                state = torch.nn.functional.pad(state, (0, missing))
            return state[..., : shape[-1]]


class ConditionPrior(Prior):
    """Starts the path at the condition itself: x_0 = features + noise * N(0, I).

    For audio-to-audio models whose condition is the degraded signal in the state's own
    representation (FlowSE's mean path from the noisy to the clean spectrum, with the noise
    scale shrinking along the path). ``noise: 0`` makes it deterministic (a predictive model
    trained at t = 0 then maps the degraded spectrum to the clean one in one step).
    """

    zero_mean = False

    def __init__(self, noise: float = 0.5) -> None:
        super().__init__()
        if noise < 0:
            raise ConfigError(f"ConditionPrior: noise {noise} is negative")
        self.noise = noise

    def bind(self, representation: Representation, state: Representation) -> None:
        if representation.spec != state.spec:
            raise ConfigError("ConditionPrior needs the condition and the state in one "
                              f"representation; got {representation.spec} and {state.spec}")

    def std(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        return torch.full((), self.noise, device=features.device)

    def mean(self, features: torch.Tensor, shape: torch.Size) -> torch.Tensor | None:
        return features.float()[..., : shape[-1]]
