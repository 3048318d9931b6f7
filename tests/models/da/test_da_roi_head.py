"""CR-DA on any two-stage detector: ``DAFasterRCNN`` with every component but the SW context
vectors, built from mmdet's own Cascade R-CNN, Mask R-CNN and Cascade Mask R-CNN configs
(ResNet-50 FPN, random weights, fewer RoIs): loss, backward and predict on a 2 + 2 batch of
random images; the cascade instance terms read the configured stage; the shipped cascade
configs build."""
import copy
import glob
import os.path as osp

import pytest
import torch
from conftest import ROOT, build_model

pytestmark = pytest.mark.usefixtures('one_thread')

MMDET = {
    'cascade-rcnn': 'mmdet::cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
    'mask-rcnn': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    'cascade-mask-rcnn': 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py',
}
CASCADE_CONFIGS = sorted(osp.relpath(p, ROOT) for p in
                         glob.glob(osp.join(ROOT, 'configs/cr_da/*_cascade-rcnn_r50_fpn_*'
                                                  '_cityscapes-to-foggy.py')))
DA_KEYS = {'loss_img_da_s', 'loss_img_da_t', 'loss_ins_da_s', 'loss_ins_da_t', 'loss_cst_s',
           'loss_cst_t', 'loss_icr', 'loss_local_da_s', 'loss_local_da_t', 'loss_global_da_s',
           'loss_global_da_t'}
SIZES = [(3, 96, 128), (3, 128, 96), (3, 128, 128), (3, 96, 96)]


def _da_model_cfg(name, **extra):
    """mmdet's model config with the DA / CR components (R50 FPN channel widths)."""
    from mmengine.hub import get_config
    model = get_config(MMDET[name]).model
    model.backbone.init_cfg = None                       # random weights, no download
    model.test_cfg.rcnn.update(score_thr=0.0, max_per_img=20)  # random scores are < 0.05
    model.test_cfg.rpn.update(nms_pre=200, max_per_img=100)        # fewer RoIs: faster test
    model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    rcnn = model.train_cfg.rcnn
    for stage in (rcnn if isinstance(rcnn, list) else [rcnn]):
        stage.sampler.num = 64
    model.update(
        type='DAFasterRCNN',
        img_da=dict(type='ImageDomainDiscriminator', in_channels=256,
                    feats=[f'neck.{i}' for i in range(5)]),
        ins_da=dict(type='InstanceDomainDiscriminator', in_channels=1024),
        consistency=dict(loss_weight=0.1),
        icr=dict(type='ImageCategoryClassifier', in_channels=1024, num_classes=80,
                 feats='backbone.2'),
        ccr=dict(lam=1.0),
        local_da=dict(type='LocalDomainDiscriminator', in_channels=256, feats='backbone.0'),
        global_da=dict(type='GlobalDomainDiscriminator', in_channels=1024, feats='backbone.2'),
        **extra)
    return model


def _batches(model, with_mask):
    """(2 source + 2 target training batch, the 4 images as a test batch), preprocessed."""
    from mmdet.testing import demo_mm_inputs
    data = demo_mm_inputs(batch_size=4, image_shapes=SIZES, num_items=[3, 2, 4, 1],
                          num_classes=80, with_mask=with_mask)
    two = dict(inputs=dict(source=data['inputs'][:2], target=data['inputs'][2:]),
               data_samples=dict(source=data['data_samples'][:2],
                                 target=data['data_samples'][2:]))
    return (model.data_preprocessor(two, True),
            model.data_preprocessor(copy.deepcopy(data), False))


@pytest.fixture(scope='module')
def cascade():
    model = build_model(_da_model_cfg('cascade-rcnn'))
    return model, _batches(model, False)


@pytest.mark.slow
@pytest.mark.parametrize('name', list(MMDET))
def test_loss_backward_predict(name):
    with_mask = 'mask' in name
    model = build_model(_da_model_cfg(name))
    is_cascade = name.startswith('cascade')
    assert type(model.roi_head).__name__ == ('DACascadeRoIHead' if is_cascade
                                             else 'DAStandardRoIHead')
    train, test = _batches(model, with_mask)
    torch.manual_seed(0)
    losses = model.loss(train['inputs'], train['data_samples'])
    det = {f's{s}.{k}' for s in range(3) for k in ('loss_cls', 'loss_bbox')} if is_cascade \
        else {'loss_cls', 'loss_bbox'}
    if with_mask:
        det |= {f's{s}.loss_mask' for s in range(3)} if is_cascade else {'loss_mask'}
    assert DA_KEYS | det | {'loss_rpn_cls', 'loss_rpn_bbox'} <= set(losses)
    assert not any('da_roi_outputs' in k for k in losses)
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    for part in ('backbone', 'roi_head', 'img_da', 'ins_da', 'icr', 'local_da', 'global_da'):
        assert any(p.grad is not None and p.grad.abs().sum() > 0
                   for p in getattr(model, part).parameters()), part
    model.eval()
    with torch.no_grad():
        preds = model.predict(test['inputs'], test['data_samples'])
    assert len(preds) == 4
    for p, (_, h, w) in zip(preds, SIZES):
        assert len(p.pred_instances) > 0 and ('masks' in p.pred_instances) == with_mask
        if with_mask:
            assert p.pred_instances.masks.shape[-2:] == (h, w)


def test_cascade_instance_terms_read_the_configured_stage(cascade):
    """Target RoIs: stage 0 reads the RPN proposals as they are, a later stage reads them
    refined (without gradient) by the stages before it; the classifier inputs and scores are
    that stage's. Source RoIs: the RoI head returns the chosen stage's sampled RoIs."""
    model, (train, _) = cascade
    model = copy.deepcopy(model).train()
    head = model.roi_head
    assert model.da_bbox_head() is head.bbox_head[2]
    x = model.extract_feat(train['inputs']['target'])
    samples = train['data_samples']['target']
    from mmdet.structures.bbox import bbox2roi
    with torch.no_grad():
        proposals = model.rpn_head.predict(x, samples, rescale=False)
    rois = bbox2roi([p.bboxes for p in proposals])
    metas = [s.metainfo for s in samples]
    first, last = (head.forward_rois(x, rois, s, metas) for s in (0, -1))
    assert torch.equal(first.rois, rois)
    assert last.rois.shape == rois.shape and not torch.equal(last.rois, rois)
    assert torch.equal(last.rois[:, 0], rois[:, 0])          # each RoI stays in its image
    assert not last.rois.requires_grad and last.cls_feats.requires_grad
    assert last.cls_feats.shape == (len(rois), 1024) and last.cls_score.shape == (len(rois), 81)
    # stage 2 of the refined RoIs = the stage-2 head on them
    ref = head.box_forward(x, last.rois, head.bbox_roi_extractor[2], head.bbox_head[2])
    torch.testing.assert_close(last.cls_score, ref['cls_score'])
    with pytest.raises(ValueError, match='stage 3'):
        head.forward_rois(x, rois, 3, metas)
    # source: the sampled RoIs of the requested stage (stage 0 samples RPN proposals, later
    # stages the refined boxes), the losses without the outputs entry
    xs = model.extract_feat(train['inputs']['source'])
    src = train['data_samples']['source']
    outs = {}
    for stage in (0, -1):
        with torch.no_grad():
            props = model.rpn_head.predict(xs, src, rescale=False)
        torch.manual_seed(0)
        losses, outs[stage] = head.loss_and_outputs(xs, props, src, stage)
        assert 's2.loss_cls' in losses and not any('outputs' in k for k in losses)
    assert not torch.equal(outs[0].rois, outs[-1].rois)
    assert outs[0].cls_feats.shape[1] == outs[-1].cls_feats.shape[1] == 1024


def test_ins_da_stage_option(cascade):
    model, (train, _) = cascade
    cfg = _da_model_cfg('cascade-rcnn', ins_da_stage=0)
    first = build_model(cfg)
    assert first.da_bbox_head() is first.roi_head.bbox_head[0]
    torch.manual_seed(0)
    losses = first.loss(copy.deepcopy(train['inputs']), copy.deepcopy(train['data_samples']))
    assert torch.isfinite(losses['loss_ins_da_t']) and torch.isfinite(losses['loss_cst_t'])
    for bad in (3, -4):
        cfg.ins_da_stage = bad
        with pytest.raises(ValueError, match='stage'):
            build_model(cfg)
    # a one-stage head takes 0 / -1 only
    faster = _da_model_cfg('mask-rcnn', ins_da_stage=1)
    with pytest.raises(ValueError, match='stage 1'):
        build_model(faster)


@pytest.mark.parametrize('path', CASCADE_CONFIGS)
def test_shipped_cascade_configs_build(path, load_cfg):
    assert len(CASCADE_CONFIGS) == 2
    cfg = load_cfg(path)
    model = build_model(cfg.model)
    head = model.roi_head
    assert type(head).__name__ == 'DACascadeRoIHead' and head.num_stages == 3
    assert [h.num_classes for h in head.bbox_head] == [8, 8, 8]
    assert model.da_bbox_head() is head.bbox_head[-1]
    assert model.ins_da.in_channels == head.bbox_head[-1].fc_cls.in_features
    assert (model.icr is None) == ('icr-ccr' not in path)
