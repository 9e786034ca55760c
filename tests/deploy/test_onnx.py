"""ONNX export: exported graphs run in onnxruntime as PyTorch runs the model (random-init small
models; real speech from the LJSpeech sample beside the repository when it is there), the
runtime needs no torch, and bad inputs give one-line errors.

Bounds: fp32 max abs error <= 1e-4 (the issue's), PESQ-wb difference <= 0.01; fp16 max abs
error <= 1e-2 on audio of peak ~0.3 to 1 (float16 has 11 significant bits).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from audiogen.cli import main
from audiogen.export.runtime import OnnxGenerator
from audiogen.generative.schedules import CondOT, linear_discrete_vp
from audiogen.models.backbones import ConvNeXtBackbone, WaveNetBackbone
from audiogen.models.heads import ISTFTHead
from audiogen.models.vocoders import ConditionalFlowNet, FrameVocoder
from audiogen.representations.spectral import CompressedSTFT, LogMel, Waveform
from audiogen.tasks.enhance import GenerativeEnhancer
from audiogen.tasks.gan_vocoder import GANVocoder
from audiogen.tasks.priors import ConditionPrior, GriffinLimPrior, MelSpectralPrior
from audiogen.tasks.vocoder import GenerativeVocoder
from tests.conftest import SHARED_DATA, harmonic_tone

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
from audiogen.export.onnx import ExportError, export_task  # noqa: E402

WAVS = SHARED_DATA / "ljspeech_mini" / "LJSpeech-1.1" / "wavs"
needs_speech = pytest.mark.skipif(not WAVS.is_dir(), reason="no LJSpeech sample beside the "
                                  "repository")


def speech(seconds: float = 3.0) -> np.ndarray:
    """The first LJSpeech sample at 16 kHz (librosa's resampler), float32."""
    import librosa

    wave, rate = soundfile.read(sorted(WAVS.glob("*.wav"))[0], dtype="float32")
    return librosa.resample(wave, orig_sr=rate, target_sr=16000)[: int(seconds * 16000)]


def randomised(module: torch.nn.Module, std: float = 0.05, seed: int = 0) -> torch.nn.Module:
    """Small random weights everywhere, so zero-initialised gates and outputs do something."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(std * torch.randn(parameter.shape, generator=generator))
    return module.eval()


def mel() -> LogMel:
    return LogMel(16000, n_fft=256, hop_length=64, n_mels=24, fmax=8000.0)


def gan_vocoder() -> GANVocoder:
    generator = FrameVocoder(ConvNeXtBackbone(24, 32, 64, 2), ISTFTHead(32, 256, 64))
    return randomised(GANVocoder(mel(), generator, []))  # type: ignore[return-value]


def flow_vocoder() -> GenerativeVocoder:
    """A Gaussian-started flow on the compressed STFT with a mel-shaped prior, 3 Heun steps."""
    network = ConditionalFlowNet(2 * 129, 24, dim=32, intermediate_dim=64, num_layers=2)
    task = GenerativeVocoder(mel(), CompressedSTFT(16000, 256, 64, alpha=0.5, scale=0.3),
                             randomised(network, 0.02), CondOT(), prior=MelSpectralPrior(),
                             steps=3, solver="heun")
    return task.eval()


def diffusion_vocoder() -> GenerativeVocoder:
    """A DiffWave-style waveform diffusion model (eps prediction, discrete VP schedule) sampled
    with deterministic DDIM on DiffWave's inference betas."""
    network = WaveNetBackbone(24, [8, 8], residual_channels=8, residual_layers=2,
                              dilation_cycle_length=2, time_embedding_dim=16)
    task = GenerativeVocoder(mel(), Waveform(16000), randomised(network, 0.02),
                             linear_discrete_vp(num_steps=50), prediction="eps", steps=3,
                             solver="ddim", grid="betas", inference_betas=[1e-4, 0.01, 0.2])
    return task.eval()


def enhancer(noise: float = 0.0, steps: int = 1) -> GenerativeEnhancer:
    """A predictive (noise 0, one step) or flow (noise > 0) enhancer; its zero-initialised
    output is perturbed only slightly, so its output stays near its input (a PESQ that means
    something)."""
    representation = CompressedSTFT(16000, 254, 64, alpha=0.5, scale=0.15)
    network = ConditionalFlowNet(2 * 128, 2 * 128, dim=32, intermediate_dim=64, num_layers=2)
    task = GenerativeEnhancer(representation, randomised(network, 0.003), CondOT(),
                              prior=ConditionPrior(noise), time_density="start", steps=steps)
    return task.eval()


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[object, Path]]:
    """Each small model and its exported fp32 graph."""
    folder = tmp_path_factory.mktemp("onnx")
    models = {"gan": gan_vocoder(), "flow": flow_vocoder(), "diffusion": diffusion_vocoder(),
              "enhancer": enhancer(),
              "flow_enhancer": enhancer(noise=0.3, steps=2)}
    return {name: (task, export_task(task, folder / f"{name}.onnx", name))  # type: ignore
            for name, task in models.items()}


def run_both(task: object, path: Path, x: np.ndarray, seed: int = 3
             ) -> tuple[np.ndarray, np.ndarray]:
    """(PyTorch, onnxruntime) outputs for one input, with the same start noise."""
    runtime = OnnxGenerator(path, threads=2)
    noise = None
    if "noise" in runtime.inputs:
        shape = runtime.noise_shape(x)
        noise = np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)
    with torch.no_grad():
        tensor = torch.from_numpy(x)
        if isinstance(task, GenerativeEnhancer):
            features = task.encode_whole_frames(tensor)
            noise_t = None if noise is None else torch.from_numpy(noise)
            expected = task.generate(features, noise=noise_t
                                     if noise_t is not None else torch.zeros(
                                         features.shape))[..., : x.shape[-1]]
        elif isinstance(task, GenerativeVocoder):
            expected = task.generate(tensor, noise=torch.from_numpy(noise))  # type: ignore
        else:
            expected = task.synthesize(tensor)  # type: ignore[attr-defined]
    return expected.numpy(), runtime(x, seed)


def test_graph_inputs_and_metadata(graphs: dict[str, tuple[object, Path]]) -> None:
    expected = {"gan": ["features"], "flow": ["features", "noise"],
                "diffusion": ["features", "noise"], "enhancer": ["audio"],
                "flow_enhancer": ["audio", "noise"]}
    for name, (task, path) in graphs.items():
        runtime = OnnxGenerator(path)
        assert runtime.inputs == expected[name]
        assert [i.name for i in runtime.session.get_inputs()] == expected[name]
        assert runtime.spec == json.loads(json.dumps(task.representation.spec))  # type: ignore
        assert runtime.sample_rate == 16000
    assert json.loads(OnnxGenerator(graphs["flow"][1]).meta["sampling"])["steps"] == 3


@pytest.mark.parametrize("name", ["gan", "flow", "diffusion"])
@pytest.mark.parametrize("frames", [1, 17, 200])
def test_vocoders_match_pytorch_at_any_length_and_batch(graphs: dict[str, tuple[object, Path]],
                                                        name: str,
                                              frames: int) -> None:
    task, path = graphs[name]
    wave = torch.from_numpy(harmonic_tone(frames * 64 / 16000 + 0.01, 16000, 150.0, frames))
    features = task.representation.encode(wave[None]).numpy()  # type: ignore[attr-defined]
    batch = np.concatenate([features, features - 0.5])[..., :frames]  # a batch of 2
    expected, got = run_both(task, path, batch)
    assert got.shape == expected.shape == (2, frames * 64)
    assert np.abs(got - expected).max() <= 1e-4


@pytest.mark.parametrize("name", ["enhancer", "flow_enhancer"])
@pytest.mark.parametrize("samples", [300, 4001])
def test_enhancers_match_pytorch_at_any_length_and_batch(graphs: dict[str, tuple[object, Path]],
                                               name: str, samples: int) -> None:
    task, path = graphs[name]
    wave = harmonic_tone(samples / 16000, 16000, 180.0, samples)[None]
    expected, got = run_both(task, path, np.concatenate([wave, 0.5 * wave]))
    assert got.shape == expected.shape == (2, samples)
    assert np.abs(got - expected).max() <= 1e-4


@needs_speech
def test_parity_on_real_speech(graphs: dict[str, tuple[object, Path]]) -> None:
    """fp32 max abs error <= 1e-4 on speech features, and PESQ-wb of the two outputs against
    the clean speech within 0.01 (the enhancer stays near its input, so PESQ is informative)."""
    import pesq

    wave = speech()
    for name in ("gan", "flow", "diffusion"):
        task, path = graphs[name]
        features = task.representation.encode(torch.from_numpy(wave[:24000])[None])  # type: ignore
        expected, got = run_both(task, path, features.numpy())
        assert np.abs(got - expected).max() <= 1e-4, name
    task, path = graphs["enhancer"]
    expected, got = run_both(task, path, wave[None])
    assert np.abs(got - expected).max() <= 1e-4
    scores = [pesq.pesq(16000, wave, out[0], "wb") for out in (expected, got)]
    assert scores[0] > 2.0  # an informative comparison, not two floor scores
    assert abs(scores[0] - scores[1]) <= 0.01


@needs_speech
def test_numpy_log_mel_matches_the_torch_representation_on_speech() -> None:
    """The runtime's numpy/librosa log mel equals LogMel.encode within 2e-3 (max abs, ln units,
    reached only in bins near the clamp floor) and 1e-5 on average."""
    from audiogen.export.features import log_mel

    wave = speech()
    for representation in (LogMel(16000, 1024, 256, n_mels=80, fmax=8000.0),
                           LogMel(16000, 512, 128, 400, n_mels=40, padding="center",
                                  power=2.0, mel_scale="htk", mel_norm=None, log="log10")):
        expected = representation.encode(torch.from_numpy(wave)[None])[0].numpy()
        got = log_mel(wave, representation.spec)
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 2e-3
        assert np.abs(got - expected).mean() <= 1e-5


def test_fp16_graph_within_its_bound(tmp_path: Path) -> None:
    """fp16 weights and arithmetic, fp32 inputs and outputs: max abs error <= 1e-2."""
    task = enhancer()
    path = export_task(task, tmp_path / "half.onnx", "half", fp16=True)
    runtime = OnnxGenerator(path)
    assert runtime.meta["precision"] == "fp16"
    assert runtime.session.get_inputs()[0].type == "tensor(float)"
    wave = harmonic_tone(0.5, 16000, 200.0, 1)[None] * 3
    expected, got = run_both(task, path, wave)
    assert got.dtype == np.float32
    error = np.abs(got - expected).max()
    assert 0 < error <= 1e-2


def test_synthesize_onnx_runs_without_torch(graphs: dict[str, tuple[object, Path]],
                                            tmp_path: Path) -> None:
    """``audiogen synthesize model.onnx`` on wavs and on .npz features in a fresh interpreter:
    torch is never imported, and the audio equals the in-process run."""
    from audiogen.inference.feature_files import save_features

    task, path = graphs["gan"]
    inputs = tmp_path / "in"
    inputs.mkdir()
    wave = harmonic_tone(0.7, 16000, 120.0, 5)
    soundfile.write(inputs / "tone.wav", wave, 16000)
    features = task.representation.encode(torch.from_numpy(wave)[None])  # type: ignore
    save_features(inputs / "feats.npz", features[0], task.representation.spec)  # type: ignore
    code = ("import sys\nfrom audiogen.cli import main\n"
            f"code = main(['synthesize', {str(path)!r}, '--input', {str(inputs)!r}, '--out', "
            f"{str(tmp_path / 'out')!r}])\n"
            "assert code == 0, code\nassert 'torch' not in sys.modules, 'torch was imported'\n"
            "print('no torch')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "no torch" in result.stdout and "wrote 2 files" in result.stdout
    written, rate = soundfile.read(tmp_path / "out" / "feats.wav", dtype="float32")
    assert rate == 16000
    expected = task.synthesize(features)[0].detach().numpy()  # type: ignore[attr-defined]
    assert np.abs(written - expected).max() <= 1.5 / 32768 + 1e-4  # 16-bit file
    assert (tmp_path / "out" / "tone.wav").is_file()


def test_features_with_another_spec_are_refused_by_field(graphs: dict[str, tuple[object, Path]],
                                                         tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    from audiogen.inference.feature_files import save_features

    _, path = graphs["gan"]
    other = LogMel(16000, n_fft=256, hop_length=64, n_mels=24, fmax=7000.0)
    save_features(tmp_path / "in" / "a.npz", np.zeros((24, 10), np.float32), other.spec)
    code = main(["synthesize", str(path), "--input", str(tmp_path / "in"), "--out",
                 str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1
    assert "fmax: model has 8000" in out and "7000" in out


def test_bad_inputs_give_one_line_errors(graphs: dict[str, tuple[object, Path]], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A non-exportable model (PGHI), a model that is no generator, a missing file, a missing
    .onnx, a file that is not ONNX, and a step count other than the exported one."""
    not_onnx = tmp_path / "fake.onnx"
    not_onnx.write_text("not a graph")
    wav = tmp_path / "a.wav"
    soundfile.write(wav, harmonic_tone(0.3, 16000, 200.0, 0), 16000)
    cases = {
        ("export", "mel-consistent-16k", "--out", str(tmp_path / "m.onnx")): "PGHI",
        ("export", str(tmp_path / "missing"), "--out", str(tmp_path / "m.onnx")): "missing",
        ("synthesize", str(tmp_path / "none.onnx"), "--input", str(wav), "--out",
         str(tmp_path / "o")): "not found",
        ("synthesize", str(not_onnx), "--input", str(wav), "--out", str(tmp_path / "o")):
            "not a loadable ONNX model",
        ("synthesize", str(graphs["gan"][1]), "--input", str(tmp_path / "nothing"), "--out",
         str(tmp_path / "o")): "input not found",
        ("synthesize", str(graphs["flow"][1]), "--input", str(wav), "--out",
         str(tmp_path / "o"), "--steps", "8"): "fixed in an exported graph (3)",
    }
    with pytest.raises(ExportError, match="'ddpm': it draws fresh noise"):
        export_task(diffusion_vocoder(), tmp_path / "m.onnx", "tiny", solver="ddpm")
    for argv, fragment in cases.items():
        assert main(list(argv)) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("audiogen: error:") and err.count("\n") == 1, err
        assert fragment in err and "Traceback" not in err, err
    assert not (tmp_path / "m.onnx").exists()


def test_cli_exports_a_shipped_enhancer(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    """``audiogen export bwe-8to16k`` (its keep-the-input-band step included) runs in
    onnxruntime as the PyTorch model does, at a length the export never saw."""
    import audiogen

    out = tmp_path / "bwe.onnx"
    assert main(["export", "bwe-8to16k", "--format", "onnx", "--out", str(out)]) == 0
    assert f"wrote {out} (fp32)" in capsys.readouterr().out
    task = audiogen.load("bwe-8to16k").task  # type: ignore[union-attr]
    wave = harmonic_tone(1.3, 16000, 140.0, 2)[None]
    expected, got = run_both(task, out, wave)
    assert got.shape == expected.shape == wave.shape
    assert np.abs(got - expected).max() <= 1e-4


def test_codec_decoder_exports_and_decodes_token_files(tmp_path: Path) -> None:
    """A small random codec's decoder (tokens -> audio) at 2 of its 3 levels: onnxruntime equals
    NeuralCodec.decode, and ``audiogen synthesize`` decodes a token file trimmed to its
    num_samples; audio inputs are refused by name."""
    from audiogen.export.onnx import export_codec_decoder
    from audiogen.inference.tokens import TokenFile, save_tokens
    from audiogen.models.codec import SEANetDecoder, SEANetEncoder
    from audiogen.representations.codec import NeuralCodec
    from audiogen.representations.quantizers import ResidualVectorQuantizer

    torch.manual_seed(0)
    codec = NeuralCodec(16000, SEANetEncoder(16, base_channels=4, strides=(2, 4)),
                        ResidualVectorQuantizer(16, n_q=3, codebook_size=32),
                        SEANetDecoder(16, base_channels=4, strides=(2, 4)))
    codec.set_bandwidth(codec.supported_bandwidths[1])
    randomised(codec, 0.05)
    path = export_codec_decoder(codec, tmp_path / "decoder.onnx", "tiny-codec")
    runtime = OnnxGenerator(path)
    tokens = codec.tokens(torch.from_numpy(harmonic_tone(0.2, 16000, 200.0, 0))[None])
    assert tokens.shape[1] == 2
    with torch.no_grad():
        expected = codec.decode(tokens).numpy()
    got = runtime(tokens.numpy())
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-4
    inputs = tmp_path / "tokens"
    save_tokens(inputs / "a.npz", TokenFile(tokens[0].numpy(), codec.spec, 3000))
    soundfile.write(inputs / "b.wav", harmonic_tone(0.2, 16000, 200.0, 0), 16000)
    assert main(["synthesize", str(path), "--input", str(inputs), "--out",
                 str(tmp_path / "out")]) == 0
    written, _ = soundfile.read(tmp_path / "out" / "a.wav", dtype="float32")
    assert written.shape == (3000,)
    assert np.abs(written - expected[0, :3000]).max() <= 1.5 / 32768 + 1e-4
    assert not (tmp_path / "out" / "b.wav").exists()


def test_bad_audio_files_are_reported_and_the_batch_goes_on(
        graphs: dict[str, tuple[object, Path]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Empty, corrupt and NaN files are skipped by name; 1-sample and stereo 44.1 kHz files
    give audio of their own length at the model's rate; nothing prints a traceback."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    soundfile.write(inputs / "empty.wav", np.zeros(0, np.float32), 16000)
    (inputs / "corrupt.wav").write_bytes(b"RIFF not really a wave file")
    soundfile.write(inputs / "nan.wav", np.full(800, np.nan, np.float32), 16000,
                    subtype="FLOAT")
    soundfile.write(inputs / "one.wav", np.zeros(1, np.float32), 16000)
    stereo = np.stack([harmonic_tone(0.5, 44100, 150.0, 1)] * 2, axis=1)
    soundfile.write(inputs / "stereo.wav", stereo, 44100)
    for name in ("gan", "enhancer"):
        out = tmp_path / name
        assert main(["synthesize", str(graphs[name][1]), "--input", str(inputs), "--out",
                     str(out)]) == 0
        captured = capsys.readouterr()
        assert "wrote 2 files" in captured.out and "skipped 3" in captured.out
        for bad in ("empty", "corrupt", "nan"):
            assert f"skipped {bad}:" in captured.out
        assert "Traceback" not in captured.out + captured.err
        assert soundfile.info(out / "stereo.wav").samplerate == 16000
        frames = soundfile.info(out / "stereo.wav").frames
        assert abs(frames - 8000) <= (64 if name == "gan" else 0)
        if name == "enhancer":
            assert soundfile.info(out / "one.wav").frames == 1


def griffin_lim_flow(method: str, phase_init: str) -> GenerativeVocoder:
    """A flow vocoder started from Griffin-Lim (its iterations in the graph) with 2 Euler
    steps."""
    network = ConditionalFlowNet(2 * 129, 24, dim=32, intermediate_dim=64, num_layers=2)
    prior = GriffinLimPrior(n_iter=3, noise=0.1, method=method,  # type: ignore[arg-type]
                            phase_init=phase_init, momentum=0.9)  # type: ignore[arg-type]
    task = GenerativeVocoder(mel(), CompressedSTFT(16000, 256, 64, alpha=0.5, scale=0.3),
                             randomised(network, 0.02), CondOT(), prior=prior, steps=2)
    return task.eval()


@pytest.mark.parametrize("method", ["griffin_lim", "mel_consistent"])
def test_griffin_lim_started_flow_matches_pytorch(method: str, tmp_path: Path) -> None:
    """With a zero start phase the Griffin-Lim iterations are deterministic, so the graph must
    match PyTorch, within 5e-3 max abs (not 1e-4): the iteration divides by |X| and re-uses its
    own output, so the DFT convolution's rounding (relative ~1e-6 against the FFT) moves the
    phase of near-silent bins; measured up to 2.9e-3 at 250 frames with plain Griffin-Lim and
    1.5e-4 with the mel-consistent update, on outputs of peak ~0.5."""
    task = griffin_lim_flow(method, "zero")
    path = export_task(task, tmp_path / "gl.onnx", "gl-flow")
    assert OnnxGenerator(path).inputs == ["features", "noise"]
    for frames in (5, 63):
        wave = torch.from_numpy(harmonic_tone(frames * 64 / 16000, 16000, 170.0, frames))
        features = task.representation.encode(wave[None]).numpy()
        expected, got = run_both(task, path, features)
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 5e-3
        assert np.abs(got - expected).mean() <= 1e-4


def test_random_phase_griffin_lim_exports_with_a_random_op(tmp_path: Path) -> None:
    """Training-free Griffin-Lim with a random start phase: the graph draws the phase itself
    (RandomUniformLike), so two runs differ, and each is close in spectrum to PyTorch's."""
    from audiogen.tasks.griffin_lim import GriffinLim

    task = GriffinLim(mel(), n_iter=16, method="mel_consistent", phase_init="random")
    path = export_task(task, tmp_path / "gl.onnx", "gl", steps=16)
    runtime = OnnxGenerator(path)
    wave = harmonic_tone(0.5, 16000, 170.0, 4)
    features = task.representation.encode(torch.from_numpy(wave)[None])
    first, second = runtime(features.numpy()), runtime(features.numpy())
    assert first.shape == (1, features.shape[-1] * 64)
    assert np.isfinite(first).all() and not np.allclose(first, second)
    reference = task.synthesize(features)
    mel_error = (task.representation.encode(torch.from_numpy(first)) - features).abs().mean()
    torch_error = (task.representation.encode(reference) - features).abs().mean()
    assert float(mel_error) <= 1.5 * float(torch_error) + 0.05
    with pytest.raises(ExportError, match="PGHI"):
        export_task(GriffinLim(mel(), phase_init="pghi"), tmp_path / "p.onnx", "pghi")


def test_the_shipped_inversion_exports_with_another_start_phase(tmp_path: Path) -> None:
    """`audiogen export mel-consistent-16k --phase-init zero`: the graph runs the shipped
    accelerated mel-consistent iteration from zero phase, records the start phase, and matches
    PyTorch from the same start (bound as for the Griffin-Lim-started flow above); a model that
    runs no phase retrieval refuses the option."""
    import audiogen
    from audiogen.export.onnx import export_onnx

    path = tmp_path / "shipped.onnx"
    code = main(["export", "mel-consistent-16k", "--phase-init", "zero", "--steps", "6",
                 "--out", str(path)])
    assert code == 0
    runtime = OnnxGenerator(path)
    assert runtime.meta["phase_init"] == "zero"
    task = audiogen.load("mel-consistent-16k").task
    assert task.gamma != 1.0 and task.phase_init == "pghi"  # the shipped model is unchanged
    task.phase_init = "zero"
    features = task.representation.encode(torch.from_numpy(speech(1.0))[None])
    with torch.no_grad():
        expected = task.synthesize(features, steps=6).numpy()
    got = runtime(features.numpy())
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 5e-3 and np.abs(got - expected).mean() <= 1e-4
    with pytest.raises(ExportError, match="--phase-init applies"):
        export_onnx("denoise-16k", tmp_path / "d.onnx", phase_init="zero")
    with pytest.raises(ExportError, match="--fp16 is not supported for a mel inversion"):
        export_onnx("mel-consistent-16k", tmp_path / "h.onnx", phase_init="zero", fp16=True)
