"""HuBERT masked prediction: span masks, target alignment, loss decrease, export round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from audiogen.models.ssl import hubert
from audiogen.representations.cepstral import MFCC
from audiogen.representations.ssl import SSLFeatures
from audiogen.representations.units import UnitRepresentation, fit_kmeans
from audiogen.tasks.ssl_pretrain import HubertPretrain, span_mask
from tests.conftest import harmonic_tone


def test_span_mask_masks_whole_spans() -> None:
    generator = torch.Generator().manual_seed(0)
    mask = span_mask(64, 100, 0.08, 10, generator=generator)
    assert mask.shape == (64, 100)
    for row in mask:
        edges = torch.diff(row.int(), prepend=torch.zeros(1, dtype=torch.int32),
                           append=torch.zeros(1, dtype=torch.int32))
        starts, ends = torch.nonzero(edges == 1)[:, 0], torch.nonzero(edges == -1)[:, 0]
        assert len(starts) >= 1 and ((ends - starts) >= 10).all()
    # 0.8 spans of 10 on average, rounded up to at least 2, so 20 % <= mean <= expected
    assert 0.15 < mask.float().mean() < 0.25
    short = span_mask(2, 5, 0.08, 10, generator=generator)
    assert short.all()


def tiny_task(root: Path) -> HubertPretrain:
    torch.manual_seed(0)
    mfcc = MFCC()
    waves = torch.stack([torch.from_numpy(harmonic_tone(1.0, 16000, f, i))
                         for i, f in enumerate((110.0, 220.0))])
    frames = mfcc.encode(waves).transpose(1, 2).reshape(-1, 39).numpy()
    fit_kmeans([frames], 8, mfcc.spec).save(root / "km")
    network = hubert(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, conv_dim=[16] * 7, num_conv_pos_embeddings=8,
                     num_conv_pos_embedding_groups=2, hidden_dropout=0.0,
                     attention_dropout=0.0, feat_proj_dropout=0.0, layerdrop=0.0)
    return HubertPretrain(network, UnitRepresentation(mfcc, str(root / "km")), final_dim=16)


def test_targets_follow_the_encoder_frames(tmp_path: Path) -> None:
    task = tiny_task(tmp_path)
    wave = torch.from_numpy(harmonic_tone(0.8, 16000, 150.0, 3))[None]
    targets = task.targets(wave)
    with torch.no_grad():
        hidden = task.network(wave).last_hidden_state
    assert targets.shape == hidden.shape[:2] == (1, 39)
    mfcc_units = task.representation.units(wave)
    assert torch.equal(targets[0], mfcc_units[0, 1:79:2])


def test_masked_prediction_loss_decreases(tmp_path: Path) -> None:
    task = tiny_task(tmp_path)
    batch = {"audio": torch.stack([torch.from_numpy(harmonic_tone(0.5, 16000, f, i))
                                   for i, f in enumerate((110.0, 220.0))])[:, None]}
    optimizer = torch.optim.Adam(task.parameters(), lr=5e-3)
    losses = []
    for step in range(12):
        torch.manual_seed(step % 2)  # two fixed masks
        result = task.losses(batch, "model", step)
        optimizer.zero_grad()
        result["loss"].backward()
        optimizer.step()
        losses.append(float(result["loss"].detach()))
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:2])
    metrics = task.validate(batch)
    assert 0.0 <= metrics["acc_masked"] <= 1.0 and metrics["mask_fraction"] > 0


def test_export_loads_as_ssl_features(tmp_path: Path) -> None:
    task = tiny_task(tmp_path).eval()
    task.export(tmp_path / "export")
    ssl = SSLFeatures(str(tmp_path / "export"), 2)
    wave = torch.from_numpy(harmonic_tone(0.5, 16000, 150.0, 4))[None]
    with torch.no_grad():
        expected = task.network(wave, output_hidden_states=True).hidden_states[2]
    torch.testing.assert_close(ssl.encode(wave)[0].T, expected[0])
    assert ssl.spec["do_normalize"] is False and ssl.spec["num_layers"] == 2


def test_span_mask_never_masks_padding() -> None:
    generator = torch.Generator().manual_seed(1)
    mask = span_mask(3, 100, 0.8, 10, generator=generator,
                     valid_frames=torch.tensor([100, 30, 0]))
    assert mask[0].any() and mask[1, :30].any()
    assert not mask[1, 30:].any() and not mask[2].any()
    # fairseq's convention: 0.8 / 10 of the frames start a span, so about half are covered
    many = span_mask(200, 100, 0.8, 10, generator=generator)
    assert 0.4 < many.float().mean() < 0.65


def test_padded_frames_are_not_scored(tmp_path: Path) -> None:
    task = tiny_task(tmp_path)
    task.eval()
    long = torch.from_numpy(harmonic_tone(1.0, 16000, 150.0, 5))
    short = torch.zeros_like(long)
    short[:4000] = torch.from_numpy(harmonic_tone(0.25, 16000, 250.0, 6))
    wave, lengths = torch.stack([long, short]), torch.tensor([16000, 4000])
    with torch.no_grad():
        result = task.forward_masked(wave, lengths, torch.Generator().manual_seed(3))
        mask = span_mask(2, 49, task.mask_prob, task.mask_length,
                         generator=torch.Generator().manual_seed(3),
                         valid_frames=torch.tensor([task.num_frames(16000),
                                                    task.num_frames(4000)]))
        logits = task.logits(task.network(wave, mask_time_indices=mask).last_hidden_state)
    target = task.targets(wave)
    valid = torch.arange(49)[None] < torch.tensor([[49], [task.num_frames(4000)]])
    scored = ~mask & valid
    expected = torch.nn.functional.cross_entropy(logits[scored], target[scored])
    with_padding = torch.nn.functional.cross_entropy(logits[~mask], target[~mask])
    torch.testing.assert_close(result["ce_unmasked"], expected)
    assert not torch.isclose(result["ce_unmasked"], with_padding)
    assert float(result["mask_fraction"]) == float(mask.sum() / valid.sum())
