"""The 1-D DiT (adaLN-Zero) and its ConvNeXt baseline: shapes, identity at initialisation,
patchify layout and round trip, rotary positions, label embeddings, and the recipe sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from audiogen import config as cfg
from audiogen.models.convnext_generator import ConvNeXtGenerator
from audiogen.models.dit import DiT, DiTBlock, patchify, rotary, unpatchify
from audiogen.nn.labels import LabelEmbedding

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "generate" / "digits"


def randomise(module: torch.nn.Module, seed: int = 0, std: float = 0.1) -> None:
    """Move every parameter off its initial value (zero gates included)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(std * torch.randn(parameter.shape, generator=generator))


@pytest.mark.parametrize("network", [
    lambda: DiT(6, [3, 2], dim=16, depth=2, heads=2, patch_size=3),
    lambda: ConvNeXtGenerator(6, [3, 2], dim=16, intermediate_dim=32, num_layers=2),
])
@pytest.mark.parametrize("frames", [1, 10, 13])
def test_output_has_the_input_shape(network, frames: int) -> None:
    model = network()
    randomise(model)
    x_t = torch.randn(2, 6, frames)
    output = model(x_t, torch.rand(2), torch.tensor([[0, 1], [-1, -1]]))
    assert output.shape == x_t.shape and output.dtype == torch.float32
    assert torch.isfinite(output).all() and output.abs().sum() > 0


@pytest.mark.parametrize("network", [
    lambda: DiT(4, [3, 2], dim=16, depth=2, heads=2),
    lambda: ConvNeXtGenerator(4, [3, 2], dim=16, intermediate_dim=32, num_layers=2),
])
def test_each_label_and_its_null_change_the_output(network) -> None:
    model = network()
    randomise(model)
    x_t, t = torch.randn(1, 4, 8).expand(4, 4, 8), torch.full((4,), 0.3)
    labels = torch.tensor([[0, 1], [2, 1], [0, 0], [0, -1]])
    output = model(x_t, t, labels)
    for row in (1, 2, 3):  # another digit, another speaker, the speaker left out
        assert (output[row] - output[0]).abs().max() > 1e-4


def test_dit_block_is_the_identity_at_initialisation() -> None:
    torch.manual_seed(0)
    block = DiTBlock(16, heads=2)
    x, c = torch.randn(3, 5, 16), torch.randn(3, 16)
    assert torch.equal(block(x, c), x)
    randomise(block.modulation)  # gates no longer zero: the block now changes its input
    assert (block(x, c) - x).abs().max() > 1e-3


def test_networks_start_by_predicting_zero() -> None:
    torch.manual_seed(0)
    for model in (DiT(4, [3], dim=16, depth=2, heads=2),
                  ConvNeXtGenerator(4, [3], dim=16, intermediate_dim=32, num_layers=2)):
        output = model(torch.randn(2, 4, 9), torch.rand(2), torch.tensor([[1], [-1]]))
        assert torch.equal(output, torch.zeros_like(output))


def test_patchify_layout_and_round_trip() -> None:
    x = torch.arange(2 * 3 * 8, dtype=torch.float32).reshape(2, 3, 8)
    tokens = patchify(x, 4)
    assert tokens.shape == (2, 2, 12)
    for n in range(2):  # token n holds frames 4n .. 4n + 3 of every channel, channel-major
        for channel in range(3):
            assert torch.equal(tokens[:, n, channel * 4:(channel + 1) * 4],
                               x[:, channel, 4 * n:4 * n + 4])
    assert torch.equal(unpatchify(tokens, 3), x)
    with pytest.raises(ValueError, match="multiple of patch_size"):
        patchify(x, 3)


def test_rotary_scores_depend_only_on_the_offset() -> None:
    generator = torch.Generator().manual_seed(0)
    query, key = torch.randn(1, 1, 1, 8, generator=generator), torch.randn(1, 1, 1, 8,
                                                                            generator=generator)
    queries, keys = rotary(query.expand(1, 1, 12, 8)), rotary(key.expand(1, 1, 12, 8))
    scores = queries[0, 0] @ keys[0, 0].T  # (12, 12)
    assert torch.allclose(scores[3, 1], scores[9, 7], atol=1e-5)
    assert torch.allclose(scores[5, 5], query.flatten() @ key.flatten(), atol=1e-5)
    assert not torch.allclose(scores[3, 1], scores[3, 2], atol=1e-3)
    assert torch.allclose(queries.norm(dim=-1), query.norm(dim=-1).expand(1, 1, 12), atol=1e-5)


def test_label_embedding_has_a_null_per_label_and_refuses_bad_ids() -> None:
    torch.manual_seed(0)
    embedding = LabelEmbedding([3, 2], dim=4)
    table_digit, table_speaker = (table.weight for table in embedding.tables)
    ids = torch.tensor([[2, -1], [-1, 0]])
    expected = torch.stack([table_digit[2] + table_speaker[2], table_digit[3] + table_speaker[0]])
    assert torch.equal(embedding(ids), expected)
    with pytest.raises(ValueError, match=r"label 0 ids must lie in \[-1, 3\)"):
        embedding(torch.tensor([[3, 0]]))
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        embedding(torch.tensor([[0]]))
    assert torch.equal(LabelEmbedding([], 4)(torch.zeros(2, 0, dtype=torch.long)),
                       torch.zeros(2, 4))


def test_recipe_dit_and_convnext_baseline_are_of_about_equal_size() -> None:
    """The recipe's comparison is fair: parameter counts within 10 % of each other."""
    counts = {}
    for name in ("config.yaml", "convnext.yaml"):
        node = cfg.load(RECIPE / name)["task"]["network"]
        network = cfg.instantiate(node, "task.network")(state_channels=64, label_sizes=[10, 6])
        counts[name] = sum(parameter.numel() for parameter in network.parameters())
    assert isinstance(network, ConvNeXtGenerator)
    ratio = counts["convnext.yaml"] / counts["config.yaml"]
    assert 1 / 1.1 <= ratio <= 1.1, counts
