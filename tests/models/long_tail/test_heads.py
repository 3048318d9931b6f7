"""Long-tail box heads: channel counts, test-time scores, wiring errors, learnable APA."""
import pytest
import torch

import hce_det  # noqa: F401
from mmdet.registry import MODELS
from hce_det.models.long_tail import LongTailBBoxHead

C = 5
HEAD = dict(in_channels=4, fc_out_channels=8, roi_feat_size=2, num_classes=C)


def raw_scores(head, cls_score):
    n = cls_score.size(0)
    rois = torch.tensor([[0, 2., 2., 10., 10.]]).repeat(n, 1)
    res = head._predict_by_feat_single(rois, cls_score, torch.zeros(n, 4 * C),
                                       dict(img_shape=(32, 32)), rcnn_test_cfg=None)
    return res.scores


@pytest.mark.parametrize('head_type,expected', [
    ('LongTailBBoxHead', lambda z: torch.sigmoid(z)),
    ('GumbelBBoxHead', lambda z: torch.exp(-torch.exp(-z.clamp(-10, 10)))),
    ('APABBoxHead', lambda z: torch.sigmoid(z.clamp(-10, 10))),  # APA init λ = κ = 1
])
def test_heads_channels_and_test_scores(head_type, expected):
    head = MODELS.build(dict(HEAD, type=head_type))
    assert head.fc_cls.out_features == C            # no background logit
    assert head.loss_cls.num_classes == C           # passed on by the head
    z = torch.tensor([[3.0, -2.0, 0.0, 12.0, -15.0], [0.5, 0.1, -0.2, 1.0, 2.0]])
    scores = raw_scores(head, z)
    assert scores.shape == (2, C + 1)
    assert (scores[:, -1] == 0).all()               # zero background score appended
    torch.testing.assert_close(scores[:, :C], expected(z))


def test_fc_cls_init_constant_and_mmdet_default_kept_elsewhere():
    head = MODELS.build(dict(HEAD, type='GumbelBBoxHead'))
    head.init_weights()
    assert (head.fc_cls.weight == 0.001).all() and (head.fc_cls.bias == -2.0).all()
    assert head.fc_reg.weight.abs().max() < 0.01   # mmdet Normal(0, 0.001) init untouched
    plain = MODELS.build(dict(HEAD, type='LongTailBBoxHead', cls_weight_init=None,
                              cls_bias_init=None))
    plain.init_weights()
    assert plain.fc_cls.weight.std() > 0


def test_learnable_apa_head_trains_lambda_kappa_and_reports_accuracy():
    torch.manual_seed(0)
    head = MODELS.build(dict(HEAD, type='APABBoxHead',
                             cls_activation=dict(type='APAClsAct', lambda_init=0.5,
                                                 kappa_init=1.5)))
    head.init_weights()
    n = 6
    cls_score, bbox_pred = head(torch.randn(n, 4, 2, 2))
    labels = torch.tensor([0, 1, 4, 5, 5, 2])
    rois = torch.cat([torch.zeros(n, 1), torch.tensor([[2., 2., 10., 10.]]).repeat(n, 1)], 1)
    losses = head.loss(cls_score, bbox_pred, rois, labels, torch.ones(n), torch.zeros(n, 4),
                       torch.zeros(n, 4))
    assert set(losses) >= {'loss_cls', 'loss_bbox', 'acc_fg'}
    losses['loss_cls'].backward()
    act = head.cls_activation.apa
    assert act.lambda_param.grad.abs() > 0 and act.kappa_param.grad.abs() > 0
    # the test-time scores use the same (trained) λ, κ
    z = torch.tensor([[0.7, -0.3, 1.1, 0.0, 2.0]])
    lam, kappa = 0.5, 1.5
    expected = (lam * torch.exp(-kappa * z) + 1) ** (-1 / lam)
    torch.testing.assert_close(raw_scores(head, z)[:, :C], expected)


def test_per_class_apa_gets_num_classes_from_head():
    head = MODELS.build(dict(HEAD, type='APABBoxHead',
                             cls_activation=dict(type='APAClsAct', per_class=True)))
    assert head.cls_activation.apa.lambda_param.shape == (C, )


def test_head_wiring_errors_are_explicit():
    with pytest.raises(ValueError, match='custom_cls_channels'):
        MODELS.build(dict(HEAD, type='LongTailBBoxHead',
                          loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False)))
    with pytest.raises(ValueError, match='does not match'):
        MODELS.build(dict(HEAD, type='LongTailBBoxHead',
                          loss_cls=dict(type='LongTailBCELoss', num_classes=7)))
    with pytest.raises(ValueError, match='takes an activation'):
        MODELS.build(dict(HEAD, type='APABBoxHead', cls_activation=dict(type='APAClsAct'),
                          loss_cls=dict(type='SeesawLoss', num_classes=C)))
    with pytest.raises(ValueError, match='keep one'):
        MODELS.build(dict(HEAD, type='LongTailBBoxHead', cls_activation=dict(type='APAClsAct'),
                          loss_cls=dict(type='LongTailBCELoss',
                                        activation=dict(type='GumbelClsAct'))))


def test_droploss_through_gumbel_head_and_seesaw_with_class_default():
    head = MODELS.build(dict(HEAD, type='GumbelBBoxHead', loss_cls=dict(
        type='DropLoss', class_image_counts=[100, 50, 3, 2, 1], num_train_images=100,
        freq_thr=0.1)))
    assert type(head.cls_activation).__name__ == 'GumbelClsAct'
    assert head.loss_cls.rare_mask().tolist() == [False, False, True, True, True]
    # a class-level default activation does not clash with a loss that has its own scoring
    seesaw = MODELS.build(dict(HEAD, type='APABBoxHead',
                               loss_cls=dict(type='SeesawLoss', num_classes=C)))
    assert seesaw.fc_cls.out_features == C + 2


def test_subclass_keeps_wiring():
    class TwoLayerClsHead(LongTailBBoxHead):
        default_activation = dict(type='GumbelClsAct')

    head = TwoLayerClsHead(**HEAD)
    assert head.fc_cls.out_features == C
    z = torch.zeros(1, C)  # Gumbel at 0 = exp(-1)
    expected = torch.full((1, C), torch.exp(torch.tensor(-1.)).item())
    torch.testing.assert_close(raw_scores(head, z)[:, :C], expected)
