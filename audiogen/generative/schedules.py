"""Noise schedules written in one time convention: t in [0, 1], t = 0 is noise, t = 1 is data.

A schedule gives the path x_t = alpha_t * x_1 + sigma_t * x_0 (x_1 data, x_0 noise from any prior)
its coefficients and their analytic time derivatives. Every conversion between t and a noise level
(log-SNR, DDPM's alpha_bar, discrete training steps) lives in this module and nowhere else.

Each ``__call__`` takes a tensor of times of any shape and returns four tensors of that shape; the
maths is differentiable, so autograd through a schedule agrees with the analytic derivatives.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor

Coefficients = tuple[Tensor, Tensor, Tensor, Tensor]


class Schedule(ABC):
    """Maps t to (alpha_t, sigma_t, d alpha_t / dt, d sigma_t / dt); log-SNR increases with t.

    Subclasses implement :meth:`__call__` and, where one exists, a closed-form
    :meth:`t_for_log_snr`; the rest (log-SNR, alpha_bar and their inverses) is derived here.
    """

    @abstractmethod
    def __call__(self, t: Tensor) -> Coefficients:
        """Return (alpha_t, sigma_t, d_alpha_t, d_sigma_t), each shaped like ``t``."""

    def log_snr(self, t: Tensor) -> Tensor:
        """Log signal-to-noise ratio log(alpha_t^2 / sigma_t^2): -inf at alpha_t = 0, +inf at
        sigma_t = 0 (the lambda of Kingma et al. 2021 "Variational Diffusion Models")."""
        alpha_t, sigma_t, _, _ = self(t)
        return 2.0 * (torch.log(alpha_t) - torch.log(sigma_t))

    def t_for_log_snr(self, log_snr: Tensor) -> Tensor:
        """Invert :meth:`log_snr` by bisection on [0, 1] (64 halvings), clamping out-of-range
        values to the ends; subclasses override it with closed forms."""
        low, high = torch.zeros_like(log_snr), torch.ones_like(log_snr)
        for _ in range(64):
            middle = (low + high) / 2
            below = self.log_snr(middle) < log_snr
            low = torch.where(below, middle, low)
            high = torch.where(below, high, middle)
        return (low + high) / 2

    def alpha_bar(self, t: Tensor) -> Tensor:
        """SNR / (1 + SNR): DDPM's alpha_bar (= alpha_t^2) for variance-preserving schedules, and
        the alpha_bar of the VP schedule with the same SNR otherwise."""
        return torch.sigmoid(self.log_snr(t))

    def t_for_alpha_bar(self, alpha_bar: Tensor) -> Tensor:
        """Time at which :meth:`alpha_bar` equals ``alpha_bar`` (the inverse of that map)."""
        return self.t_for_log_snr(torch.log(alpha_bar) - torch.log1p(-alpha_bar))


class CondOT(Schedule):
    """Conditional optimal-transport (rectified flow) path: alpha_t = t, sigma_t = 1 - t.

    Lipman et al. 2023 "Flow Matching for Generative Modeling"; Liu et al. 2023 "Flow Straight and
    Fast". Its half log-SNR is log(t / (1 - t)).
    """

    def __call__(self, t: Tensor) -> Coefficients:
        """Return (t, 1 - t, 1, -1), each shaped like ``t``."""
        return t, 1.0 - t, torch.ones_like(t), -torch.ones_like(t)

    def t_for_log_snr(self, log_snr: Tensor) -> Tensor:
        """Closed form: t = sigmoid(log_snr / 2)."""
        return torch.sigmoid(log_snr / 2)


class VPCosine(Schedule):
    """Cosine variance-preserving schedule of Nichol & Dhariwal 2021 ("Improved DDPM", eq. 17).

    With diffusion time s = 1 - t: alpha_bar = f(s) / f(0), f(s) = cos^2((s + offset) / (1 + offset)
    * pi / 2). Written as alpha_t = sin(c t) / cos(c offset), c = pi / (2 (1 + offset)), so that
    alpha_0 = 0 exactly; sigma_t = sqrt(1 - alpha_t^2) is computed without cancellation. For
    offset > 0, d_sigma_t is -inf at t = 1 (sigma_t ~ sqrt(1 - t)); solvers never evaluate there.
    """

    def __init__(self, offset: float = 0.008) -> None:
        self.offset = offset
        self._rate = math.pi / (2 * (1 + offset))
        self._norm = math.cos(self._rate * offset)

    def __call__(self, t: Tensor) -> Coefficients:
        """Return (alpha_t, sigma_t, d_alpha_t, d_sigma_t), each shaped like ``t``."""
        c, norm = self._rate, self._norm
        alpha_t = torch.sin(c * t) / norm
        sigma_t = torch.sqrt(torch.sin(c * (1 - t)) * torch.sin(c * (1 - t + 2 * self.offset)))
        sigma_t = sigma_t / norm
        d_alpha_t = c * torch.cos(c * t) / norm
        d_sigma_t = -alpha_t * d_alpha_t / sigma_t
        return alpha_t, sigma_t, d_alpha_t, d_sigma_t

    def t_for_log_snr(self, log_snr: Tensor) -> Tensor:
        """Closed form: alpha_t = sqrt(sigmoid(log_snr)), t = arcsin(alpha_t cos(c offset)) / c."""
        alpha_t = torch.exp(0.5 * torch.nn.functional.logsigmoid(log_snr))
        return torch.arcsin(alpha_t * self._norm) / self._rate


class VPLinear(Schedule):
    """Continuous-time DDPM: the VP SDE with a linear beta (Song et al. 2021, "Score-Based
    Generative Modeling through SDEs", appendix B).

    With diffusion time s = 1 - t and beta(s) = beta_min + s (beta_max - beta_min):
    log alpha_bar = -s^2 (beta_max - beta_min) / 2 - s beta_min, alpha_t = sqrt(alpha_bar),
    sigma_t = sqrt(1 - alpha_bar). alpha_0 = exp(-(beta_max + beta_min) / 4) is small, not zero;
    d_sigma_t is -inf at t = 1, where solvers never evaluate the field.
    """

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0) -> None:
        self.beta_min = beta_min
        self.beta_max = beta_max

    def __call__(self, t: Tensor) -> Coefficients:
        """Return (alpha_t, sigma_t, d_alpha_t, d_sigma_t), each shaped like ``t``."""
        s = 1 - t
        spread = self.beta_max - self.beta_min
        log_alpha_bar = -0.5 * spread * s**2 - self.beta_min * s
        alpha_t = torch.exp(0.5 * log_alpha_bar)
        sigma_t = torch.sqrt(-torch.expm1(log_alpha_bar))
        d_alpha_t = 0.5 * (self.beta_min + spread * s) * alpha_t
        d_sigma_t = -alpha_t * d_alpha_t / sigma_t
        return alpha_t, sigma_t, d_alpha_t, d_sigma_t

    def t_for_log_snr(self, log_snr: Tensor) -> Tensor:
        """Closed form: the positive root s of spread s^2 / 2 + beta_min s + log alpha_bar = 0."""
        log_alpha_bar = torch.nn.functional.logsigmoid(log_snr)
        spread = self.beta_max - self.beta_min
        root = torch.sqrt(self.beta_min**2 - 2 * spread * log_alpha_bar)
        s = -2 * log_alpha_bar / (self.beta_min + root)
        return (1 - s).clamp(0.0, 1.0)


class DiscreteVP(Schedule):
    """DDPM's N-step training schedule (Ho et al. 2020) placed on continuous t.

    Step n (0-based, as in DiffWave's code: alpha_bar[n] = prod_{i <= n} (1 - beta_i)) sits at
    t = 1 - (n + 1) / N, so step N - 1 (noisiest) is t = 0 and the clean data is t = 1. Between
    steps, log alpha_bar is linear in t (a constant beta within each step), which makes the
    schedule continuous for any time grid, differentiable within steps, and exactly invertible.
    Networks with step embeddings receive :meth:`t_to_step` (fractional between training steps).
    """

    def __init__(self, betas: Tensor | Sequence[float]) -> None:
        betas = torch.as_tensor(betas, dtype=torch.float64)
        if betas.ndim != 1 or not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("betas must be a 1-D sequence of values in (0, 1)")
        self.betas = betas
        self.num_steps = betas.numel()
        self._log_alphas = torch.log1p(-betas)
        self._log_alpha_bar_knots = torch.cat([betas.new_zeros(1), self._log_alphas.cumsum(0)])

    @property
    def alpha_bars(self) -> Tensor:
        """alpha_bar of each training step, shape (N,)."""
        return self._log_alpha_bar_knots[1:].exp()

    def t_to_step(self, t: Tensor) -> Tensor:
        """Fractional training step N (1 - t) - 1 of time t (-1 is clean data)."""
        return self.num_steps * (1 - t) - 1

    def step_to_t(self, step: Tensor | int) -> Tensor:
        """Time 1 - (step + 1) / N of a (possibly fractional) training step."""
        step = torch.as_tensor(step, dtype=torch.float64)
        return 1 - (step + 1) / self.num_steps

    def __call__(self, t: Tensor) -> Coefficients:
        """Return (alpha_t, sigma_t, d_alpha_t, d_sigma_t), each shaped like ``t``."""
        knots = self._log_alpha_bar_knots.to(dtype=t.dtype, device=t.device)
        log_alphas = self._log_alphas.to(dtype=t.dtype, device=t.device)
        position = self.num_steps * (1 - t)
        index = position.detach().floor().clamp(0, self.num_steps - 1).long()
        log_alpha_bar = knots[index] + (position - index) * log_alphas[index]
        d_log_alpha_bar = -self.num_steps * log_alphas[index]
        alpha_t = torch.exp(0.5 * log_alpha_bar)
        sigma_t = torch.sqrt(-torch.expm1(log_alpha_bar))
        d_alpha_t = 0.5 * d_log_alpha_bar * alpha_t
        d_sigma_t = -alpha_t * d_alpha_t / sigma_t
        return alpha_t, sigma_t, d_alpha_t, d_sigma_t

    def t_for_log_snr(self, log_snr: Tensor) -> Tensor:
        """Closed form: locate the step whose alpha_bar range holds the target, interpolate."""
        knots = self._log_alpha_bar_knots.to(dtype=log_snr.dtype, device=log_snr.device)
        log_alphas = self._log_alphas.to(dtype=log_snr.dtype, device=log_snr.device)
        log_alpha_bar = torch.nn.functional.logsigmoid(log_snr)
        after = torch.searchsorted(-knots, -log_alpha_bar.contiguous())
        index = (after - 1).clamp(0, self.num_steps - 1)
        position = index + (log_alpha_bar - knots[index]) / log_alphas[index]
        return 1 - position.clamp(0, self.num_steps) / self.num_steps


def linear_discrete_vp(beta_start: float = 1e-4, beta_end: float = 0.05,
                       num_steps: int = 50) -> DiscreteVP:
    """DDPM's linearly spaced betas as a :class:`DiscreteVP` (DiffWave base: 1e-4 to 0.05 over
    50 steps, Kong et al. 2021)."""
    return DiscreteVP(torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float64))
