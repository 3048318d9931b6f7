"""VGG16 single-level backbone: pre-pool stage outputs, torchvision-compatible names, the
CR-DA-DET recipe's conv3_2 output (``out_layers``) and its missing-weights error."""
import pytest
import torch

from hce_det.models.backbones.vgg import DetVGG

pytestmark = pytest.mark.usefixtures('one_thread')


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


# ------------------------------------------------------------------ VGG16 (CR-DA-DET vgg16.py)
def test_vgg_out_layers_are_feature_slices():
    torch.manual_seed(0)
    m = DetVGG(depth=16, out_layers=(14, 30))
    m.eval()                                             # mmcv VGG.train returns None
    x = torch.randn(1, 3, 64, 96)
    c32, c53 = m(x)
    with torch.no_grad():
        assert torch.equal(c32, m.features[:14](x))      # SW RCNN_base1 = features[:14]
        assert torch.equal(c53, m.features[:30](x))      # conv5_3 + ReLU, no last pool
    assert type(m.features[12]).__name__ == 'Conv2d' and m.features[12].out_channels == 256
    assert c32.shape == (1, 256, 16, 24) and c53.shape == (1, 512, 4, 6)
    for bad in [(30, 14), (0, 14), (14, 31), ()]:
        with pytest.raises(ValueError, match='out_layers'):
            DetVGG(out_layers=bad)


def test_vgg_missing_pretrained_file_names_the_recipe(tmp_path):
    m = DetVGG(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'vgg16_caffe.pth')))
    with pytest.raises(FileNotFoundError, match='vgg16_caffe.pth'):
        m.init_weights()
