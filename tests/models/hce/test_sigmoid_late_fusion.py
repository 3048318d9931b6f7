"""HCE late fusion with sigmoid-family box heads (issue 16.3): context classifier channels and
loss type follow the head's ``loss_cls``, fused scores as hand-computed per-class probabilities,
the trained logit-sum loss, and an HCE detector with APABBoxHead + late fusion end to end."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs

import hce_det  # noqa: F401
from hce_det.models.hce.context_classifier import ContextClassifier, fuse_activated_scores
from hce_det.models.long_tail import logits_for_scores

C = 5
HEAD = dict(in_channels=4, fc_out_channels=8, roi_feat_size=2, num_classes=C)
SYNTH_HCE = 'configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'


def _apa(z, lam, kappa):
    """APA(z) = (λ e^(−κ z) + 1)^(−1/λ), written out (ECCV 2024)."""
    return (lam * torch.exp(-kappa * z) + 1) ** (-1 / lam)


def _head_scores(head, cls_score):
    """What mmdet's BBoxHead gives NMS for ``cls_score`` (its own activation)."""
    n = cls_score.size(0)
    rois = torch.tensor([[0, 2., 2., 10., 10.]]).repeat(n, 1)
    return head._predict_by_feat_single(rois, cls_score, torch.zeros(n, 4 * C),
                                        dict(img_shape=(32, 32)), rcnn_test_cfg=None).scores


def _clf(head, **kw):
    torch.manual_seed(1)
    clf = ContextClassifier(in_channels=6, num_classes=C, loss_cls=copy.deepcopy(head.loss_cls),
                            **kw)
    clf.init_weights()
    with torch.no_grad():  # non-trivial context scores
        clf.fc_cls.weight.normal_(0, 0.5)
        clf.fc_cls.bias.normal_(0, 0.5)
    return clf


@pytest.mark.parametrize('loss_cls,channels', [
    (dict(type='LongTailBCELoss'), C),
    (dict(type='DropLoss', class_image_counts=[9., 5., 1., 1., 3.], num_train_images=10), C),
    (dict(type='GumbelLoss', variant='gol'), C + 1),
    (dict(type='EQLV2FixedLoss', num_classes=C), C + 1),
    (dict(type='SeesawLoss', num_classes=C), C + 2),
])
def test_context_classifier_channels_and_round_trip(loss_cls, channels):
    """Channels = the head's get_cls_channels; the fused scores handed back through
    ``logits_for_scores`` are what the head's own activation returns (every loss type)."""
    head = MODELS.build(dict(HEAD, type='LongTailBBoxHead', loss_cls=loss_cls))
    assert head.fc_cls.out_features == channels
    clf = _clf(head)
    assert clf.custom and clf.fc_cls.out_features == channels
    x = torch.rand(4, 6, 7, 7)
    det = torch.randn(4, channels)
    out = clf.test_scores(det, x, head_loss=head.loss_cls)
    assert out.shape == det.shape
    want = fuse_activated_scores(head.loss_cls.get_activation(det),
                                 clf.loss_cls.get_activation(clf(x)))
    torch.testing.assert_close(_head_scores(head, out), want, atol=2e-6, rtol=1e-5)


def test_sigmoid_head_fused_scores_by_hand():
    head = MODELS.build(dict(HEAD, type='LongTailBBoxHead'))   # plain sigmoid BCE
    x = torch.rand(3, 6, 7, 7)
    det = torch.tensor([[2.0, -1.0, 0.0, 4.0, -3.0]]).repeat(3, 1)
    for fusion, w in (('mean', 0.5), ('weighted', 0.8), ('geometric', 0.3)):
        clf = _clf(head, fusion=fusion, det_weight=w)
        ctx = clf(x)
        p_det, p_ctx = torch.sigmoid(det), torch.sigmoid(ctx)
        hand = p_det ** w * p_ctx ** (1 - w) if fusion == 'geometric' else \
            w * p_det + (1 - w) * p_ctx
        got = _head_scores(head, clf.test_scores(det, x, head_loss=head.loss_cls))
        torch.testing.assert_close(got[:, :C], hand, atol=2e-6, rtol=1e-5)
        assert (got[:, C] == 0).all()                     # no softmax background
    # single branches: the context alone scored with its own activation; det unchanged
    clf = _clf(head, test_branch='context')
    got = _head_scores(head, clf.test_scores(det, x, head_loss=head.loss_cls))
    torch.testing.assert_close(got[:, :C], torch.sigmoid(clf(x)), atol=2e-6, rtol=1e-5)
    clf.test_branch = 'det'
    assert torch.equal(clf.test_scores(det, None, head_loss=head.loss_cls), det)
    with pytest.raises(ValueError, match='head_loss'):
        _clf(head).test_scores(det, x)


def test_apa_head_fused_scores_by_hand():
    """Each branch has its own APA (λ, κ): mean of the two APA scores; logit_sum = the head's
    APA of s_det + s_ctx."""
    head = MODELS.build(dict(HEAD, type='APABBoxHead'))
    clf = _clf(head)
    with torch.no_grad():
        head.loss_cls.activation.apa.lambda_param.fill_(0.5)
        head.loss_cls.activation.apa.kappa_param.fill_(1.5)
        clf.loss_cls.activation.apa.lambda_param.fill_(2.0)
        clf.loss_cls.activation.apa.kappa_param.fill_(0.7)
    assert clf.loss_cls.activation is not head.loss_cls.activation
    x = torch.rand(3, 6, 7, 7)
    det = torch.tensor([[2.0, -1.0, 0.0, 4.0, -3.0], [0.3, 0.2, -0.5, 1.0, 6.0],
                        [-2.0, -4.0, 1.0, 0.0, 0.1]])
    ctx = clf(x)
    hand = (_apa(det, 0.5, 1.5) + _apa(ctx, 2.0, 0.7)) / 2
    got = _head_scores(head, clf.test_scores(det, x, head_loss=head.loss_cls))
    torch.testing.assert_close(got[:, :C], hand, atol=2e-6, rtol=1e-5)
    clf.fusion, clf.trained_fusion = 'logit_sum', True
    got = _head_scores(head, clf.test_scores(det, x, head_loss=head.loss_cls))
    torch.testing.assert_close(got[:, :C], _apa(det + ctx, 0.5, 1.5), atol=2e-6, rtol=1e-5)


def test_trained_logit_sum_loss_by_hand():
    """logit_sum: the head's loss (BCE through the head's APA) on s_det + s_ctx; the context
    classifier's own loss: BCE through its own APA on s_ctx; fc_cls starts at zero."""
    head = MODELS.build(dict(HEAD, type='APABBoxHead'))
    clf = ContextClassifier(in_channels=6, num_classes=C, fusion='logit_sum',
                            loss_cls=copy.deepcopy(head.loss_cls))
    clf.init_weights()
    assert clf.fc_cls.weight.abs().sum() == 0 and clf.fc_cls.bias.abs().sum() == 0
    torch.manual_seed(0)
    with torch.no_grad():
        clf.fc_cls.weight.normal_(0, 0.5)
        head.loss_cls.activation.apa.lambda_param.fill_(0.5)
        clf.loss_cls.activation.apa.kappa_param.fill_(2.0)
    x = torch.rand(4, 6, 7, 7)
    det = torch.randn(4, C, requires_grad=True)
    labels = torch.tensor([0, 3, C, 1])                   # C = background
    weights = torch.tensor([1., 1., 1., 0.])
    y = torch.zeros(4, C)
    y[0, 0] = y[1, 3] = y[3, 1] = 1

    def bce(p):
        per_roi = -(y * p.log() + (1 - y) * (1 - p).log()).sum(1)
        return (per_roi * weights).sum() / 3              # avg_factor: 3 weighted RoIs

    s = clf.train_scores(det, x)
    ctx = clf(x)
    torch.testing.assert_close(s, det + ctx)
    got = head.loss_cls(s, labels, weights, avg_factor=3.0)
    torch.testing.assert_close(got, bce(_apa(det + ctx, 0.5, 1.0)), rtol=1e-5, atol=1e-6)
    own = clf.loss(ctx, labels, weights)
    torch.testing.assert_close(own['loss_ctx_cls'], bce(_apa(ctx, 1.0, 2.0)), rtol=1e-5,
                               atol=1e-6)
    assert 'acc_fg_ctx' in own and 'acc_ctx' not in own
    got.backward()
    assert clf.fc_cls.weight.grad.abs().sum() > 0 and det.grad.abs().sum() > 0


def test_seesaw_context_loss_keys_are_renamed():
    head = MODELS.build(dict(HEAD, type='LongTailBBoxHead',
                             loss_cls=dict(type='SeesawLoss', num_classes=C)))
    clf = _clf(head)
    out = clf.loss(torch.randn(4, C + 2), torch.tensor([0, 1, C, 2]), torch.ones(4))
    assert {'loss_ctx_cls_objectness', 'loss_ctx_cls_classes'} <= set(out)


# ------------------------------------------------------------------ HCE detector end to end
@pytest.fixture
def apa_hce_cfg(load_cfg):
    cfg = load_cfg(SYNTH_HCE).model
    cfg.roi_head.bbox_head.type = 'APABBoxHead'
    cfg.roi_head.bbox_head.loss_cls = dict(
        type='DropLoss', class_image_counts=[5., 1., 9., 9., 2., 7., 1., 3., 8., 4.],
        num_train_images=10)
    cfg.roi_head.late_fusion = dict(fusion='logit_sum')
    return cfg


def _build(cfg, **roi_head):
    cfg = copy.deepcopy(cfg)
    cfg.roi_head.update(roi_head)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _batch(model):
    data = demo_mm_inputs(batch_size=2, image_shapes=(3, 128, 128), num_items=[3, 2],
                          num_classes=10)
    return model.data_preprocessor(data, True)


@pytest.mark.parametrize('fusion', ['logit_sum', 'mean'])
def test_hce_apa_head_late_fusion_loss_backward_predict(apa_hce_cfg, fusion):
    model = _build(apa_hce_cfg, late_fusion=dict(fusion=fusion))
    head, clf = model.roi_head.bbox_head, model.roi_head.context_cls[0]
    assert type(clf.loss_cls) is type(head.loss_cls) and clf.fc_cls.out_features == 10
    assert clf.loss_cls.activation is not head.loss_cls.activation
    # bias: zero with logit_sum (starts as the detector), else the head's cls_bias_init (-2)
    assert clf.fc_cls.bias.detach().unique().tolist() == ([0.0] if fusion == 'logit_sum'
                                                          else [-2.0])
    batch = _batch(model)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    for key in ('loss_cls', 'loss_ctx_cls', 'loss_img_cls', 'acc_fg', 'acc_fg_ctx'):
        assert key in losses
    model.parse_losses(losses)[0].backward()
    assert clf.fc_cls.weight.grad.abs().sum() > 0
    assert clf.loss_cls.activation.apa.lambda_param.grad is not None   # its own APA learns
    assert head.loss_cls.activation.apa.lambda_param.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        res = model.predict(batch['inputs'], batch['data_samples'])
    for r in res:
        p = r.pred_instances
        assert (p.scores >= 0).all() and (p.scores <= 1 + 1e-6).all() and (p.labels < 10).all()


def test_apa_mean_fusion_predicts_mean_of_both_apas(apa_hce_cfg):
    """HCE detector path: the scores the APA head hands to NMS are the mean of its APA of s_det
    and the context classifier's own APA of s_ctx."""
    model = _build(apa_hce_cfg, late_fusion=dict(fusion='mean')).eval()
    rh = model.roi_head
    batch = _batch(model)
    rois = torch.tensor([[0, 5., 5., 60., 60.], [1, 20., 30., 100., 90.]])
    with torch.no_grad():
        feats = model.extract_feat(batch['inputs'])
        fused = rh._bbox_forward(rh.with_context(feats, batch['data_samples'], True), rois)
        raw = rh._bbox_forward(rh.with_context(feats, batch['data_samples'], False), rois)
        want = (rh.bbox_head.loss_cls.get_activation(raw['cls_score'])
                + rh.context_cls[0].loss_cls.get_activation(raw['ctx_logits'])) / 2
        got = rh.bbox_head.loss_cls.get_activation(fused['cls_score'])
    torch.testing.assert_close(got, want, atol=2e-6, rtol=1e-5)


def test_score_fusion_without_inverse_is_a_build_error(apa_hce_cfg):
    cfg = copy.deepcopy(apa_hce_cfg)
    cfg.roi_head.bbox_head.type = 'Shared2FCBBoxHead'
    cfg.roi_head.bbox_head.loss_cls = dict(type='CrossEntropyCustomLoss', use_sigmoid=True,
                                           num_classes=10)
    with pytest.raises(ValueError, match="fusion='logit_sum'"):
        _build(cfg, late_fusion=dict(fusion='mean'))
    _build(cfg, late_fusion=dict(fusion='logit_sum'))        # trained fusion needs no inverse
    with pytest.raises(ValueError, match='late_fusion.loss_cls'):
        _build(apa_hce_cfg, late_fusion=dict(fusion='mean', loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=False)))


@pytest.mark.parametrize('act', [dict(type='SigmoidClsAct'), dict(type='GumbelClsAct'),
                                 dict(type='APAClsAct', per_class=True, num_classes=C)])
def test_activation_inverse_round_trip(act):
    """``inverse`` solves each activation for z (per-class APA: one λ, κ per column)."""
    a = MODELS.build(act)
    if 'apa' in dict(a.named_modules()):
        with torch.no_grad():
            a.apa.lambda_param.copy_(torch.tensor([0.05, 0.5, 1.0, 2.0, 4.0]))
            a.apa.kappa_param.copy_(torch.tensor([0.5, 1.0, 1.5, 2.0, 0.7]))
    z = torch.linspace(-4, 4, 4 * C).view(4, C)  # Gumbel p(−4) = exp(−e^4) ~ 2e-24
    torch.testing.assert_close(a.inverse(a(z)), z, atol=1e-3, rtol=1e-4)
