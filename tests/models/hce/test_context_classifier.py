"""ContextClassifier and late fusion: fused probabilities, test-time scores, the context loss,
the trained logit-sum fusion."""
import pytest
import torch
import torch.nn.functional as F

import hce_det  # noqa: F401  (registration)
from hce_det.models.hce.context_classifier import ContextClassifier, fuse_class_probs


def test_fuse_probs_sum_to_one_and_hand_values():
    torch.manual_seed(0)
    s, c = torch.randn(5, 4), torch.randn(5, 4)
    for mode in ('mean', 'weighted', 'geometric'):
        p = fuse_class_probs(s, c, mode, det_weight=0.3)
        assert torch.allclose(p.sum(-1), torch.ones(5), atol=1e-6)
        assert (p >= 0).all()
    mean = fuse_class_probs(s, c, 'mean')
    assert torch.allclose(mean, (s.softmax(-1) + c.softmax(-1)) / 2)
    w = fuse_class_probs(s, c, 'weighted', 0.3)
    assert torch.allclose(w, 0.3 * s.softmax(-1) + 0.7 * c.softmax(-1))
    g = fuse_class_probs(s, c, 'geometric', 0.3)
    ref = s.softmax(-1) ** 0.3 * c.softmax(-1) ** 0.7
    assert torch.allclose(g, ref / ref.sum(-1, keepdim=True), atol=1e-6)


def test_test_scores_softmax_recovers_fused_probs_and_single_branch():
    torch.manual_seed(0)
    clf = ContextClassifier(in_channels=6, num_classes=3)
    clf.init_weights()
    x_ctx = torch.rand(4, 6, 7, 7)
    det = torch.randn(4, 4)
    ctx_logits = clf(x_ctx)
    assert ctx_logits.shape == (4, 4)
    fused = clf.test_scores(det, x_ctx).softmax(-1)
    assert torch.allclose(fused, (det.softmax(-1) + ctx_logits.softmax(-1)) / 2, atol=1e-6)
    clf.test_branch = 'det'
    assert torch.equal(clf.test_scores(det, None), det)
    clf.test_branch = 'context'
    assert torch.allclose(clf.test_scores(det, x_ctx), ctx_logits)
    with pytest.raises(ValueError, match='test_branch'):
        ContextClassifier(6, 3, test_branch='left')


def test_context_classifier_loss_is_ce():
    clf = ContextClassifier(in_channels=6, num_classes=3)
    logits = torch.randn(4, 4)
    labels = torch.tensor([0, 3, 2, 3])
    out = clf.loss(logits, labels, torch.ones(4))
    assert out['loss_ctx_cls'].item() == pytest.approx(F.cross_entropy(logits, labels).item(),
                                                       rel=1e-5)


def test_trained_late_fusion_loss_is_ce_of_summed_logits():
    from hce_det.models.hce import ContextClassifier
    torch.manual_seed(0)
    clf = ContextClassifier(in_channels=4, num_classes=3, fusion='logit_sum', pool='flatten',
                            roi_size=2)
    clf.init_weights()
    assert clf.fc_cls.weight.abs().sum() == 0            # starts as the detector alone
    torch.nn.init.normal_(clf.fc_cls.weight)            # a trained state
    x_ctx = torch.randn(5, 4, 2, 2)
    det = torch.randn(5, 4)
    labels = torch.tensor([0, 1, 2, 3, 1])
    fused = clf.train_scores(det, x_ctx)
    h = clf.fcs(x_ctx.flatten(1))                          # flatten: 4*2*2 inputs
    assert clf.fcs[0].in_features == 16
    hand = det + h @ clf.fc_cls.weight.T + clf.fc_cls.bias
    torch.testing.assert_close(fused, hand)
    ce = -torch.log_softmax(hand, -1)[torch.arange(5), labels].mean()
    torch.testing.assert_close(torch.nn.functional.cross_entropy(fused, labels), ce)
    torch.testing.assert_close(clf.test_scores(det, x_ctx), hand)   # same rule at test time
