"""The cost-optimised context path (per-image blocks, fused ReLU/add, gated sum, sparse backward
of GridRoIAlign, the fused RoI-head path) against a straightforward reference written here:
gather of x_global per RoI + add + ReLU + gate * x + sum, grid_sample through autograd."""
import copy
import itertools

import pytest
import torch
import torch.nn.functional as F

import hce_det  # noqa: F401  (registration)
from hce_det.models.hce.context_roi import HierarchicalContextRoI
from hce_det.models.layers import GridRoIAlign

SHAPES = [(128, 128), (100, 90), (128, 120)]


def _rois(shuffle, per_image=(5, 0, 7), seed=0):
    """Boxes of 3 images (image 1 has none), some beyond the map border; image order shuffled
    if asked."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for b, k in enumerate(per_image):
        xy = torch.rand(k, 2, generator=g) * 110 - 10
        wh = torch.rand(k, 2, generator=g) * 60 + 1
        rows.append(torch.cat([torch.full((k, 1), float(b)), xy, xy + wh], 1))
    rois = torch.cat(rows).double()
    if shuffle:  # random order; reversed if that happens to keep the images grouped
        rois = rois[torch.randperm(len(rois), generator=g)]
        if (rois[1:, 0] >= rois[:-1, 0]).all():
            rois = rois.flip(0)
        assert (rois[1:, 0] < rois[:-1, 0]).any()
    return rois


def _ref_grid_roi_align(layer, feats, rois):
    """RoIAlign (aligned, s x s samples per bin averaged, border clamp): each RoI's map
    gathered, one grid_sample, autograd."""
    (oh, ow), s = layer.output_size, layer.sampling_ratio
    h, w = feats.shape[-2:]
    box = rois[:, 1:] * layer.spatial_scale - 0.5
    ty = (torch.arange(oh * s, dtype=feats.dtype) + 0.5) / (oh * s)
    tx = (torch.arange(ow * s, dtype=feats.dtype) + 0.5) / (ow * s)
    ys = box[:, 1:2] + ty * (box[:, 3:4] - box[:, 1:2])
    xs = box[:, 0:1] + tx * (box[:, 2:3] - box[:, 0:1])
    grid = torch.stack(torch.broadcast_tensors(((2 * xs + 1) / w - 1)[:, None, :],
                                               ((2 * ys + 1) / h - 1)[:, :, None]), dim=-1)
    v = F.grid_sample(feats[rois[:, 0].long()], grid, mode='bilinear', padding_mode='border',
                      align_corners=False)
    return F.avg_pool2d(v, s) if s > 1 else v


def _reference(m, embedded, rois, roi_feats):
    """x_context, fused feature and GAP the plain way (gather + add + ReLU + gate * x + sum)."""
    proj = m.inst_proj(embedded)
    if isinstance(m.roi_layer, GridRoIAlign):
        inst = _ref_grid_roi_align(m.roi_layer, proj, rois)
    else:
        inst = m.roi_layer(proj, rois)
    if m.use_global:
        x = F.relu(inst + m.global_context(embedded, SHAPES)[rois[:, 0].long()])
    else:
        x = F.relu(inst + m.inst_bias.view(1, -1, 1, 1))
    gate = 1 if m.gate is None else m.gate.view(1, -1, 1, 1)
    return x, roi_feats + gate * x, x.mean(dim=(2, 3))


def _module(layer, s, use_global, pool, gate):
    torch.manual_seed(0)
    m = HierarchicalContextRoI(
        in_channels=5, out_channels=4, featmap_stride=8, use_global=use_global,
        global_pool=pool, gate=gate,
        roi_layer=dict(type=layer, output_size=(3, 4), sampling_ratio=s, aligned=True)
        if layer == 'RoIAlign' else dict(type=layer, output_size=(3, 4), sampling_ratio=s))
    m.init_weights()
    with torch.no_grad():  # non-trivial gate and bias
        for p in (m.gate, m.inst_bias):
            if p is not None:
                p.normal_()
    return m.double()


def _grads(outputs, upstream, inputs, retain=False):
    return torch.autograd.grad(outputs, inputs, upstream, allow_unused=True, retain_graph=retain)


CASES = [c for c in itertools.product(['GridRoIAlign', 'RoIAlign'], [1, 2], [True, False],
                                      ['grid', 'avg', 'max'], [None, 'zero'],
                                      [False, True])
         if c[2] or c[3] == 'grid']


@pytest.mark.parametrize('layer,s,use_global,pool,gate,shuffle', CASES)
def test_x_context_fusion_and_grads_match_reference(layer, s, use_global, pool, gate, shuffle):
    m = _module(layer, s, use_global, pool, gate)
    rois = _rois(shuffle)
    g = torch.Generator().manual_seed(1)
    embedded = torch.rand(3, 5, 16, 16, generator=g, dtype=torch.float64, requires_grad=True)
    roi_feats = torch.randn(len(rois), 4, 3, 4, generator=g, dtype=torch.float64,
                            requires_grad=True)
    up = [torch.randn(len(rois), 4, 3, 4, generator=g, dtype=torch.float64),
          torch.randn(len(rois), 4, 3, 4, generator=g, dtype=torch.float64),
          torch.randn(len(rois), 4, generator=g, dtype=torch.float64)]
    leaves = [embedded, roi_feats] + list(m.parameters())
    x_ref, fused_ref, mean_ref = _reference(m, embedded, rois, roi_feats)
    grads_ref = _grads([x_ref, fused_ref, mean_ref], up, leaves, retain=True)

    glob = m.global_context(embedded, SHAPES) if use_global else None
    x = m(embedded, rois, glob)
    fused = m.fuse(roi_feats, x)
    pooled = x.mean(dim=(2, 3))
    close = dict(rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(x, x_ref, **close)
    torch.testing.assert_close(fused, fused_ref, **close)
    grads = _grads([x, fused, pooled], up, leaves)
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, **close)

    if not m.fused_ok:
        return
    # the fused path (as the RoI head runs it): sum in place into a non-leaf, GAP
    glob = m.global_context(embedded, SHAPES) if use_global else None
    feats_in = roi_feats * 1
    head, pooled = m(embedded, rois, glob, fuse_into=feats_in, inplace=True)
    assert (head is feats_in) == (not shuffle)  # RoIs not in bbox2roi order: plain path
    torch.testing.assert_close(head, fused_ref, **close)
    torch.testing.assert_close(pooled, mean_ref, **close)
    grads = _grads([head, pooled], up[1:], leaves)
    grads_ref = _grads([fused_ref, mean_ref], up[1:], leaves)
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, **close)
    # test time (no autograd): in place, x_context never materialised
    with torch.no_grad():
        feats_in = roi_feats.detach().clone()
        head, pooled = m(embedded, rois, glob, fuse_into=feats_in, mean=True)
    assert (head is feats_in) == (not shuffle)
    torch.testing.assert_close(head, fused_ref.detach(), **close)
    torch.testing.assert_close(pooled, mean_ref.detach(), **close)


@pytest.mark.parametrize('s', [1, 2, 3])
def test_grid_roi_align_values_and_sparse_backward_match_grid_sample(s):
    layer = GridRoIAlign((3, 4), 1 / 8, sampling_ratio=s)
    feats = torch.rand(3, 5, 6, 7, dtype=torch.float64, requires_grad=True)
    for shuffle in (False, True):
        rois = _rois(shuffle, per_image=(4, 0, 3))
        out, ref = layer(feats, rois), _ref_grid_roi_align(layer, feats, rois)
        torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
        up = torch.randn_like(out)
        torch.testing.assert_close(*(torch.autograd.grad(y, feats, up)[0] for y in (out, ref)),
                                   rtol=1e-10, atol=1e-12)
    assert torch.autograd.gradcheck(lambda f: layer(f, rois), (feats,))


def test_no_rois_keeps_the_graph():
    m = _module('GridRoIAlign', 1, True, 'grid', 'zero')
    embedded = torch.rand(2, 5, 16, 16, dtype=torch.float64, requires_grad=True)
    rois = torch.zeros(0, 5, dtype=torch.float64)
    x = m(embedded, rois, m.global_context(embedded, SHAPES[:2]))
    assert x.shape == (0, 4, 3, 4) and x.requires_grad
    head, pooled = m(embedded, rois, None, fuse_into=torch.zeros(0, 4, 3, 4).double())
    assert head.shape == (0, 4, 3, 4) and pooled.shape == (0, 4)


def test_context_classifier_from_pooled_equals_from_x_context():
    from hce_det.models.hce.context_classifier import ContextClassifier
    torch.manual_seed(0)
    clf = ContextClassifier(in_channels=4, num_classes=3)
    clf.init_weights()
    x = torch.rand(6, 4, 3, 4)
    assert torch.equal(clf.pool_features(x), x.mean(dim=(2, 3)))
    torch.testing.assert_close(clf(None, x.mean(dim=(2, 3))), clf(x), rtol=0, atol=0)


GRID_GATED = dict(context_roi=dict(early_fusion='sum', gate='zero', roi_layer=dict(
    type='GridRoIAlign', output_size=7, sampling_ratio=1)),
    late_fusion=dict(fusion='logit_sum'), context_embedding=dict(num_convs=1))


def test_roi_head_fused_path_equals_plain_path(load_cfg, monkeypatch):
    """The RoI head's fused path (training: autograd Function, in place; test: in place,
    x_context never materialised) gives the plain path's losses, gradients and detections."""
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    cfg = copy.deepcopy(load_cfg('configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
                        .model)
    cfg.roi_head.update(copy.deepcopy(GRID_GATED))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    with torch.no_grad():  # open the gate and the context classifier
        model.roi_head.context_roi[0].gate.normal_()
        model.roi_head.context_cls[0].fc_cls.weight.normal_(std=0.1)
    data = demo_mm_inputs(batch_size=2, image_shapes=(3, 128, 128), num_items=[3, 2],
                          num_classes=10)
    batch = model.data_preprocessor(data, True)
    state = copy.deepcopy(model.state_dict())  # BN running stats change in train mode

    def run(fused):
        monkeypatch.setattr(HierarchicalContextRoI, 'fused_ok', property(lambda self: fused))
        model.load_state_dict(state)
        model.train()
        model.zero_grad()
        torch.manual_seed(1)
        losses = model.loss(batch['inputs'], copy.deepcopy(batch['data_samples']))
        loss, _ = model.parse_losses(losses)
        loss.backward()
        grads = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
        model.eval()
        with torch.no_grad():
            res = model.predict(batch['inputs'], copy.deepcopy(batch['data_samples']))
        return losses, grads, res

    calls = []
    orig = HierarchicalContextRoI._fused
    monkeypatch.setattr(HierarchicalContextRoI, '_fused',
                        lambda self, *a: calls.append(torch.is_grad_enabled()) or orig(self, *a))
    fused = run(True)
    assert calls == [True, False]  # training and test went through the fused path
    plain = run(False)
    assert len(calls) == 2
    for k in ('loss_cls', 'loss_ctx_cls', 'loss_img_cls'):
        torch.testing.assert_close(fused[0][k], plain[0][k], rtol=1e-5, atol=1e-6)
    assert fused[1].keys() == plain[1].keys()
    for k in plain[1]:
        torch.testing.assert_close(fused[1][k], plain[1][k], rtol=1e-4, atol=1e-6, msg=k)
    for a, b in zip(fused[2], plain[2]):
        torch.testing.assert_close(a.pred_instances.scores, b.pred_instances.scores,
                                   rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(a.pred_instances.bboxes, b.pred_instances.bboxes,
                                   rtol=1e-5, atol=1e-4)
