"""Long-tail losses against hand computations on tiny inputs."""
import json
import math

import pytest
import torch
import torch.nn.functional as F

import hce_det  # noqa: F401
from mmdet.registry import MODELS
from hce_det.models.long_tail import (ClassImageCounts, DropLoss, EQLV2FixedLoss, FederatedLoss,
                                      GumbelLoss, LongTailBCELoss)


def bce(z, t):
    return F.binary_cross_entropy_with_logits(z, t, reduction='none')


def test_sigmoid_bce_equals_torch_bce_summed_over_classes():
    torch.manual_seed(0)
    z = torch.randn(5, 4)
    labels = torch.tensor([0, 3, 4, 4, 1])  # 4 = background
    loss = LongTailBCELoss(num_classes=4)(z, labels, avg_factor=5.0)
    t = F.one_hot(labels, 5)[:, :4].float()
    assert loss.item() == pytest.approx(bce(z, t).sum().item() / 5, rel=1e-6)
    # per-RoI label weights
    w = torch.tensor([1., 0., 1., 0., 1.])
    loss_w = LongTailBCELoss(num_classes=4)(z, labels, w, avg_factor=3.0)
    assert loss_w.item() == pytest.approx((bce(z, t).sum(1) * w).sum().item() / 3, rel=1e-6)


def test_gumbel_loss_matches_formula():
    z = torch.tensor([[2.0, -1.0, 0.5], [-0.3, 15.0, -20.0]], dtype=torch.float64)
    labels = torch.tensor([0, 3])
    loss = GumbelLoss(num_classes=3)(z, labels, avg_factor=2.0)
    zc = z.clamp(-10, 10)
    p = torch.exp(-torch.exp(-zc))
    t = torch.tensor([[1., 0, 0], [0, 0, 0]], dtype=torch.float64)
    ref = -torch.where(t > 0, torch.log(p), torch.log(1 - p)).sum() / 2  # naive form, float64
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)  # mmdet adds eps to avg_factor
    # positive term is e^(-z) exactly
    pos = GumbelLoss(num_classes=1)(torch.tensor([[1.5]], dtype=torch.float64), torch.tensor([0]))
    assert pos.item() == pytest.approx(math.exp(-1.5))


def _gumbel_bce(z, t, lo, hi):
    """Naive float64 BCE of p = exp(-e^(-clamp(z))), elementwise (the formula of both refs)."""
    p = torch.exp(-torch.exp(-z.clamp(lo, hi)))
    return -(t * torch.log(p) + (1 - t) * torch.log1p(-p))


def test_gumbel_loss_gol_variant_matches_gol_gumbel_ce():
    """GOL's gumbel_ce (README gumbel_cross_entropy / AGLU instance_segmentation gumbel_ce.py):
    C + 1 outputs, background RoIs positive on the last one, logits clamped to [-4, 10], the
    reduced loss clamped to [0, 20]; the default variant (AGLU release) clamps at +-10, C
    outputs."""
    torch.manual_seed(0)
    C, N = 3, 5
    z = torch.randn(N, C + 1, dtype=torch.float64) * 1.5
    z[3, 2], z[2, 3] = -5.0, 12.0                          # a positive below -4, one above 10
    labels = torch.tensor([0, 3, 3, 2, 1])                  # 3 = background
    w = torch.tensor([1., 1., 0.5, 1., 0.])
    gol = GumbelLoss(num_classes=C, variant='gol')
    assert gol.get_cls_channels(C) == C + 1
    t = F.one_hot(labels, C + 1).to(torch.float64)          # background: last channel is 1
    ref = (_gumbel_bce(z, t, -4, 10) * w[:, None]).sum() / 20.0
    assert ref.item() < 20
    got = gol(z, labels, w, avg_factor=20.0)
    assert got.item() == pytest.approx(ref.item(), rel=1e-6)
    # the default variant (C outputs, +-10) on the class logits: a different value
    aglu = GumbelLoss(num_classes=C)
    ref_aglu = (_gumbel_bce(z[:, :C], t[:, :C], -10, 10) * w[:, None]).sum() / 20.0
    got_aglu = aglu(z[:, :C], labels, w, avg_factor=20.0)
    assert got_aglu.item() == pytest.approx(ref_aglu.item(), rel=1e-6)
    assert abs(got_aglu.item() - got.item()) > 1
    # the reduced loss is clamped to 20 (and then carries no gradient)
    big = torch.full((2, C + 1), -4.0, dtype=torch.float64, requires_grad=True)
    lab = torch.tensor([0, 1])
    raw = (_gumbel_bce(big.detach(), F.one_hot(lab, C + 1).double(), -4, 10)).sum() / 2
    assert raw.item() > 20
    out = gol(big, lab, avg_factor=2.0)
    assert out.item() == pytest.approx(20.0)
    out.backward()
    assert big.grad.abs().sum() == 0
    # test-time scores: Gumbel of every output, the background output last (no zero column)
    p = gol.get_activation(z[:, :].clone())
    assert p.shape == (N, C + 1)
    torch.testing.assert_close(p, torch.exp(-torch.exp(-z.clamp(-10, 10))))
    with pytest.raises(ValueError, match='variant'):
        GumbelLoss(num_classes=C, variant='iccv')


def test_gumbel_head_gol_variant_has_background_output():
    head = MODELS.build(dict(type='GumbelBBoxHead', in_channels=4, fc_out_channels=8,
                             roi_feat_size=2, num_classes=3,
                             loss_cls=dict(type='GumbelLoss', variant='gol')))
    assert head.fc_cls.out_features == 4
    default = MODELS.build(dict(type='GumbelBBoxHead', in_channels=4, fc_out_channels=8,
                                roi_feat_size=2, num_classes=3, loss_cls=dict(type='GumbelLoss')))
    assert default.fc_cls.out_features == 3


FREQ = [0.5, 0.001, 0.0005]  # class 0 frequent, classes 1 and 2 below 0.0011


def drop_loss(**kw):
    kw.setdefault('activation', dict(type='SigmoidClsAct'))
    return DropLoss(num_classes=3, class_image_counts=[f * 10000 for f in FREQ],
                    num_train_images=10000, freq_thr=0.0011, **kw)


def test_droploss_all_rare_foreground_keeps_background_terms():
    z = torch.tensor([[0.2, 1.0, -0.7], [0.4, -1.2, 0.9], [-0.5, 0.3, 0.1]])
    labels = torch.tensor([1, 2, 3])  # two rare foreground RoIs -> r = 1, one background RoI
    t = F.one_hot(labels, 4)[:, :3].float()
    w = torch.tensor([[1., 1., 0.],   # fg class 1: rare negative (class 2) dropped
                      [1., 0., 1.],   # fg class 2: rare negative (class 1) dropped
                      [1., 1., 1.]])  # bg: kept with probability r = 1
    ref = (bce(z, t) * w).sum() / 3
    assert drop_loss()(z, labels, avg_factor=3.0).item() == pytest.approx(ref.item(), rel=1e-6)


def test_droploss_no_rare_foreground_drops_all_rare_background_terms():
    z = torch.tensor([[0.2, 1.0, -0.7], [0.4, -1.2, 0.9]])
    labels = torch.tensor([0, 3])  # r = 0 -> background drops rare negatives always
    t = F.one_hot(labels, 4)[:, :3].float()
    w = torch.tensor([[1., 0., 0.], [1., 0., 0.]])
    ref = (bce(z, t) * w).sum() / 2
    assert drop_loss()(z, labels, avg_factor=2.0).item() == pytest.approx(ref.item(), rel=1e-6)


def _reference_drop_weights(labels, rare, u):
    """Re-implementation of the AGLU release's DropLoss weights (threshold_func), float64:
    w = 1 - [(u * is_bg > ratio) + is_fg] * rare * (1 - target), ratio = mean(rare[fg labels])
    (NaN without foreground RoIs, and u > NaN is false)."""
    n, c = u.shape
    fg = (labels != c).double()[:, None].expand(n, c)
    ratio = rare[labels[labels != c]].double().mean()
    dropped_bg = torch.where(u * (1 - fg) > ratio, 1.0, 0.0).double()
    target = F.one_hot(labels, c + 1)[:, :c].double()
    return 1 - (dropped_bg + fg) * rare.double()[None, :] * (1 - target)


@pytest.mark.parametrize('labels', [
    [3, 3, 3, 3, 3],        # no foreground RoI: reference ratio NaN -> nothing dropped
    [1, 3, 3, 0, 3, 3],     # r = 1/2
    [0, 3, 3, 3],           # r = 0
])
def test_droploss_matches_reference_weights(labels):
    labels = torch.tensor(labels)
    rare = torch.tensor([False, True, True])
    n = labels.numel()
    z = torch.randn(n, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(5)
    u = torch.rand(n, 3)                    # the draws DropLoss makes after the same seed
    w = _reference_drop_weights(labels, rare, u.double())
    t = F.one_hot(labels, 4)[:, :3].double()
    ref = (_gumbel_bce(z, t, -10, 10) * w).sum() / n
    torch.manual_seed(5)
    loss = drop_loss(activation=dict(type='GumbelClsAct'))(z, labels, avg_factor=float(n))
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    if (labels == 3).all():
        assert (w == 1).all()               # the reference keeps every term


def test_droploss_no_foreground_ratio_option():
    labels = torch.tensor([3, 3, 3])
    z = torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    t = torch.zeros(3, 3, dtype=torch.float64)
    keep = (bce(z, t)).sum() / 3                               # default: reference, keep all
    assert drop_loss()(z, labels, avg_factor=3.0).item() == pytest.approx(keep.item(), rel=1e-6)
    drop_all = (bce(z, t)[:, 0]).sum() / 3                     # no_fg_ratio=0: old behaviour
    assert drop_loss(no_fg_ratio=0.0)(z, labels, avg_factor=3.0).item() == \
        pytest.approx(drop_all.item(), rel=1e-6)
    with pytest.raises(ValueError, match='no_fg_ratio'):
        drop_loss(no_fg_ratio=1.5)


def test_droploss_background_drop_rate_is_one_minus_r():
    torch.manual_seed(0)
    labels = torch.cat([torch.tensor([0, 1]), torch.full((4000, ), 3)])  # r = 1/2
    mask = drop_loss().drop_mask(labels, 3)
    assert not mask[:, 0].any()                       # frequent class never dropped
    assert mask[0, 1:].all() and mask[1, 1:].all()    # fg rows: rare negatives always dropped
    assert mask[2:, 1:].float().mean().item() == pytest.approx(0.5, abs=0.03)


def test_droploss_needs_statistics_and_matching_class_count(tmp_path):
    with pytest.raises(ValueError, match='image counts'):
        DropLoss(num_classes=3)
    with pytest.raises(ValueError, match='num_classes=4'):
        DropLoss(num_classes=4, class_image_counts=[1, 2, 3], num_train_images=10)
    ann = tmp_path / 'train.json'
    ann.write_text(json.dumps(dict(
        images=[{'id': i} for i in range(1, 5)],
        annotations=[dict(id=1, image_id=1, category_id=7), dict(id=2, image_id=1, category_id=7),
                     dict(id=3, image_id=2, category_id=7), dict(id=4, image_id=3, category_id=9)],
        categories=[{'id': 9}, {'id': 7}])))
    stats = ClassImageCounts(2, ann_file=str(ann))
    assert stats.counts().tolist() == [2.0, 1.0]          # ascending category id: 7, 9
    assert stats.frequencies().tolist() == [0.5, 0.25]
    with pytest.raises(FileNotFoundError, match='TRAINING'):
        ClassImageCounts(2, ann_file=str(tmp_path / 'missing.json')).counts()


def test_federated_loss_hand_computed_class_set():
    # appeared {0} and no background RoI; sampling weights sqrt([-, 5, 0, 7]) -> the two other
    # non-zero classes join (|S| = 3)
    loss_fn = FederatedLoss(num_classes=4, num_sample_cats=3, class_image_counts=[3, 5, 0, 7])
    z = torch.tensor([[0.3, -0.2, 1.0, 0.5], [-1.0, 0.4, 2.0, -0.1]], dtype=torch.float64)
    labels = torch.tensor([0, 0])
    assert loss_fn.sampled_classes(labels, 4).tolist() == [True, True, False, True]
    t = F.one_hot(labels, 5)[:, :4].double()
    ref = (bce(z, t)[:, [0, 1, 3]]).sum() / 2
    assert loss_fn(z, labels, avg_factor=2.0).item() == pytest.approx(ref.item(), rel=1e-6)
    # a background RoI takes one of the 3 places (reference): one of {1, 3} joins
    labels = torch.tensor([0, 4])
    mask = loss_fn.sampled_classes(labels, 4)
    assert mask[0] and not mask[2] and int(mask[1]) + int(mask[3]) == 1
    t = F.one_hot(labels, 5)[:, :4].double()
    torch.manual_seed(3)
    mask = loss_fn.sampled_classes(labels, 4)
    ref = (bce(z, t)[:, mask]).sum() / 2
    torch.manual_seed(3)
    assert loss_fn(z, labels, avg_factor=2.0).item() == pytest.approx(ref.item(), rel=1e-6)
    # count_background=False: always num_sample_cats foreground classes
    ours = FederatedLoss(num_classes=4, num_sample_cats=3, class_image_counts=[3, 5, 0, 7],
                         count_background=False)
    assert ours.sampled_classes(labels, 4).tolist() == [True, True, False, True]


def _reference_fed_classes(labels, num_sample_cats, C, weight):
    """Re-implementation of CenterNet2/Detic get_fed_loss_inds -> (C,) float64 class mask."""
    appeared = torch.unique(labels)                 # includes the background index C
    prob = torch.ones(C + 1, dtype=torch.float64)
    prob[-1] = 0
    if len(appeared) < num_sample_cats:
        prob[:C] = weight
        prob[appeared] = 0
        more = torch.multinomial(prob, num_sample_cats - len(appeared), replacement=False)
        appeared = torch.cat([appeared, more])
    mask = torch.zeros(C + 1, dtype=torch.float64)
    mask[appeared] = 1
    return mask[:C]


@pytest.mark.parametrize('labels', [[0, 2, 6, 6], [0, 2, 2, 1], [6, 6, 6]])
def test_federated_class_set_matches_reference(labels):
    """|S| and each class's inclusion rate equal the reference's (6 classes, 4 places)."""
    counts = torch.tensor([10., 40, 5, 90, 20, 60], dtype=torch.float64)
    labels = torch.tensor(labels)
    loss_fn = FederatedLoss(num_classes=6, num_sample_cats=4, class_image_counts=counts.tolist())
    draws = 3000
    torch.manual_seed(0)
    ref = torch.stack([_reference_fed_classes(labels, 4, 6, counts.sqrt()) for _ in range(draws)])
    got = torch.stack([loss_fn.sampled_classes(labels, 6).double() for _ in range(draws)])
    sizes = set(got.sum(1).tolist())
    assert sizes == set(ref.sum(1).tolist()) and len(sizes) == 1
    torch.testing.assert_close(got.mean(0), ref.mean(0), atol=0.04, rtol=0)


def test_federated_sampling_probability_follows_count_power():
    torch.manual_seed(0)
    loss_fn = FederatedLoss(num_classes=5, num_sample_cats=2, class_image_counts=[50, 1, 4, 9, 16])
    labels = torch.tensor([0])
    hits = torch.zeros(5)
    for _ in range(3000):
        hits += loss_fn.sampled_classes(labels, 5).float()
    assert hits[0] == 3000
    freq = hits[1:] / 3000
    expected = torch.tensor([1., 2., 3., 4.]) / 10     # ∝ count^0.5
    assert torch.allclose(freq, expected, atol=0.03)


def test_eqlv2_fixed_loss_hand_computed_two_steps():
    torch.manual_seed(0)
    loss_fn = EQLV2FixedLoss(num_classes=2)
    z = torch.randn(3, 3)               # 2 classes + objectness channel
    labels = torch.tensor([0, 1, 2])    # 2 = background
    t = F.one_hot(labels, 3).float()
    # step 1: pos_neg starts at 100 -> all weights 1: plain BCE over 3 channels / N
    l1 = loss_fn(z, labels)
    assert l1.item() == pytest.approx(bce(z, t).sum().item() / 3, rel=1e-6)
    # accumulated |gradients| of step 1 (classes only)
    p = torch.sigmoid(z)
    g = (t * (p - 1) + (1 - t) * p).abs()
    ratio = (g * t).sum(0)[:2] / ((g * (1 - t)).sum(0)[:2] + 1e-10)
    neg_w = torch.cat([torch.sigmoid(12 * (ratio - 0.8)), torch.ones(1)])
    pos_w = 1 + 4 * (1 - neg_w)
    w = pos_w * t + neg_w * (1 - t)
    l2 = loss_fn(z, labels)
    assert l2.item() == pytest.approx((bce(z, t) * w).sum().item() / 3, rel=1e-5)


def _raw_scores(head, cls_score):
    from mmengine.structures import InstanceData  # noqa: F401
    n = cls_score.size(0)
    rois = torch.tensor([[0, 2., 2., 10., 10.]]).repeat(n, 1)
    bbox_pred = torch.zeros(n, 4 * head.num_classes)
    res = head._predict_by_feat_single(rois, cls_score, bbox_pred, dict(img_shape=(32, 32)),
                                       rcnn_test_cfg=None)
    return res.scores


def test_eqlv2_fix_uses_sigmoid_at_test_where_upstream_uses_softmax():
    head_cfg = dict(type='Shared2FCBBoxHead', in_channels=4, fc_out_channels=8, roi_feat_size=2,
                    num_classes=2)
    upstream = MODELS.build(dict(head_cfg, loss_cls=dict(type='EQLV2Loss', num_classes=2)))
    fixed = MODELS.build(dict(head_cfg, loss_cls=dict(type='EQLV2FixedLoss', num_classes=2)))
    assert upstream.fc_cls.out_features == fixed.fc_cls.out_features == 3
    z = torch.tensor([[2.0, -1.0, -3.0], [0.5, 0.5, 1.0]])
    # the upstream bug: a sigmoid-trained classifier scored with softmax
    torch.testing.assert_close(_raw_scores(upstream, z), F.softmax(z, -1))
    # the fix: sigmoid class scores times (1 - sigmoid(objectness-as-background))
    p = torch.sigmoid(z)
    expected = torch.cat([p[:, :2] * (1 - p[:, 2:]), p[:, 2:]], 1)
    torch.testing.assert_close(_raw_scores(fixed, z), expected)
    with pytest.raises(ValueError, match='num_classes'):
        MODELS.build(dict(head_cfg, loss_cls=dict(type='EQLV2FixedLoss', num_classes=5)))


def test_losses_reject_softmax_and_wrong_channels():
    with pytest.raises(ValueError, match='_delete_'):
        LongTailBCELoss(use_sigmoid=False)
    with pytest.raises(ValueError, match='expected num_classes=3'):
        LongTailBCELoss(num_classes=3)(torch.zeros(2, 4), torch.tensor([0, 1]))
    with pytest.raises(KeyError, match='not registered'):
        LongTailBCELoss(activation=dict(type='NoSuchAct'))


# ------------------------------------------------ DropLoss divisor (AGLU/GOL recipe)
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
