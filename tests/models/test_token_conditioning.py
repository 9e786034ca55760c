"""Token conditioning: per-level embeddings summed, usable as the flow network's condition."""

import pytest
import torch

from audiogen.models.vocoders import ConditionalFlowNet
from audiogen.nn.embeddings import TokenEmbedding


def test_token_embedding_sums_level_tables():
    embedding = TokenEmbedding(num_tokens=10, dim=4, levels=2)
    tokens = torch.tensor([[[1, 2, 3], [4, 5, 6]]])
    out = embedding(tokens)
    assert out.shape == (1, 4, 3)
    for frame in range(3):
        expected = (embedding.tables[0].weight[tokens[0, 0, frame]]
                    + embedding.tables[1].weight[tokens[0, 1, frame]])
        torch.testing.assert_close(out[0, :, frame], expected)
    torch.testing.assert_close(embedding(tokens.float()), out)  # float ids are rounded


@pytest.mark.parametrize("bad", [torch.tensor([[[10]]]), torch.tensor([[[-1]]])])
def test_token_embedding_refuses_out_of_range_ids(bad):
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        TokenEmbedding(num_tokens=10, dim=4)(bad)


def test_flow_net_with_token_condition_depends_on_tokens():
    net = ConditionalFlowNet(state_channels=6, cond_channels=1, dim=16, intermediate_dim=32,
                             num_layers=2, cond_embedding=TokenEmbedding(20, 8))
    torch.nn.init.normal_(net.output.weight)  # the zero-initialised output hides the condition
    x, t = torch.randn(2, 6, 5), torch.rand(2)
    a = net(x, t, torch.zeros(2, 1, 5))
    b = net(x, t, torch.full((2, 1, 5), 7.0))
    assert a.shape == x.shape
    assert not torch.allclose(a, b)
