"""configs/hce and configs/demo: the COCO configs and the ablations build, the demo's HCE twin
differs from the plain detector only in its RoI head and trains."""
import copy

import pytest
from mmdet.registry import MODELS

import hce_det  # noqa: F401

SYNTH_HCE = 'configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'


@pytest.mark.parametrize('path', [
    'configs/hce/hce_faster-rcnn_r50_fpn_1x_coco.py',
    'configs/hce/hce_faster-rcnn_r101_fpn_1x_coco.py',
    'configs/hce/hce_cascade-rcnn_r50_fpn_1x_coco.py',
    'configs/hce/hce_mask-rcnn_r50_fpn_1x_coco.py',
    'configs/hce/hce-both_faster-rcnn_r50_fpn_1x_coco.py',
])
def test_coco_configs_build(load_cfg, path):
    cfg = load_cfg(path)
    model = MODELS.build(cfg.model)
    assert model.roi_head.context_embedding.num_classes == 80
    assert 'HCE' in type(model.roi_head).__name__


@pytest.mark.parametrize('variant', ['embloss', 'early', 'early-concat', 'late', 'both'])
def test_ablation_configs_build(load_cfg, variant):
    cfg = load_cfg(f'configs/hce/hce-{variant}_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    head = MODELS.build(cfg.model).roi_head
    early = {'embloss': None, 'early': 'sum', 'early-concat': 'concat', 'late': None,
             'both': 'sum'}[variant]
    assert head.context_roi[0].early_fusion == early
    assert (head.context_cls is not None) == (variant in ('late', 'both'))


def test_demo_twin_differs_only_in_roi_head(load_cfg):
    a = load_cfg('configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    b = load_cfg(SYNTH_HCE)
    for key in ('train_dataloader', 'val_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'randomness'):
        assert a[key] == b[key], key
    ma, mb = copy.deepcopy(a.model), copy.deepcopy(b.model)
    ma.pop('roi_head'), mb.pop('roi_head')
    assert ma == mb


@pytest.mark.slow
def test_runner_trains_and_evaluates_hce_demo(load_cfg, tiny_data, tmp_path):
    from mmengine.runner import Runner

    from conftest import shrink_cfg
    cfg = shrink_cfg(load_cfg(SYNTH_HCE), tiny_data, tmp_path, max_iters=3)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val()
    assert 'coco/bbox_mAP' in metrics


HCE_KEYS = ('type', 'context_embedding', 'context_roi', 'late_fusion')
LATE_CONV_GS = 'configs/hce/hce-late-conv-gs0p1_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
HCE_APA = {
    'configs/hce/hce-apa_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py':
        'configs/lvis/apa-droploss_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py',
    'configs/hce/hce-apa-droploss_faster-rcnn_r18-thin_fpn_1k_synth-lt.py':
        'configs/lvis/apa-droploss_faster-rcnn_r18-thin_fpn_1k_synth-lt.py',
}


@pytest.mark.parametrize('path', sorted(HCE_APA))
def test_hce_apa_configs_add_only_the_late_conv_gs_hce_keys(load_cfg, path):
    """HCE + APA + DropLoss: the apa-droploss config with only the HCE RoI-head keys, set as
    the resolved late-conv-gs0.1 candidate."""
    cfg, base = load_cfg(path), load_cfg(HCE_APA[path])
    ref = load_cfg(LATE_CONV_GS).model.roi_head
    for key in HCE_KEYS:
        assert cfg.model.roi_head[key] == ref[key], key
    assert cfg.model.roi_head.late_fusion.fusion == 'logit_sum'
    a, b = copy.deepcopy(cfg.model), copy.deepcopy(base.model)
    for key in HCE_KEYS:
        a.roi_head.pop(key), b.roi_head.pop(key)
    assert a == b
    for key in ('train_dataloader', 'val_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_evaluator'):
        assert cfg[key] == base[key], key


def test_hce_apa_lvis_config_builds(load_cfg):
    cfg = load_cfg('configs/hce/hce-apa_mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v1.py')
    head = MODELS.build(cfg.model).roi_head
    clf = head.context_cls[0]
    assert type(head).__name__ == 'HCERoIHead' and head.context_embedding.num_classes == 1203
    assert type(clf.loss_cls).__name__ == 'DropLoss' and clf.fc_cls.out_features == 1203
    assert type(clf.loss_cls.activation).__name__ == 'APAClsAct'
    assert head.mask_head.num_classes == 1203


def test_hce_apa_synth_lt_config_takes_a_loss_step(load_cfg, tiny_data):
    import os.path as osp

    import torch
    from mmdet.testing import demo_mm_inputs
    cfg = load_cfg('configs/hce/hce-apa-droploss_faster-rcnn_r18-thin_fpn_1k_synth-lt.py')
    loss = cfg.model.roi_head.bbox_head.loss_cls
    loss.ann_file = osp.join(tiny_data, osp.relpath(loss.ann_file, 'data/hce_synth'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    data = model.data_preprocessor(demo_mm_inputs(1, [[3, 96, 96]], num_items=[3]), True)
    losses = model(**data, mode='loss')
    assert {'loss_cls', 'loss_ctx_cls', 'loss_img_cls'} <= set(losses)
    model.parse_losses(losses)[0].backward()
    assert model.roi_head.context_cls[0].fc_cls.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('path', [
    'configs/hce/hce_faster-rcnn_r50_fpn_1x_coco.py',
    'configs/hce/hce_faster-rcnn_r101_fpn_1x_coco.py',
    'configs/hce/hce_cascade-rcnn_r50_fpn_1x_coco.py',
    'configs/hce/hce_mask-rcnn_r50_fpn_1x_coco.py',
])
def test_coco_configs_carry_the_synth_candidates_hce_settings(load_cfg, path):
    """Every COCO HCE config (R50/R101/Cascade/Mask) builds with the settings the built-in
    ladders chose (configs/hce/hce-late-conv-gs0p3-gmax-p23_*synth-context.py)."""
    coco = load_cfg(path)
    synth = load_cfg(
        'configs/hce/hce-late-conv-gs0p3-gmax-p23_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    head = MODELS.build(coco.model).roi_head
    emb, want = head.context_embedding, synth.model.roi_head
    assert len(emb.convs) == want.context_embedding.num_convs == 1
    # the conv's width: half the 256-wide FPN at COCO scale (a speed choice, see the config)
    assert emb.convs[0].out_channels == 128 and emb.cat_conv.in_channels == 128
    assert emb.input_grad_scale == want.context_embedding.input_grad_scale == 0.3
    assert tuple(emb.in_levels) == tuple(want.context_embedding.in_levels) == (1, 0)
    for ctx in head.context_roi:
        assert ctx.early_fusion is None and want.context_roi.early_fusion is None
        assert ctx.global_pool == want.context_roi.global_pool == 'max'
    for clf in head.context_cls:
        assert clf.fusion == want.late_fusion.fusion == 'logit_sum'
        assert clf.test_branch == 'both'


def test_coco_both_config_keeps_the_earlier_settings(load_cfg):
    head = MODELS.build(load_cfg('configs/hce/hce-both_faster-rcnn_r50_fpn_1x_coco.py').model
                        ).roi_head
    assert len(head.context_embedding.convs) == 0
    assert head.context_embedding.input_grad_scale == 1.0
    assert head.context_roi[0].early_fusion == 'sum' and head.context_roi[0].global_pool == 'grid'
    assert head.context_cls[0].fusion == 'mean'


@pytest.mark.parametrize('name,scale', [('gs0p1', 0.1), ('gs0p3', 0.3)])
def test_late_conv_gradient_scale_rows_differ_from_late_conv_only_in_the_scale(load_cfg, name,
                                                                               scale):
    base = load_cfg('configs/hce/hce-late-conv_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    cfg = load_cfg(f'configs/hce/hce-late-conv-{name}_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    assert MODELS.build(copy.deepcopy(cfg.model)).roi_head.context_embedding.input_grad_scale \
        == scale
    assert cfg.model.roi_head.context_embedding.pop('input_grad_scale') == scale
    assert cfg.model == base.model


def test_p5_row_differs_from_gs0p3_only_in_the_embedding_level(load_cfg):
    """late-conv-gs0.3-p5 reads P5 (stride 32) and pools its context at that stride; one
    loss/backward reaches the embedding."""
    import torch
    from mmdet.testing import demo_mm_inputs
    base = load_cfg('configs/hce/hce-late-conv-gs0p3_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    cfg = load_cfg(
        'configs/hce/hce-late-conv-gs0p3-p5_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()
    assert model.roi_head.context_embedding.in_levels == (3, )
    assert model.roi_head.context_roi[0].roi_layer.spatial_scale == 1 / 32
    data = model.data_preprocessor(demo_mm_inputs(2, (3, 128, 128), num_items=[3, 2],
                                                  num_classes=10), True)
    losses = model(**data, mode='loss')
    model.parse_losses(losses)[0].backward()
    assert model.roi_head.context_embedding.cat_conv.weight.grad.abs().sum() > 0
    assert tuple(cfg.model.roi_head.context_embedding.pop('in_levels')) == (3, )
    assert tuple(base.model.roi_head.context_embedding.pop('in_levels')) == (1, )
    assert cfg.model == base.model


def test_gmax_row_differs_from_gs0p3_only_in_the_global_pool(load_cfg):
    """late-conv-gs0.3-gmax broadcasts the image's global max as x_global; same parameters as
    gs0.3 (so it shares vanilla's initial detector weights the same way)."""
    base = load_cfg('configs/hce/hce-late-conv-gs0p3_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    cfg = load_cfg(
        'configs/hce/hce-late-conv-gs0p3-gmax_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    a, b = MODELS.build(copy.deepcopy(cfg.model)), MODELS.build(copy.deepcopy(base.model))
    assert a.roi_head.context_roi[0].global_pool == 'max'
    assert {k: v.shape for k, v in a.state_dict().items()} == \
        {k: v.shape for k, v in b.state_dict().items()}
    assert cfg.model.roi_head.context_roi.pop('global_pool') == 'max'
    assert cfg.model == base.model


def test_p23_row_differs_from_gmax_only_in_the_embedding_levels(load_cfg):
    """late-conv-gs0.3-gmax-p23 reads P3 + P2 (resized to P3): same parameters as gmax, its
    context still pooled at P3's stride, and one loss/backward reaches P2 through the
    embedding."""
    import torch
    from mmdet.testing import demo_mm_inputs
    base = load_cfg(
        'configs/hce/hce-late-conv-gs0p3-gmax_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    cfg = load_cfg(
        'configs/hce/hce-late-conv-gs0p3-gmax-p23_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    torch.manual_seed(0)
    a, b = MODELS.build(copy.deepcopy(cfg.model)), MODELS.build(copy.deepcopy(base.model))
    assert a.roi_head.context_embedding.in_levels == (1, 0)
    assert a.roi_head.context_roi[0].roi_layer.spatial_scale == 1 / 8
    assert {k: v.shape for k, v in a.state_dict().items()} == \
        {k: v.shape for k, v in b.state_dict().items()}
    a.init_weights()
    data = a.data_preprocessor(demo_mm_inputs(2, (3, 128, 128), num_items=[3, 2],
                                              num_classes=10), True)
    feats = [f.detach().requires_grad_() for f in a.extract_feat(data['inputs'])]
    _, logits, _ = a.roi_head.context_embedding(feats)
    logits.sum().backward()
    assert feats[0].grad.abs().sum() > 0 and feats[1].grad.abs().sum() > 0
    assert feats[2].grad is None
    assert tuple(cfg.model.roi_head.context_embedding.pop('in_levels')) == (1, 0)
    assert tuple(base.model.roi_head.context_embedding.pop('in_levels')) == (1, )
    assert cfg.model == base.model
