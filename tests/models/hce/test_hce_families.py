"""HCE on every mmdet two-stage RoI-head family, built from mmdet's own configs (ResNet-18, two
128 px images, few RoIs): HCE losses finite with gradients into the HCE modules, predict runs, the
base head's own behaviour survives (Dynamic schedules, PISA reweighting, HTC semantic branch),
identity at init with a zero gate, and clear build errors for the families that do not fit."""
import copy
import os.path as osp

import mmdet
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs

import hce_det  # noqa: F401

pytestmark = pytest.mark.usefixtures('one_thread')
MMDET_CFGS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')

# family -> (mmdet config, HCE type, extra loss keys of the base head, needs masks)
FAMILIES = {
    'faster': ('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 'HCERoIHead', (), False),
    'mask': ('mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', 'HCERoIHead', ('loss_mask', ), True),
    'libra': ('libra_rcnn/libra-faster-rcnn_r50_fpn_1x_coco.py', 'HCERoIHead', (), False),
    'cascade': ('cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py', 'HCECascadeRoIHead',
                ('s2.loss_cls', ), False),
    'cascade_mask': ('cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py', 'HCECascadeRoIHead',
                     ('s2.loss_mask', ), True),
    'dynamic': ('dynamic_rcnn/dynamic-rcnn_r50_fpn_1x_coco.py', 'HCEDynamicRoIHead', (), False),
    'pisa': ('pisa/faster-rcnn_r50_fpn_pisa_1x_coco.py', 'HCEPISARoIHead', ('loss_carl', ),
             False),
    'pisa_mask': ('pisa/mask-rcnn_r50_fpn_pisa_1x_coco.py', 'HCEPISARoIHead',
                  ('loss_carl', 'loss_mask'), True),
    'double_head': ('double_heads/dh-faster-rcnn_r50_fpn_1x_coco.py', 'HCEDoubleHeadRoIHead',
                    (), False),
    'grid': ('grid_rcnn/grid-rcnn_r50_fpn_gn-head_1x_coco.py', 'HCEGridRoIHead',
             ('loss_grid', ), False),
    'htc_no_semantic': ('htc/htc-without-semantic_r50_fpn_1x_coco.py',
                        'HCEHybridTaskCascadeRoIHead', ('s2.loss_mask', ), True),
    'htc': ('htc/htc_r50_fpn_1x_coco.py', 'HCEHybridTaskCascadeRoIHead',
            ('s2.loss_mask', 'loss_semantic_seg'), True),
    'ms_rcnn': ('ms_rcnn/ms-rcnn_r50_fpn_1x_coco.py', 'HCEMaskScoringRoIHead',
                ('loss_mask_iou', ), True),
    'point_rend': ('point_rend/point-rend_r50-caffe_fpn_ms-1x_coco.py', 'HCEPointRendRoIHead',
                   ('loss_point', ), True),
}


def _listed(cfg):
    return cfg if isinstance(cfg, list) else [cfg]


NARROW = {256: 32, 1024: 64}  # FPN / RoI-head widths -> a few channels (speed only)


def _narrow(cfg):
    """Every ``*channels`` int of 256 (1024) in the config tree -> 32 (64)."""
    if isinstance(cfg, dict):
        for k, v in cfg.items():
            if k.endswith('channels') and isinstance(v, int):
                cfg[k] = NARROW.get(v, v)
            else:
                _narrow(v)
    elif isinstance(cfg, list):
        for v in cfg:
            _narrow(v)


def small_cfg(rel: str, hce_type=None, **hce_keys):
    """mmdet's config ``rel`` with ResNet-18, 32-channel FPN and heads, 10 classes, few
    proposals / RoIs; with ``hce_type`` the RoI head becomes that HCE head with
    ``hce_keys``."""
    cfg = Config.fromfile(osp.join(MMDET_CFGS, rel)).model
    _narrow(cfg)
    cfg.backbone.update(depth=18, init_cfg=None)
    _listed(cfg.neck)[0].in_channels = [64, 128, 256, 512]
    roi = cfg.roi_head
    for key in ('bbox_head', 'mask_head', 'mask_iou_head', 'point_head'):
        for h in _listed(roi.get(key) or []):
            h.num_classes = 10
    cfg.train_cfg.rpn_proposal.max_per_img = 64
    for r in _listed(cfg.train_cfg.rcnn):
        r.sampler.num = 32
    cfg.test_cfg.rpn.max_per_img = 32
    cfg.test_cfg.rcnn.max_per_img = 10
    if hce_type is not None:
        roi.type = hce_type
        roi.update(hce_keys)
    return cfg


def build(cfg):
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return model


def batch(model, with_mask=False, with_semantic=False, seed=0):
    torch.manual_seed(seed)
    data = demo_mm_inputs(batch_size=2, image_shapes=(3, 128, 128), num_items=[3, 2],
                          num_classes=10, with_mask=with_mask, with_semantic=with_semantic)
    return model.data_preprocessor(data, True)


def _losses(model, data, seed=1):
    torch.manual_seed(seed)
    return model.loss(data['inputs'], copy.deepcopy(data['data_samples']))


@pytest.mark.parametrize('family', list(FAMILIES))
def test_family_trains_and_predicts_with_hce(family):
    rel, hce_type, base_keys, with_mask = FAMILIES[family]
    model = build(small_cfg(rel, hce_type))
    assert type(model.roi_head).__name__ == hce_type
    data = batch(model, with_mask, with_semantic=family == 'htc')
    losses = _losses(model, data)
    for key in ('loss_img_cls', ) + base_keys:
        assert key in losses, (key, sorted(losses))
    ctx_keys = [k for k in losses if k.endswith('loss_ctx_cls')]
    assert len(ctx_keys) == len(model.roi_head.context_roi)
    total, log_vars = model.parse_losses(losses)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values()), log_vars
    model.zero_grad()
    total.backward()
    head = model.roi_head
    assert head.context_embedding.cat_conv.weight.grad.abs().sum() > 0
    for ctx_roi, clf in zip(head.context_roi, head.context_cls):
        assert ctx_roi.inst_proj.weight.grad.abs().sum() > 0
        assert clf.fc_cls.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        results = model.predict(data['inputs'], copy.deepcopy(data['data_samples']))
        outs = model._forward(data['inputs'], copy.deepcopy(data['data_samples']))  # tensor mode
    assert len(outs) > 0 and len(results) == 2
    for r in results:
        assert r.pred_instances.bboxes.shape[1] == 4
        assert torch.isfinite(r.pred_instances.scores).all()


def test_dynamic_schedule_updates_as_plain_dynamic_rcnn():
    """HCEDynamicRoIHead records the same IoU / beta statistics and updates the assigner's IoU
    threshold and the SmoothL1 beta exactly as DynamicRoIHead on the same batches."""
    rel = FAMILIES['dynamic'][0]
    plain_cfg = small_cfg(rel)
    plain_cfg.train_cfg.rcnn.dynamic_rcnn.update_iter_interval = 2
    hce_cfg = copy.deepcopy(plain_cfg)
    hce_cfg.roi_head.type = 'HCEDynamicRoIHead'
    plain, hce = build(plain_cfg), build(hce_cfg)
    hce.load_state_dict(plain.state_dict(), strict=False)
    data = batch(plain)
    start = (plain.roi_head.bbox_assigner.pos_iou_thr, plain.roi_head.bbox_head.loss_bbox.beta)
    for step in range(4):
        _losses(plain, data, seed=step)
        _losses(hce, data, seed=step)
        for m in (plain, hce):
            assert m.roi_head.bbox_assigner.pos_iou_thr == m.roi_head.bbox_assigner.neg_iou_thr
        assert hce.roi_head.iou_history == plain.roi_head.iou_history
        assert hce.roi_head.beta_history == plain.roi_head.beta_history
        assert (hce.roi_head.bbox_assigner.pos_iou_thr
                == plain.roi_head.bbox_assigner.pos_iou_thr)
        assert (hce.roi_head.bbox_head.loss_bbox.beta
                == plain.roi_head.bbox_head.loss_bbox.beta)
    assert (plain.roi_head.bbox_assigner.pos_iou_thr,
            plain.roi_head.bbox_head.loss_bbox.beta) != start  # the schedule did move


def test_pisa_reweighting_survives():
    """ISR-P reweights HCEPISARoIHead's classification loss (its gradients: ISR-P keeps the
    loss sum) and CARL adds its loss."""
    rel = FAMILIES['pisa'][0]
    cfg = small_cfg(rel, 'HCEPISARoIHead')
    no_pisa = copy.deepcopy(cfg)
    no_pisa.train_cfg.rcnn.pop('isr')
    no_pisa.train_cfg.rcnn.pop('carl')
    a, b = build(cfg), build(no_pisa)
    data = batch(a)
    la, lb = _losses(a, data), _losses(b, data)
    assert 'loss_carl' in la and 'loss_carl' not in lb
    grads = []
    for model, losses in ((a, la), (b, lb)):
        model.zero_grad()
        losses['loss_cls'].backward(retain_graph=True)
        grads.append(model.roi_head.bbox_head.fc_cls.weight.grad.clone())
    assert not torch.allclose(grads[0], grads[1])
    # the context classifier's loss does not see ISR-P: same labels, same weights
    torch.testing.assert_close(la['loss_ctx_cls'], lb['loss_ctx_cls'])


def test_htc_semantic_feature_reaches_the_hce_box_head():
    """HTC's semantic RoI feature is still added to the box feature under HCE: the box loss
    sends gradients into the semantic head."""
    model = build(small_cfg(FAMILIES['htc'][0], 'HCEHybridTaskCascadeRoIHead'))
    data = batch(model, with_mask=True, with_semantic=True)
    losses = _losses(model, data)
    model.zero_grad()
    losses['s0.loss_cls'].backward()
    assert model.roi_head.semantic_head.conv_embedding.conv.weight.grad.abs().sum() > 0


IDENTITY = dict(context_roi=dict(gate='zero'), late_fusion=None)


@pytest.mark.parametrize('family', ['faster', 'double_head', 'cascade', 'htc_no_semantic'])
def test_zero_gate_gives_the_plain_family_outputs(family):
    """Zero gate, no late fusion, the plain detector's weights: the HCE head predicts exactly
    the plain family's boxes and scores."""
    rel, hce_type, _, _ = FAMILIES[family]
    plain = build(small_cfg(rel)).eval()
    hce = build(small_cfg(rel, hce_type, **IDENTITY)).eval()
    missing, unexpected = hce.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith('roi_head.context') for k in missing)
    data = batch(plain)
    with torch.no_grad():
        a = plain.predict(data['inputs'], copy.deepcopy(data['data_samples']))
        b = hce.predict(data['inputs'], copy.deepcopy(data['data_samples']))
    for x, y in zip(a, b):
        assert len(x.pred_instances) > 0
        torch.testing.assert_close(y.pred_instances.bboxes, x.pred_instances.bboxes, rtol=0,
                                   atol=0)
        torch.testing.assert_close(y.pred_instances.scores, x.pred_instances.scores, rtol=0,
                                   atol=0)


@pytest.mark.parametrize('rel,hce_type,match', [
    ('sparse_rcnn/sparse-rcnn_r50_fpn_1x_coco.py', 'HCESparseRoIHead', 'Hungarian'),
    ('scnet/scnet_r50_fpn_1x_coco.py', 'HCESCNetRoIHead', 'glbctx_feat'),
    ('crowddet/crowddet-rcnn_r50_fpn_8xb2-30e_crowdhuman.py', 'HCEMultiInstanceRoIHead',
     'EMD'),
    ('tridentnet/tridentnet_r50-caffe_1x_coco.py', 'HCETridentRoIHead', 'C4 shared_head'),
    ('faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py', 'HCERoIHead', 'shared_head'),
])
def test_unfit_families_are_refused_at_build(rel, hce_type, match):
    roi = Config.fromfile(osp.join(MMDET_CFGS, rel)).model.roi_head
    roi.type = hce_type
    init_default_scope('mmdet')
    with pytest.raises(ValueError, match=match):
        MODELS.build(roi)


@pytest.mark.parametrize('family,key,fix', [
    ('dynamic', 'dynamic_rcnn', 'HCEDynamicRoIHead'),
    ('pisa', 'isr', 'HCEPISARoIHead'),
    ('double_head', 'reg_roi_scale_factor', 'HCEDoubleHeadRoIHead'),
    ('grid', 'grid_roi_extractor', 'HCEGridRoIHead'),
    ('ms_rcnn', 'mask_iou_head', 'HCEMaskScoringRoIHead'),
    ('htc', 'interleaved', 'HCEHybridTaskCascadeRoIHead'),
])
def test_another_familys_config_names_the_key_and_the_hce_type(family, key, fix):
    """``HCERoIHead`` / ``HCECascadeRoIHead`` on another family's config is a build error that
    names the key and the HCE type to use, instead of dropping that family's behaviour."""
    wrong = 'HCECascadeRoIHead' if family == 'htc' else 'HCERoIHead'
    cfg = small_cfg(FAMILIES[family][0], wrong)
    with pytest.raises(ValueError, match=f'{key}.*{fix}'):
        build(cfg)


def test_base_key_points_to_the_hce_type():
    cfg = small_cfg(FAMILIES['dynamic'][0], 'HCERoIHead', base='DynamicRoIHead')
    with pytest.raises(ValueError, match="roi_head.type='HCEDynamicRoIHead'"):
        build(cfg)
