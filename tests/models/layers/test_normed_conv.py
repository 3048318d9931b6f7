"""NormedConv2dLearnableTemp (the AGLU mask predictor) against mmdet's NormedConv2d."""
import pytest
import torch

from hce_det.models.layers.normed_conv import NormedConv2dLearnableTemp
from mmdet.models.layers import NormedConv2d

pytestmark = pytest.mark.usefixtures('one_thread')


# ------------------------------------------------- AGLU mask predictor (normed_predictor.py)
def test_learnable_temperature_normed_conv():
    torch.manual_seed(0)
    ours = NormedConv2dLearnableTemp(8, 3, 1, temperature_init=4.5)
    ref = NormedConv2d(8, 3, 1, tempearture=4.5 ** 2)
    ref.load_state_dict({k: v for k, v in ours.state_dict().items() if k != 'temperature'})
    x = torch.randn(2, 8, 5, 5)
    assert torch.allclose(ours(x), ref(x), atol=1e-5)     # logits x t^2, t0 = 4.5
    ours(x).sum().backward()
    assert ours.temperature.grad is not None and ours.temperature.grad.abs() > 0
