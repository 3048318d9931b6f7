"""SE-ResNet-AGLU backbone: layout, forward shapes, ResNet checkpoint compatibility, frozen
stages with SE/AGLU parameters the checkpoint lacks."""
import pytest
import torch

import hce_det  # noqa: F401
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from hce_det.models.backbones.se_resnet_aglu import SEGate, SEResNetAGLU
from hce_det.models.layers.apa import AGLU, APA

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.mark.parametrize('depth,acts_per_block', [(18, 2), (50, 3)])
def test_every_relu_replaced_and_se_gated(depth, acts_per_block):
    m = MODELS.build(dict(type='SEResNetAGLU', depth=depth, base_channels=8, stem_channels=8))
    blocks = [b for name in m.res_layers for b in getattr(m, name)]
    assert not any(isinstance(x, torch.nn.ReLU) for b in blocks for x in b.children())
    aglus = [x for x in m.modules() if type(x) is AGLU]
    assert len(aglus) == 1 + acts_per_block * len(blocks)        # stem + block activations
    gates = [x for x in m.modules() if isinstance(x, SEGate)]
    assert len(gates) == len(blocks) and all(type(g.gate) is APA for g in gates)
    # reference init ranges: AGLU κ in [1, 1.3], SE-gate APA κ in [-1, 0]
    assert all(1.0 <= a.kappa_param.item() <= 1.3 for a in aglus)
    assert all(-1.0 <= g.gate.kappa_param.item() <= 0.0 for g in gates)


def test_forward_shapes_and_gradients():
    torch.manual_seed(0)
    m = SEResNetAGLU(depth=50, base_channels=8, stem_channels=8, frozen_stages=-1,
                     norm_eval=False)
    m.init_weights()
    outs = m(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 16, 16), (2, 64, 8, 8), (2, 128, 4, 4),
                                              (2, 256, 2, 2)]
    sum(o.mean() for o in outs).backward()
    assert m.relu.lambda_param.grad is not None and torch.isfinite(m.relu.lambda_param.grad).all()


def test_state_dict_keys_are_resnet_compatible():
    ours = SEResNetAGLU(depth=50)
    ref = ResNet(depth=50)
    ref_keys = set(ref.state_dict())
    our_keys = set(ours.state_dict())
    assert ref_keys <= our_keys                       # a ResNet checkpoint fills every ResNet weight
    extra = our_keys - ref_keys
    assert extra and all(('.se.' in k) or ('act' in k) or k.startswith('relu.') for k in extra)
    missing, unexpected = ours.load_state_dict(ref.state_dict(), strict=False)
    assert not unexpected and set(missing) == extra


def test_zero_init_residual_and_frozen_stem_activation():
    m = SEResNetAGLU(depth=18, base_channels=8, frozen_stages=1)
    m.init_weights()
    assert all((b.norm2.weight == 0).all() for b in m.layer1)
    assert not m.relu.lambda_param.requires_grad
    relu_variant = SEResNetAGLU(depth=18, base_channels=8, act_cfg=dict(type='ReLU'), se_ratio=None)
    assert not any(isinstance(x, (AGLU, SEGate)) for x in relu_variant.modules())


SMALL = dict(depth=50, base_channels=8, stem_channels=8)


def test_frozen_stages_keep_random_se_aglu_trainable_from_a_resnet_checkpoint(tmp_path):
    path = tmp_path / 'resnet.pth'
    torch.save({'state_dict': ResNet(**SMALL).state_dict()}, path)
    init = dict(type='Pretrained', checkpoint=str(path))
    m = SEResNetAGLU(**SMALL, frozen_stages=1, init_cfg=init)
    m.init_weights()
    m.train()                                              # train() re-applies the freezing
    se_act = m.frozen_se_act_params()
    assert se_act and all(p.requires_grad for p in se_act.values())
    assert 'relu.lambda_param' in se_act and 'layer1.0.se.gate.kappa_param' in se_act
    assert not any(p.requires_grad for p in m.layer1[0].conv1.parameters())
    assert not m.conv1.weight.requires_grad
    assert not any(k.startswith('layer2.') for k in se_act)
    forced = SEResNetAGLU(**SMALL, frozen_stages=1, init_cfg=init, freeze_se_act=True)
    forced.init_weights()
    assert not any(p.requires_grad for p in forced.frozen_se_act_params().values())
    never = SEResNetAGLU(**SMALL, frozen_stages=1, freeze_se_act=False)
    assert all(p.requires_grad for p in never.frozen_se_act_params().values())
    with pytest.raises(ValueError, match='freeze_se_act'):
        SEResNetAGLU(**SMALL, freeze_se_act='auto')
