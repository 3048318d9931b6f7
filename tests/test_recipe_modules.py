"""Modules the reference recipes need (issue 18): VGG16 conv3_2 output and dropout box head
(CR-DA-DET), learnable-temperature mask conv, SE-ResNet-AGLU freezing and the converter of the
reference's SE-AGLU ImageNet checkpoints (kostas1515/AGLU), DropLoss frequency divisor and the
training-dataset ann_file hook."""
import argparse
import json
from types import SimpleNamespace

import pytest
import torch

import hce_det  # noqa: F401
from hce_det.engine.hooks import TrainAnnFileHook
from hce_det.models.backbones.se_resnet_aglu import SEResNetAGLU
from hce_det.models.backbones.vgg import DetVGG
from hce_det.models.layers.normed_conv import NormedConv2dLearnableTemp
from hce_det.models.long_tail import DropLoss
from hce_det.models.roi_heads import Shared2FCDropoutBBoxHead
from mmdet.models.backbones import ResNet
from mmdet.models.layers import NormedConv2d
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
from tools.model_converters import se_resnet_aglu_to_hce as conv

pytestmark = pytest.mark.usefixtures('one_thread')


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


# ---------------------------------------- SE-ResNet-AGLU: reference checkpoint + freezing
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


# ---------------------------------------------- DropLoss divisor and the train ann_file hook
def _lvis_like(path):
    # 4 images, 3 of them annotated; category 7 in 2 images, category 9 in 1
    path.write_text(json.dumps(dict(
        images=[{'id': i} for i in range(1, 5)],
        annotations=[dict(id=1, image_id=1, category_id=7), dict(id=2, image_id=2, category_id=7),
                     dict(id=3, image_id=3, category_id=9)],
        categories=[{'id': 7, 'image_count': 2}, {'id': 9, 'image_count': 1}])))
    return str(path)


def test_droploss_divides_by_annotated_images(tmp_path):
    ann = _lvis_like(tmp_path / 'train.json')
    ref = DropLoss(num_classes=2, ann_file=ann, num_images_from='annotated', freq_thr=0.5)
    assert ref.stats.frequencies().tolist() == pytest.approx([2 / 3, 1 / 3])
    assert ref.rare_mask().tolist() == [False, True]
    old = DropLoss(num_classes=2, ann_file=ann, freq_thr=0.5)         # len(images)
    assert old.stats.frequencies().tolist() == [0.5, 0.25]
    assert old.rare_mask().tolist() == [False, True]
    with pytest.raises(ValueError, match='num_images_from'):
        DropLoss(num_classes=2, ann_file=ann, num_images_from='all')


def test_train_ann_file_hook_follows_the_train_dataset(tmp_path):
    (tmp_path / 'moved_root').mkdir()
    ann = _lvis_like(tmp_path / 'moved_root' / 'train.json')
    model = torch.nn.Module()
    model.loss_cls = DropLoss(num_classes=2, ann_file='train_dataset',
                              num_images_from='annotated')
    with pytest.raises(ValueError, match='TrainAnnFileHook'):
        model.loss_cls.stats.counts()
    # RFS wrapper around the dataset, as in the LVIS configs
    dataset = SimpleNamespace(dataset=SimpleNamespace(ann_file=ann))
    logs = []
    runner = SimpleNamespace(train_dataloader=SimpleNamespace(dataset=dataset), model=model,
                             logger=SimpleNamespace(info=logs.append))
    TrainAnnFileHook().before_train(runner)
    assert model.loss_cls.stats.ann_file == ann and logs
    assert model.loss_cls.stats.counts().tolist() == [2.0, 1.0]
