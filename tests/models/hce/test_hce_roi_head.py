"""HCERoIHead inside real mmdet detectors: losses, gradients, predict paths, Mask R-CNN, empty
images, build-time errors, the options that start HCE as vanilla (Cascade R-CNN:
test_hce_cascade_roi_head.py; config builds: tests/configs/test_hce_configs.py)."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs

import hce_det  # noqa: F401

SYNTH_HCE = 'configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
SMALL_R18 = dict(depth=18, init_cfg=None)
SMALL_NECK = dict(in_channels=[64, 128, 256, 512])


def _batch(model, num_items=(3, 2), with_mask=False, size=128):
    data = demo_mm_inputs(batch_size=len(num_items), image_shapes=(3, size, size),
                          num_items=list(num_items), num_classes=10, with_mask=with_mask)
    return model.data_preprocessor(data, True)


def _build(cfg_model, init=True, **roi_head):
    cfg = copy.deepcopy(cfg_model)
    cfg.roi_head.update(roi_head)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    if init:
        model.init_weights()
    return model


@pytest.fixture
def synth_model_cfg(load_cfg):
    return load_cfg(SYNTH_HCE).model


def _coco_small(load_cfg, path, num_classes=10):
    cfg = load_cfg(path).model
    cfg.backbone.update(SMALL_R18)
    cfg.neck.update(SMALL_NECK)
    heads = cfg.roi_head.bbox_head
    for h in (heads if isinstance(heads, list) else [heads]):
        h.num_classes = num_classes
    if 'mask_head' in cfg.roi_head:
        cfg.roi_head.mask_head.num_classes = num_classes
    # few proposals and RoIs: the test checks the data flow, not accuracy
    cfg.train_cfg.rpn_proposal.max_per_img = 64
    rcnn = cfg.train_cfg.rcnn
    for r in (rcnn if isinstance(rcnn, list) else [rcnn]):
        r.sampler.num = 32
    cfg.test_cfg.rpn.max_per_img = 32
    cfg.test_cfg.rcnn.max_per_img = 10
    return cfg


def test_losses_and_gradients_reach_backbone_through_embedding(synth_model_cfg):
    model = _build(synth_model_cfg)
    batch = _batch(model)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    for key in ('loss_img_cls', 'loss_ctx_cls', 'loss_cls', 'loss_bbox', 'acc_ctx'):
        assert key in losses
    # the image-level loss alone sends gradients into the backbone via the embedding branch
    model.zero_grad()
    losses['loss_img_cls'].backward(retain_graph=True)
    stem = model.backbone.conv1.weight.grad
    assert stem is not None and stem.abs().sum() > 0
    assert model.roi_head.context_embedding.cat_conv.weight.grad.abs().sum() > 0
    # the context classifier's loss reaches the embedding and the backbone via x_context
    model.zero_grad()
    losses['loss_ctx_cls'].backward()
    assert model.roi_head.context_embedding.reproject.weight.grad.abs().sum() > 0
    assert model.backbone.conv1.weight.grad.abs().sum() > 0


def test_image_without_gt_trains(synth_model_cfg):
    model = _build(synth_model_cfg)
    batch = _batch(model, num_items=(0, 2))
    losses = model.loss(batch['inputs'], batch['data_samples'])
    total = sum(v for k, v in losses.items() if 'loss' in k and torch.is_tensor(v)) + \
        sum(sum(v) for k, v in losses.items() if 'loss' in k and isinstance(v, list))
    assert torch.isfinite(total)
    total.backward()
    # all-background batch too
    losses = model.loss(*_batch(model, num_items=(0, 0)).values())
    assert torch.isfinite(losses['loss_img_cls']) and losses['loss_img_cls'] > 0


@pytest.mark.parametrize('test_branch', ['both', 'det', 'context'])
def test_predict_every_test_branch(synth_model_cfg, test_branch):
    model = _build(synth_model_cfg, late_fusion=dict(test_branch=test_branch)).eval()
    calls = []
    model.roi_head.context_cls[0].register_forward_hook(lambda *a: calls.append(1))
    batch = _batch(model)
    with torch.no_grad():
        results = model.predict(batch['inputs'], batch['data_samples'])
    assert len(results) == 2
    for r in results:
        p = r.pred_instances
        assert p.bboxes.shape[1] == 4 and len(p.scores) == len(p.labels)
        assert (p.scores <= 1 + 1e-6).all() and (p.labels < 10).all()
    assert bool(calls) == (test_branch != 'det')


def test_predicted_scores_are_fused_probabilities(synth_model_cfg):
    """bbox_head's softmax of the returned cls_score equals the mean of both softmaxes."""
    model = _build(synth_model_cfg).eval()
    batch = _batch(model)
    head = model.roi_head
    with torch.no_grad():
        feats = model.extract_feat(batch['inputs'])
        rois = torch.tensor([[0, 5., 5., 60., 60.], [1, 20., 30., 100., 90.]])
        x = head.with_context(feats, batch['data_samples'], fuse_scores=True)
        fused = head._bbox_forward(x, rois)
        x = head.with_context(feats, batch['data_samples'], fuse_scores=False)
        raw = head._bbox_forward(x, rois)
        ctx = head.context_cls[0](raw['x_context'])
    p = fused['cls_score'].softmax(-1)
    assert torch.allclose(p.sum(-1), torch.ones(2), atol=1e-5)
    assert torch.allclose(p, (raw['cls_score'].softmax(-1) + ctx.softmax(-1)) / 2, atol=1e-5)


def test_no_fusion_variant_skips_context_at_test(synth_model_cfg):
    model = _build(synth_model_cfg, context_roi=dict(early_fusion=None), late_fusion=None).eval()
    calls = []
    model.roi_head.context_embedding.register_forward_hook(lambda *a: calls.append(1))
    batch = _batch(model)
    with torch.no_grad():
        model.predict(batch['inputs'], batch['data_samples'])
    assert not calls
    model.train()
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert 'loss_img_cls' in losses and 'loss_ctx_cls' not in losses


def test_num_classes_mismatch_is_build_error(synth_model_cfg):
    cfg = copy.deepcopy(synth_model_cfg)
    cfg.roi_head.context_embedding = dict(num_classes=80)
    with pytest.raises(ValueError,
                       match='context_embedding.num_classes=80.*bbox_head.num_classes=10'):
        MODELS.build(cfg)
    cfg = copy.deepcopy(synth_model_cfg)
    cfg.roi_head.late_fusion = dict(num_classes=3)
    with pytest.raises(ValueError, match='late_fusion.num_classes'):
        MODELS.build(cfg)


@pytest.mark.slow
def test_mask_rcnn_trains_a_step_mask_branch_untouched(load_cfg):
    cfg = _coco_small(load_cfg, 'configs/hce/hce_mask-rcnn_r50_fpn_1x_coco.py')
    model = _build(cfg, init=False)
    assert not model.roi_head.share_roi_extractor
    batch = _batch(model, with_mask=True, size=96)
    seen = []
    model.roi_head.mask_head.register_forward_hook(lambda m, a, o: seen.append(a[0]))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert 'loss_mask' in losses and 'loss_ctx_cls' in losses
    loss, _ = model.parse_losses(losses)
    loss.backward()
    opt.step()
    # the mask head's input is the plain RoIAlign of the FPN features (no context added)
    assert seen[0].shape[1:] == (256, 14, 14)
    model.eval()
    with torch.no_grad():
        res = model.predict(batch['inputs'], batch['data_samples'])
    assert 'masks' in res[0].pred_instances


# ----------------------------------------------------------- options that start HCE as vanilla
VANILLA_SYNTH = 'configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py'
IDENTITY = dict(context_roi=dict(early_fusion='sum', gate='zero'),
                late_fusion=dict(fusion='logit_sum'))


def test_zero_gate_and_trained_fusion_give_exactly_vanillas_outputs(load_cfg, synth_model_cfg):
    """With the zero gate and zero-initialised trained late fusion, an HCE detector loaded with
    a vanilla detector's weights predicts exactly what the vanilla detector predicts, and its
    detection losses are vanilla's (train mode)."""
    vanilla = _build(load_cfg(VANILLA_SYNTH).model).eval()
    hce = _build(synth_model_cfg, **IDENTITY).eval()
    missing, unexpected = hce.load_state_dict(vanilla.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith('roi_head.context') for k in missing)
    batch = _batch(vanilla)
    with torch.no_grad():
        a = vanilla.predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
        b = hce.predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
    for x, y in zip(a, b):
        torch.testing.assert_close(x.pred_instances.bboxes, y.pred_instances.bboxes, rtol=0, atol=0)
        torch.testing.assert_close(x.pred_instances.scores, y.pred_instances.scores, rtol=0, atol=0)
    vanilla.train(), hce.train()
    torch.manual_seed(1)
    la = vanilla.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    torch.manual_seed(1)
    lb = hce.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
    for k in ('loss_rpn_cls', 'loss_cls', 'loss_bbox'):
        va = sum(la[k]) if isinstance(la[k], list) else la[k]
        vb = sum(lb[k]) if isinstance(lb[k], list) else lb[k]
        torch.testing.assert_close(va, vb, rtol=0, atol=0, msg=k)
    # the gate and the context classifier still learn from the detection loss
    hce.zero_grad()
    lb['loss_cls'].backward()
    assert hce.roi_head.context_roi[0].gate.grad.abs().sum() > 0
    assert hce.roi_head.context_cls[0].fc_cls.weight.grad.abs().sum() > 0
    # negative control: without the gate the same weights give other scores
    plain = _build(synth_model_cfg, late_fusion=dict(fusion='logit_sum')).eval()
    plain.load_state_dict(vanilla.state_dict(), strict=False)
    with torch.no_grad():
        c = plain.predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
    assert any(x.pred_instances.scores.shape != y.pred_instances.scores.shape
               or not torch.equal(x.pred_instances.scores, y.pred_instances.scores)
               for x, y in zip(a, c))


def test_detached_embedding_input_keeps_its_losses_off_the_backbone(synth_model_cfg):
    model = _build(synth_model_cfg, context_embedding=dict(in_levels=[1], detach_input=True))
    batch = _batch(model)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    model.zero_grad()
    (losses['loss_img_cls'] + losses['loss_ctx_cls']).backward()
    assert model.backbone.conv1.weight.grad is None or \
        model.backbone.conv1.weight.grad.abs().sum() == 0
    assert model.roi_head.context_embedding.cat_conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('pos_weight', [-1, 2.0])
def test_roi_labels_equal_the_bbox_heads_targets(pos_weight):
    """The context classifier's RoI labels and weights (read from the sampling results) are
    those of mmdet's ``BBoxHead.get_targets`` (an image without positives included)."""
    from mmdet.models.task_modules.samplers import SamplingResult
    from mmengine.config import ConfigDict

    from hce_det.models.hce import roi_labels
    torch.manual_seed(0)
    results = []
    for num_pos, num_neg in ((3, 5), (0, 4)):
        priors = torch.rand(num_pos + num_neg, 4) * 50
        priors[:, 2:] += priors[:, :2] + 1
        gt = torch.rand(2, 4) * 50
        gt[:, 2:] += gt[:, :2] + 1
        assigned = torch.zeros(num_pos + num_neg, dtype=torch.long)
        assigned[:num_pos] = torch.tensor([1, 2, 1])[:num_pos]
        results.append(SamplingResult(
            pos_inds=torch.arange(num_pos), neg_inds=torch.arange(num_pos, num_pos + num_neg),
            priors=priors, gt_bboxes=gt,
            assign_result=type('A', (), dict(gt_inds=assigned, num_gts=2,
                                              labels=torch.tensor([7, 3])[assigned - 1]))(),
            gt_flags=torch.zeros(num_pos + num_neg, dtype=torch.uint8)))
    head = MODELS.build(dict(type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=8,
                             roi_feat_size=2, num_classes=10))
    want = head.get_targets(results, ConfigDict(pos_weight=pos_weight), concat=True)
    labels, weights = roi_labels(results, 10, pos_weight)
    assert labels.tolist() == [7, 3, 7] + [10] * 9
    torch.testing.assert_close(labels, want[0])
    torch.testing.assert_close(weights, want[1])
