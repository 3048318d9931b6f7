"""VGG16 single-level backbone: pre-pool stage outputs, torchvision-compatible names."""
import pytest
import torch

from hce_det.models.backbones.vgg import DetVGG


def test_vgg16_outputs_and_names():
    m = DetVGG(depth=16, out_indices=(2, 4))
    outs = m(torch.zeros(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(1, 256, 16, 24), (1, 512, 4, 6)]
    keys = set(m.state_dict())
    # torchvision vgg16().features conv indices
    for i in (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28):
        assert f'features.{i}.weight' in keys
    assert not any(k.startswith('classifier') for k in keys)
    assert len(DetVGG(out_indices=(4, ))(torch.zeros(1, 3, 32, 32))) == 1


def test_vgg_frozen_stages_and_bad_indices():
    m = DetVGG(frozen_stages=2)
    m.train()
    assert not m.features[0].weight.requires_grad and not m.features[7].weight.requires_grad
    assert m.features[10].weight.requires_grad
    with pytest.raises(ValueError, match='out_indices'):
        DetVGG(out_indices=(5, ))
