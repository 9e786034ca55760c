"""Export a generator with a fixed number of network passes to an ONNX graph.

What exports: a GAN vocoder (features -> audio, one pass), a flow or diffusion vocoder at a
chosen step count with its deterministic solver unrolled (features and start noise -> audio),
an audio-to-audio model (audio [and start noise] -> audio, its STFT in the graph), and a codec
decoder (tokens -> audio). The
complex STFT and inverse STFT become strided convolutions with a windowed DFT basis
(:func:`audiogen.representations.spectral.dft_stft` / ``dft_istft``) while exporting. The start
noise is a graph input rather than a constant: a constant cannot follow a dynamic length, and
as an input the caller can draw fresh samples or reproduce a PyTorch run with the same noise.
A model whose prior is deterministic (a predictive enhancer) has no noise input.

The graph's metadata carries the feature spec, the sample rate and the input layout, so the
runtime (:mod:`audiogen.export.runtime`) refuses features made with other settings.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from audiogen.errors import ConfigError
from audiogen.export.runtime import META_PREFIX
from audiogen.representations.codec import NeuralCodec
from audiogen.tasks.base import Task
from audiogen.tasks.enhance import AudioToAudio, GenerativeEnhancer
from audiogen.tasks.gan_vocoder import GANVocoder
from audiogen.tasks.griffin_lim import GriffinLim
from audiogen.tasks.priors import DecodedPrior, GriffinLimPrior
from audiogen.tasks.vocoder import GenerativeVocoder

OPSET = 18
EXAMPLE_FRAMES = 37  # an odd example length, so no length is mistaken for a constant


class ExportError(ConfigError):
    """A model, or a setting of it, that has no ONNX graph here; the message says why."""


class VocoderGraph(nn.Module):
    """features (B, C, frames) [, noise (B, state.dim, state frames)] -> audio (B, T)."""

    def __init__(self, task: Task, steps: int | None, solver: str | None,
                 grid: str | None) -> None:
        super().__init__()
        self.task, self.steps, self.solver, self.grid = task, steps, solver, grid

    def forward(self, features: torch.Tensor, noise: torch.Tensor | None = None
                ) -> torch.Tensor:
        if isinstance(self.task, GenerativeVocoder):
            return self.task.generate(features, self.steps, self.solver, grid=self.grid,
                                      noise=_start_noise(self.task, features, noise))
        return self.task.synthesize(features, self.steps)


class EnhancerGraph(nn.Module):
    """audio (B, T) [, noise (B, state.dim, state frames)] -> restored audio (B, T)."""

    def __init__(self, task: GenerativeEnhancer, steps: int | None, solver: str | None,
                 grid: str | None) -> None:
        super().__init__()
        self.task, self.steps, self.solver, self.grid = task, steps, solver, grid

    def forward(self, audio: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        features = self.task.encode_whole_frames(audio)
        wave = self.task.generate(features, self.steps, self.solver, grid=self.grid,
                                  noise=_start_noise(self.task, features, noise))
        return wave[..., : audio.shape[-1]]


class CodecDecoderGraph(nn.Module):
    """tokens (B, n_q, frames) int64 -> audio (B, frames * hop): the codec's dequantizer and
    decoder at the bandwidth it was loaded with."""

    def __init__(self, codec: NeuralCodec) -> None:
        super().__init__()
        self.codec = codec

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.codec.decode_levels(tokens)


def _start_noise(task: GenerativeVocoder, features: torch.Tensor, noise: torch.Tensor | None
                 ) -> torch.Tensor:
    """The given noise, or zeros when the prior is deterministic (no noise input)."""
    if noise is not None:
        return noise
    return torch.zeros(state_shape(task, features), dtype=features.dtype,
                       device=features.device)


def state_shape(task: GenerativeVocoder, features: torch.Tensor) -> torch.Size:
    """(B, state.dim, state frames) of the sampled state for ``features`` (B, C, frames)."""
    length = features.shape[-1] * task.representation.hop_length
    return torch.Size((features.shape[0], task.state.dim, task.state.num_frames(length)))


@dataclass
class Graph:
    """A module to trace, example inputs, their names and which axes are dynamic."""

    module: nn.Module
    inputs: dict[str, torch.Tensor]
    dynamic: dict[str, dict[int, str]]
    kind: str  # "vocoder" (features in), "enhancer" (audio in) or "codec" (tokens in)


def build_graph(task: Task, name: str, steps: int | None = None, solver: str | None = None,
                grid: str | None = None) -> Graph:
    """The exportable module of ``task`` with example inputs; :class:`ExportError` naming
    ``name`` and the reason when it has none."""
    check_exportable(task, name, steps, solver, grid)
    representation = task.representation
    if isinstance(task, GenerativeEnhancer):
        length = EXAMPLE_FRAMES * representation.hop_length - 5
        audio = 0.1 * torch.randn(1, length)
        inputs = {"audio": audio}
        dynamic = {"audio": {0: "batch", 1: "samples"}}
        features = task.encode_whole_frames(audio)
        module: nn.Module = EnhancerGraph(task, steps, solver, grid)
        kind = "enhancer"
    else:
        features = representation.encode(0.1 * torch.randn(1, EXAMPLE_FRAMES
                                                           * representation.hop_length))
        inputs = {"features": features}
        dynamic = {"features": {0: "batch", 2: "frames"}}
        module = VocoderGraph(task, steps, solver, grid)
        kind = "vocoder"
    if isinstance(task, GenerativeVocoder) and not _deterministic_prior(task, features):
        inputs["noise"] = torch.randn(state_shape(task, features))
        dynamic["noise"] = {0: "batch", 2: "state_frames"}
    return Graph(module.eval(), inputs, dynamic, kind)


def _deterministic_prior(task: GenerativeVocoder, features: torch.Tensor) -> bool:
    """Whether the prior's std is zero everywhere (then the graph takes no noise)."""
    with torch.no_grad():
        std = task.prior.std(features, state_shape(task, features))
    return bool((std == 0).all())


def phase_retrieval(task: Task | None) -> GriffinLim | GriffinLimPrior | None:
    """The phase retrieval ``task`` runs: itself (a mel inversion) or its Griffin-Lim prior."""
    inversion = task if isinstance(task, GriffinLim) else getattr(task, "prior", None)
    return inversion if isinstance(inversion, (GriffinLim, GriffinLimPrior)) else None


def check_exportable(task: Task, name: str, steps: int | None = None,
                     solver: str | None = None, grid: str | None = None) -> None:
    """Raise :class:`ExportError` naming ``name`` when ``task`` has no ONNX graph here."""
    inversion = phase_retrieval(task)
    if inversion is not None:
        if inversion.phase_init == "pghi":
            raise ExportError(f"{name}: cannot export to ONNX: its phase starts from PGHI, a "
                              "heap-ordered phase integration (data-dependent sequential "
                              "control flow that an ONNX graph cannot express); export it with "
                              "--phase-init random or zero to start from that phase instead")
    if isinstance(task, AudioToAudio) and not isinstance(task, GenerativeEnhancer):
        raise ExportError(f"{name}: cannot export to ONNX: {type(task).__name__} is not a "
                          "network (only the generative enhancers export)")
    if isinstance(task, GenerativeVocoder):
        if task.decoder is not None:
            raise ExportError(f"{name}: cannot export to ONNX: a two-stage model (its state "
                              "is decoded by a second task)")
        if isinstance(task.prior, DecodedPrior):
            raise ExportError(f"{name}: cannot export to ONNX: its prior decodes the "
                              "features with the representation's own decoder")
        if (solver or task.solver) == "ddpm":
            raise ExportError(f"{name}: cannot export solver 'ddpm': it draws fresh noise at "
                              "every step; use ddim (its deterministic eta = 0 form), euler, "
                              "heun, midpoint or dpm_solver_pp_2m")
        return
    if not isinstance(task, (GANVocoder, GriffinLim)):
        raise ExportError(f"{name}: cannot export to ONNX: {type(task).__name__} is not a "
                          "vocoder or an audio-to-audio model")
    if isinstance(task, GriffinLim) and (solver is not None or grid is not None):
        raise ExportError(f"{name}: Griffin-Lim has iterations (--steps), no solver or grid")
    if isinstance(task, GANVocoder) and any(option is not None
                                            for option in (steps, solver, grid)):
        raise ExportError(f"{name}: a one-step GAN vocoder has no solver steps, solver or grid "
                          "to set")


def export_onnx(name_or_path: str | os.PathLike, out: str | os.PathLike,
                steps: int | None = None, solver: str | None = None, grid: str | None = None,
                fp16: bool = False, phase_init: str | None = None) -> Path:
    """Export a shipped or trained model (see :func:`audiogen.api.load`) to ``out``, with its
    spec, sample rate and sampling settings in the graph's metadata; ``fp16`` stores float16
    weights and computes in float16 with float32 inputs and outputs. ``phase_init``
    (``"random"`` or ``"zero"``) replaces the start phase of a model that runs a phase
    retrieval (a mel inversion, or a vocoder whose prior runs one), e.g. the PGHI start of the
    shipped inversions, which has no graph form."""
    from audiogen.api import Codec, Enhancer, Vocoder, load

    name = str(name_or_path)
    model = load(name_or_path)
    if phase_init is not None:
        inversion = phase_retrieval(getattr(model, "task", None))
        if inversion is None:
            raise ExportError(f"{name}: --phase-init applies to models that run a phase "
                              "retrieval (a mel inversion or a Griffin-Lim prior); this one "
                              "runs none")
        if phase_init not in ("random", "zero"):
            raise ExportError(f"--phase-init {phase_init!r}: an ONNX graph can start from "
                              "'random' or 'zero' phase")
        inversion.phase_init = phase_init  # type: ignore[assignment]
    if isinstance(model, Codec):
        if any(option is not None for option in (steps, solver, grid)):
            raise ExportError(f"{name}: a codec decoder has no solver steps, solver or grid")
        return export_codec_decoder(model.codec, out, name, fp16)
    if not isinstance(model, (Vocoder, Enhancer)):
        raise ExportError(f"{name}: cannot export to ONNX: a {type(model).__name__} (only "
                          "vocoders, audio-to-audio models and codec decoders export)")
    return export_task(model.task, out, name, steps, solver, grid, fp16)


def export_codec_decoder(codec: NeuralCodec, out: str | os.PathLike, name: str,
                         fp16: bool = False) -> Path:
    """The decoder of ``codec`` (tokens -> audio) at its current bandwidth, with the codec's
    spec (n_q, codebook size, weights hash) in the metadata."""
    codec = codec.float().eval()
    tokens = torch.randint(0, codec.codebook_size, (1, codec.n_q, EXAMPLE_FRAMES))
    graph = Graph(CodecDecoderGraph(codec).eval(), {"tokens": tokens},
                  {"tokens": {0: "batch", 2: "frames"}}, "codec")
    meta = {"kind": "codec", "spec": json.dumps(codec.spec), "model_spec": json.dumps(codec.spec),
            "sample_rate": str(codec.sample_rate), "source": name, "inputs": "tokens",
            "precision": "fp16" if fp16 else "fp32", "hop_length": str(codec.hop_length)}
    return _save(graph, meta, out, fp16)


def export_task(task: Task, out: str | os.PathLike, name: str, steps: int | None = None,
                solver: str | None = None, grid: str | None = None, fp16: bool = False
                ) -> Path:
    """:func:`export_onnx` of a task object (``name`` is stored as the graph's source)."""
    if fp16 and isinstance(task, GriffinLim):
        raise ExportError(f"{name}: --fp16 is not supported for a mel inversion (its "
                          "exponentials and divisions by |X| are kept in float32 by the "
                          "converter, which then leaves mismatched types); export it in fp32")
    task = task.float().eval()
    graph = build_graph(task, name, steps, solver, grid)
    return _save(graph, metadata(task, graph, name, steps, solver, grid, fp16), out, fp16)


def _save(graph: Graph, meta: dict[str, str], out: str | os.PathLike, fp16: bool) -> Path:
    """Trace ``graph``, convert it to float16 if asked, add ``meta`` and write it."""
    import onnx

    proto = share_constants(trace(graph))
    if fp16:
        proto = to_float16(proto)
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = f"{META_PREFIX}{key}", value
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(out))
    return out


def trace(graph: Graph) -> Any:
    """The graph's ``onnx.ModelProto``, with its length and batch axes dynamic.

    The TorchScript-tracing exporter (``dynamo=False``) runs the model once and records it:
    the unrolled solvers branch in Python on their constant time grid (e.g. Heun's last,
    first-order step), which tracing folds into the graph and ``torch.export`` would refuse
    as data-dependent control flow."""
    import onnx

    names = list(graph.inputs)
    axes = {**graph.dynamic, "audio_out": {0: "batch", 1: "samples"}}
    with tempfile.TemporaryDirectory() as folder, torch.no_grad(), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(folder) / "graph.onnx"
        torch.onnx.export(graph.module, tuple(graph.inputs.values()), path,
                          input_names=names, output_names=["audio_out"], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)
        return onnx.load(str(path))


def share_constants(proto: Any) -> Any:
    """Keep one copy of each repeated Constant node (tracing writes a DFT basis once per STFT
    call: twice per Griffin-Lim iteration), pointing every use at the first."""
    first: dict[bytes, str] = {}
    renamed: dict[str, str] = {}
    kept = []
    for node in proto.graph.node:
        if node.op_type == "Constant" and [a.name for a in node.attribute] == ["value"]:
            value = type(node.attribute[0].t)()
            value.CopyFrom(node.attribute[0].t)
            value.name = ""
            key = value.SerializeToString()
            if key in first:
                renamed[node.output[0]] = first[key]
                continue
            first[key] = node.output[0]
        for index, name in enumerate(node.input):
            if name in renamed:
                node.input[index] = renamed[name]
        kept.append(node)
    del proto.graph.node[:]
    proto.graph.node.extend(kept)
    return proto


def to_float16(proto: Any) -> Any:
    """Float16 weights and arithmetic with float32 graph inputs and outputs
    (``onnxconverter-common``). The converter retypes every float tensor but leaves the
    target type of the graph's own Cast nodes (``.float()`` in the model) at float32; those
    are set to float16 to agree with their retyped outputs."""
    from onnx import TensorProto, helper
    from onnxconverter_common import float16

    with warnings.catch_warnings():  # it warns for every weight below float16's range
        warnings.simplefilter("ignore")
        half = float16.convert_float_to_float16(proto, keep_io_types=True)
    declared = {info.name: info.type.tensor_type.elem_type for info in half.graph.value_info}
    for node in half.graph.node:
        if node.op_type == "Cast" and declared.get(node.output[0]) == TensorProto.FLOAT16:
            del node.attribute[:]
            node.attribute.append(helper.make_attribute("to", TensorProto.FLOAT16))
    return half


def metadata(task: Task, graph: Graph, name: str, steps: int | None, solver: str | None,
             grid: str | None, fp16: bool) -> dict[str, str]:
    """The metadata_props the runtime reads (values are strings; JSON where structured)."""
    meta = {"kind": graph.kind, "spec": json.dumps(task.representation.spec),
            "model_spec": json.dumps(task.spec),
            "sample_rate": str(task.sample_rate), "source": name,
            "inputs": ",".join(graph.inputs), "precision": "fp16" if fp16 else "fp32",
            "hop_length": str(task.representation.hop_length)}
    if isinstance(task, GenerativeVocoder):
        meta["sampling"] = json.dumps({"steps": steps or task.steps,
                                       "solver": solver or task.solver,
                                       "grid": grid or task.grid})
        meta["state_spec"] = json.dumps(task.state.spec)
        meta["state_channels"] = str(task.state.dim)
    if isinstance(task, GriffinLim):
        meta["sampling"] = json.dumps({"steps": steps or task.n_iter, "solver": task.method,
                                       "grid": None})
    inversion = phase_retrieval(task)
    if inversion is not None:
        meta["phase_init"] = inversion.phase_init
    return meta
