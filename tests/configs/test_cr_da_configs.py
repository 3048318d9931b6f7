"""Real-dataset CR-DA configs (Cityscapes/Foggy, Sim10k, VOC->Clipart/Watercolor): every config
parses with consistent class counts; one config per model/dataset family is built."""
import glob
import os.path as osp

import pytest

from conftest import ROOT

REAL = sorted(osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'configs/cr_da/*.py')))
BUILD = [  # one per backbone/dataset family; the first keeps the full 4096-d VGG16 head
    'configs/cr_da/da-faster-icr-ccr_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py',
    'configs/cr_da/sw-faster-icr-ccr_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py',
    'configs/cr_da/source-only_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py',
    'configs/cr_da/da-faster-icr-ccr_faster-rcnn_vgg16_c5_120k_sim10k-to-cityscapes.py',
    'configs/cr_da/sw-faster-icr-ccr_faster-rcnn_r50_fpn_120k_cityscapes-to-foggy.py',
    'configs/cr_da/sw-faster-icr-ccr_faster-rcnn_r101-caffe_c4_120k_voc-to-watercolor.py',
]


@pytest.mark.slow
def test_real_configs_parse_consistently(load_cfg):
    assert len(REAL) >= 12 and set(BUILD) <= set(REAL)
    for path in REAL:
        cfg = load_cfg(path)
        heads = cfg.model.roi_head.bbox_head          # a list for Cascade R-CNN: every stage
        heads = heads if isinstance(heads, list) else [heads]
        n_cls = heads[-1].num_classes
        assert {h.num_classes for h in heads} == {n_cls}, path
        assert len(cfg.val_dataloader.dataset.metainfo['classes']) == n_cls, path
        assert cfg.optim_wrapper.optimizer.type == 'SGD' and cfg.train_cfg.max_iters >= 70000
        if cfg.model.type == 'DAFasterRCNN':
            dl = cfg.train_dataloader
            assert dl.sampler.type == 'GroupMultiSourceSampler', path
            assert dl.sampler.batch_size == dl.batch_size, path
            assert 'LoadAnnotations' not in [t.type for t in dl.dataset.datasets[1].pipeline]
            if cfg.model.get('icr'):
                assert cfg.model.icr.num_classes == n_cls, path
    # reference inits / local-discriminator input (issue 14): SW-Faster code keeps PyTorch's
    # default init of its ICR conv (DA-Faster code: N(0, 0.01)); the VGG16 local discriminator
    # reads ReLU(feature) with default init, the ResNet one the feature itself with N(0, 0.01)
    synth = sorted(osp.relpath(p, ROOT)
                   for p in glob.glob(osp.join(ROOT, 'configs/cr_da/synth/*.py')))
    for path in REAL + synth:
        model = load_cfg(path).model
        if model.get('icr'):
            sw = osp.basename(path).startswith('sw-')
            assert model.icr.get('init_std', 0.01) == (None if sw else 0.01), path
        if model.get('local_da'):
            vgg = 'vgg16' in path
            assert model.local_da.get('input_relu', False) == vgg, path
            assert model.local_da.get('init_std', 0.01) == (None if vgg else 0.01), path


@pytest.mark.slow
@pytest.mark.parametrize('path', BUILD)
def test_real_config_builds(path, load_cfg):
    from mmengine.registry import init_default_scope

    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    cfg = load_cfg(path)
    head = cfg.model.roi_head.bbox_head
    if path != BUILD[0] and head.get('fc_out_channels') == 4096:
        head.fc_out_channels = 256           # same wiring, a fraction of the init time
        if cfg.model.get('ins_da'):
            ctx = cfg.model.roi_head.get('context_channels', 0)
            cfg.model.ins_da.in_channels = 256 + ctx
    model = MODELS.build(cfg.model)
    assert model.roi_head.bbox_head.num_classes == head.num_classes
    if type(model).__name__ == 'DAFasterRCNN' and model.ins_da is not None:
        # with SW context vectors both the classifier and the instance DA read [ctx, roi_feat]
        assert model.ins_da.in_channels == model.roi_head.bbox_head.fc_cls.in_features
    if path.startswith('configs/cr_da/sw-'):
        assert model.sw_context['channels'] == 256
        assert model.roi_head.bbox_head.fc_reg.in_features == head.get('fc_out_channels',
                                                                          2048) + 256
