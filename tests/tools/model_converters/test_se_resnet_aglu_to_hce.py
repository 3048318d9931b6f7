"""tools/model_converters/se_resnet_aglu_to_hce.py: the reference's SE-AGLU ImageNet checkpoints
(kostas1515/AGLU) converted to SEResNetAGLU keys."""
import argparse
from types import SimpleNamespace

import pytest
import torch

import hce_det  # noqa: F401
from hce_det.models.backbones.se_resnet_aglu import SEResNetAGLU
from tools.model_converters import se_resnet_aglu_to_hce as conv

pytestmark = pytest.mark.usefixtures('one_thread')


# ------------------------------------------------------------- reference checkpoint layout
# The reference's parameter names (kostas1515/AGLU classification/resnet_pytorch.py
# SEBottleneckGumbel / SE_Block, mmdetection_v3.2/mmdet/models/backbones/se_resnet.py), written
# out here independently of the converter: ours -> reference.
OURS_TO_REF = [('.act1.', '.unirect1.'), ('.act2.', '.unirect2.'), ('.act3.', '.unirect3.'),
               ('.se.fc1.', '.se.excitation.0.'), ('.se.fc2.', '.se.excitation.2.'),
               ('.se.gate.', '.se.uniact.')]
SMALL = dict(depth=50, base_channels=8, stem_channels=8)


def _reference_checkpoint(path, seed=0):
    """A synthetic SE-R50-AGLU ImageNet checkpoint as the reference's train.py saves it."""
    torch.manual_seed(seed)
    state = {}
    for k, v in SEResNetAGLU(**SMALL).state_dict().items():
        for ours, ref in OURS_TO_REF:
            k = k.replace(ours, ref)
        state[k] = torch.randn_like(v.float()).to(v.dtype) if v.is_floating_point() else v
    state['fc.weight'], state['fc.bias'] = torch.randn(10, 256), torch.randn(10)
    for key in ('layer1.0.unirect1.lambda_param', 'layer1.0.unirect3.kappa_param',
                'layer1.0.se.excitation.0.weight', 'layer1.0.se.excitation.2.weight',
                'layer1.0.se.uniact.lambda_param', 'layer1.0.se.norm.weight',
                'relu.lambda_param', 'layer1.0.bn1.running_mean', 'layer1.0.downsample.0.weight'):
        assert key in state, key
    torch.save({'model': state, 'epoch': 99, 'args': argparse.Namespace(lr=0.1)}, path)
    return state


def test_unconverted_reference_checkpoint_loads_no_se_or_aglu(tmp_path):
    ref = _reference_checkpoint(tmp_path / 'ref.pth')
    missing, _ = SEResNetAGLU(**SMALL).load_state_dict(ref, strict=False)
    assert any('.act1.' in k for k in missing) and any('.se.fc1.' in k for k in missing)
    assert any('.se.gate.' in k for k in missing)


def test_converter_maps_every_reference_key(tmp_path):
    ref = _reference_checkpoint(tmp_path / 'ref.pth')
    out = tmp_path / 'converted.pth'
    assert conv.main([str(tmp_path / 'ref.pth'), str(out), '--base-channels', '8']) == 0
    state = torch.load(out, weights_only=True)['state_dict']
    assert 'fc.weight' not in state and len(state) == len(ref) - 2
    assert torch.equal(state['layer2.1.act2.kappa_param'], ref['layer2.1.unirect2.kappa_param'])
    assert torch.equal(state['layer3.0.se.fc2.weight'], ref['layer3.0.se.excitation.2.weight'])
    assert torch.equal(state['layer1.2.se.gate.lambda_param'],
                       ref['layer1.2.se.uniact.lambda_param'])
    assert torch.equal(state['relu.kappa_param'], ref['relu.kappa_param'])
    m = SEResNetAGLU(**SMALL, frozen_stages=1,
                     init_cfg=dict(type='Pretrained', checkpoint=str(out)))
    m.init_weights()
    ours = m.state_dict()
    assert set(ours) == set(state) and all(torch.equal(ours[k], state[k]) for k in state)
    # every SE/AGLU parameter came from the checkpoint: the frozen stages freeze whole (reference)
    assert m._freeze_se_act() and not m.layer1[0].se.fc1.weight.requires_grad
    assert not m.relu.lambda_param.requires_grad and m.layer2[0].act1.lambda_param.requires_grad
    # a key the model lacks (other width) is an error, not a silent partial load
    with pytest.raises(ValueError, match='do not match'):
        conv.main([str(tmp_path / 'ref.pth'), str(tmp_path / 'x.pth')])


def test_converter_rejects_unknown_pickled_classes(tmp_path):
    torch.save({'model': {'conv1.weight': torch.zeros(1)}, 'opt': SimpleNamespace(a=1)},
               tmp_path / 'odd.pth')
    with pytest.raises(Exception, match='SimpleNamespace|weights_only|Unsupported'):
        conv.load_reference(str(tmp_path / 'odd.pth'))
