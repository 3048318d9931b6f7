"""Shared2FCDropoutBBoxHead (the CR-DA-DET VGG16 box head): mmdet's forward with dropout in
training, fc6/fc7 initialised from the VGG16 classifier of a checkpoint."""
import pytest
import torch

from hce_det.models.roi_heads import Shared2FCDropoutBBoxHead
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead

pytestmark = pytest.mark.usefixtures('one_thread')


def _tiny_head(**kw):
    return Shared2FCDropoutBBoxHead(in_channels=2, fc_out_channels=6, roi_feat_size=2,
                                    num_classes=3, **kw)


def test_dropout_head_keeps_mmdet_forward_and_drops_in_training():
    head = _tiny_head(dropout=0.5)
    # forward is ConvFCBBoxHead's (code that splits the head at fc_cls sees the same layers)
    assert type(head).forward is ConvFCBBoxHead.forward
    assert set(head.state_dict()) == set(_tiny_head(dropout=0.0).state_dict())
    head.init_weights()
    x = torch.rand(64, 2, 2, 2) + 0.5
    head.eval()
    assert torch.equal(head(x)[0], head(x)[0])
    head.train()
    torch.manual_seed(0)
    a = head(x)[0]
    torch.manual_seed(1)
    assert not torch.allclose(a, head(x)[0])
    with pytest.raises(ValueError, match='dropout'):
        _tiny_head(dropout=1.0)


def test_dropout_head_fc_init_from_vgg_classifier(tmp_path):
    # torchvision / vgg16_caffe.pth layout: classifier.0 = fc6, classifier.3 = fc7
    torch.manual_seed(0)
    state = {'features.0.weight': torch.zeros(1), 'classifier.0.weight': torch.randn(6, 8),
             'classifier.0.bias': torch.randn(6), 'classifier.3.weight': torch.randn(6, 6),
             'classifier.3.bias': torch.randn(6), 'classifier.6.weight': torch.randn(1000, 6)}
    path = tmp_path / 'vgg16_caffe.pth'
    torch.save(state, path)
    head = _tiny_head(fc_init=dict(checkpoint=str(path)))
    head.init_weights()
    assert torch.equal(head.shared_fcs[0].weight, state['classifier.0.weight'])
    assert torch.equal(head.shared_fcs[1].bias, state['classifier.3.bias'])
    bad = _tiny_head(fc_init=dict(checkpoint=str(path), keys=('classifier.3', 'classifier.0')))
    with pytest.raises(ValueError, match='shape'):
        bad.init_weights()
