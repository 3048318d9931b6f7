"""GRLScheduleHook: the DANN ramp of the gradient-reversal coefficients of a DA detector."""
from types import SimpleNamespace

import pytest
import torch

from conftest import build_model

DA_ICR_CCR = 'configs/cr_da/synth/da-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'

pytestmark = pytest.mark.usefixtures('one_thread')


def _build(cfg):
    return build_model(cfg.model)


def test_grl_schedule_hook(load_cfg):
    from hce_det.engine.hooks.grl_schedule import GRLScheduleHook, grl_scale
    assert grl_scale(0.0) == 0.0
    assert grl_scale(0.5) == pytest.approx(2 / (1 + 2.718281828 ** -5) - 1)
    assert grl_scale(2.0) == grl_scale(1.0)
    assert grl_scale(0.3, 'constant') == 1.0
    with pytest.raises(ValueError, match='mode'):
        GRLScheduleHook(mode='linear')
    model = _build(load_cfg(DA_ICR_CCR))
    hook = GRLScheduleHook()
    hook.before_train_iter(SimpleNamespace(model=model, iter=50, max_iters=100), 0)
    assert model.grl_scale == pytest.approx(grl_scale(0.5))
    assert model.img_da.grl.coeff == pytest.approx(0.1 * grl_scale(0.5))
    assert model.ins_da.grl.coeff == pytest.approx(0.1 * grl_scale(0.5))
    with pytest.raises(TypeError, match='set_grl_scale'):
        hook.before_train_iter(SimpleNamespace(model=torch.nn.Linear(1, 1), iter=0,
                                               max_iters=1), 0)
