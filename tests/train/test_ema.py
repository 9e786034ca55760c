import torch
from torch import nn

from audiogen.train.ema import EMA


def test_ema_follows_the_warmed_up_decay() -> None:
    module = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        module.weight.fill_(0.0)
    ema = EMA(module, decay=0.9)
    expected = 0.0
    for n in range(30):
        with torch.no_grad():
            module.weight.fill_(float(n + 1))
        ema.update(module)
        decay = min(0.9, (1 + n) / (10 + n))
        expected = decay * expected + (1 - decay) * (n + 1)
        assert abs(float(ema.shadow["weight"]) - expected) < 1e-4
    assert ema.updates == 30
