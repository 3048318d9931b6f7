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


FREQ = [0.5, 0.001, 0.0005]  # class 0 frequent, classes 1 and 2 below 0.0011


def drop_loss(**kw):
    return DropLoss(num_classes=3, class_image_counts=[f * 10000 for f in FREQ],
                    num_train_images=10000, freq_thr=0.0011, activation=dict(type='SigmoidClsAct'),
                    **kw)


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
    # appeared {0}; sampling weights sqrt([-, 5, 0, 7]) -> the two other non-zero classes join
    loss_fn = FederatedLoss(num_classes=4, num_sample_cats=3, class_image_counts=[3, 5, 0, 7])
    z = torch.tensor([[0.3, -0.2, 1.0, 0.5], [-1.0, 0.4, 2.0, -0.1]])
    labels = torch.tensor([0, 4])
    assert loss_fn.sampled_classes(labels, 4).tolist() == [True, True, False, True]
    t = F.one_hot(labels, 5)[:, :4].float()
    ref = (bce(z, t)[:, [0, 1, 3]]).sum() / 2
    assert loss_fn(z, labels, avg_factor=2.0).item() == pytest.approx(ref.item(), rel=1e-6)


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
