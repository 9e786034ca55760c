"""DNSMOS P.835 (Reddy et al. 2022) over overlapping windows, from one shared feature map.

speechmos's ONNX model maps a 9.01 s clip (144,160 samples at 16 kHz) to raw SIG, BAK and OVRL:
320-sample frames at a 160-sample hop (900 frames), a DFT as a 1x1 convolution, log10 power,
four 3x3 convolutions at full resolution (the *trunk*: 97 % of the multiply-adds), then three
convolution / max-pool stages, a global max and three dense layers (the *head*). speechmos scores
a clip by the mean over 9.01 s windows at a 1 s hop, shorter clips tiled (doubled) first, so a
2 s clip costs three to nine 9.01 s passes.

:func:`split_graph` cuts the shipped graph into two ONNX graphs with a free frame axis, and
:class:`DnsmosNetwork` runs them with onnxruntime. The trunk is translation-equivariant along
frames, and windows start every 100 frames, so a window's trunk features equal those of the
whole signal except in the :data:`HALO` frames at each window edge (four 3x3 convolutions reach
4 frames), which are recomputed from the window's own edge frames with its zero padding. The
trunk thus runs once per signal, not once per window; every layer computes what the whole graph
computes (same onnxruntime kernels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

RATE = 16000
WINDOW_SECONDS = 9.01  # speechmos.dnsmos.INPUT_LENGTH
WINDOW = int(WINDOW_SECONDS * RATE)
FRAME, HOP = 320, 160
BINS = 161
TRUNK_CHANNELS = 32
HALO = 4
TRUNK_INPUT = "mos_estimator_logpow/concat:0"
TRUNK_OUTPUT = "mos_estimator_logpow/conv2d_3/Relu:0"
HEAD_OUTPUT = "Identity:0"


def split_graph(path: Path) -> tuple[Any, Any]:
    """The trunk (frames (N, F, 320) -> features (N, 32, F, 161)) and the head (features ->
    raw SIG, BAK, OVRL (N, 3)) of speechmos's sig_bak_ovr.onnx, as ONNX models with free N
    and F."""
    import onnx

    model = onnx.load(str(path))
    trunk = _subgraph(model, TRUNK_INPUT, ["n", "f", FRAME], TRUNK_OUTPUT,
                      ["n", TRUNK_CHANNELS, "f", BINS])
    head = _subgraph(model, TRUNK_OUTPUT, ["n", TRUNK_CHANNELS, "f", BINS], HEAD_OUTPUT,
                     ["n", 3])
    return trunk, head


def _subgraph(model: Any, source: str, source_shape: list[Any], target: str,
              target_shape: list[Any]) -> Any:
    """The nodes of ``model`` between tensors ``source`` and ``target``, as a model."""
    import onnx
    from onnx import TensorProto, helper

    producers = {output: node for node in model.graph.node for output in node.output}
    needed: set[str] = set()
    pending = [target]
    while pending:
        name = pending.pop()
        node = producers.get(name)
        if name == source or node is None or node.name in needed:
            continue
        needed.add(node.name)
        pending.extend(node.input)
    nodes = [node for node in model.graph.node if node.name in needed]
    used = {name for node in nodes for name in node.input}
    graph = helper.make_graph(
        nodes, f"{source}->{target}",
        [helper.make_tensor_value_info(source, TensorProto.FLOAT, source_shape)],
        [helper.make_tensor_value_info(target, TensorProto.FLOAT, target_shape)],
        [tensor for tensor in model.graph.initializer if tensor.name in used])
    part = helper.make_model(graph, opset_imports=model.opset_import)
    part.ir_version = model.ir_version
    onnx.checker.check_model(part)
    return part


def frames(audio: np.ndarray) -> np.ndarray:
    """(F, 320) float32 frames at a 160-sample hop of a (T,) signal, F = T // 160 - 1, as the
    model's cropping and reshapes cut them."""
    view = np.lib.stride_tricks.sliding_window_view(audio.astype(np.float32), FRAME)[::HOP]
    return np.ascontiguousarray(view[: len(audio) // HOP - 1])


def tile(audio: np.ndarray, length: int) -> np.ndarray:
    """speechmos's tiling: the clip doubled until it has at least ``length`` samples."""
    while len(audio) < length:
        audio = np.append(audio, audio)
    return audio


def window_starts(length: int) -> list[int]:
    """First samples of speechmos's 9.01 s windows at a 1 s hop over ``length`` samples."""
    hops = int(np.floor(length / RATE) - WINDOW_SECONDS) + 1
    starts = [int(index * RATE) for index in range(hops)]
    return [start for start in starts
            if min(length, int((start / RATE + WINDOW_SECONDS) * RATE)) - start >= WINDOW]


class DnsmosNetwork:
    """speechmos's DNSMOS P.835 model as a trunk and a head onnxruntime session.

    ``sessions(model) -> session`` builds an onnxruntime session of an ONNX model;
    ``chunk_frames`` bounds the frames of one trunk call (memory and cache use)."""

    def __init__(self, path: Path, session: Any, chunk_frames: int = 128) -> None:
        trunk, head = split_graph(path)
        self.trunk_session = session(trunk)
        self.head_session = session(head)
        self.chunk_frames = chunk_frames

    def trunk(self, frames: np.ndarray) -> np.ndarray:
        """(32, F, 161) trunk features of (F, 320) frames taken as one sequence (zero padding
        at its two ends), computed in chunks that overlap by :data:`HALO` frames."""
        count = len(frames)
        features = np.empty((TRUNK_CHANNELS, count, BINS), np.float32)
        for start in range(0, count, self.chunk_frames):
            stop = min(count, start + self.chunk_frames)
            low, high = max(0, start - HALO), min(count, stop + HALO)
            chunk = self.trunk_session.run(None, {TRUNK_INPUT: frames[None, low:high]})[0][0]
            features[:, start:stop] = chunk[:, start - low: stop - low]
        return features

    def head(self, features: np.ndarray) -> np.ndarray:
        """Raw (SIG, BAK, OVRL) (3,) of (32, F, 161) trunk features."""
        return self.head_session.run(None, {TRUNK_OUTPUT: features[None]})[0][0]

    def windows(self, audio: np.ndarray, starts: Sequence[int]) -> np.ndarray:
        """Raw (SIG, BAK, OVRL) of each 9.01 s window of ``audio`` (T,) starting at ``starts``
        (multiples of the 160-sample hop), (windows, 3): the trunk runs once over the frames
        the windows cover; each window's :data:`HALO` edge frames are recomputed alone."""
        if any(start % HOP for start in starts):
            raise ValueError("window starts must be multiples of the 160-sample hop")
        count = WINDOW // HOP - 1
        covered = frames(audio[: max(starts) + WINDOW])
        shared = self.trunk(covered)
        scores = []
        for start in starts:
            first = start // HOP
            window = shared[:, first: first + count].copy()
            window[:, :HALO] = self.trunk(covered[first: first + 2 * HALO])[:, :HALO]
            window[:, -HALO:] = self.trunk(covered[first + count - 2 * HALO: first + count]
                                           )[:, -HALO:]
            scores.append(self.head(window))
        return np.stack(scores)

    def whole(self, audio: np.ndarray) -> np.ndarray:
        """Raw (SIG, BAK, OVRL) (1, 3) of a clip scored once at its own length (tiled up to
        the 8 frames the three max-pools need)."""
        return self.head(self.trunk(frames(tile(audio, (2 ** 3 + 1) * HOP))))[None]
