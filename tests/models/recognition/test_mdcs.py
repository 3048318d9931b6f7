"""MDCS: loss against a hand computation, consistency selection, warm-up."""
import pytest
import torch

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from conftest import TINY_C as C, TINY_HEAD as HEAD, hand_ce, hand_kl, hand_softmax  # noqa: E402
from hce_det.models.recognition import MDCSBBoxHead, mdcs_loss  # noqa: E402


def test_mdcs_loss_hand_and_selection():
    l1 = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    l2 = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    y = torch.tensor([0, 1])
    lc = torch.tensor([0.0, -1.0, -2.0, 0.0])
    out = mdcs_loss([l1], [l2], y, lc, [2.0], torch.ones(2), 2.0, cs_weight=0.6)
    a1 = [[1.0, -2.0, -4.0, 0.0], [0.0, -2.0, -4.0, 2.0]]
    a2 = [[0.5, -1.5, -4.0, 0.0], [0.0, -1.0, -4.0, 0.0]]
    ce1 = (hand_ce(a1[0], 0) + hand_ce(a1[1], 1)) / 2
    ce2 = (hand_ce(a2[0], 0) + hand_ce(a2[1], 1)) / 2
    assert out['loss_cls'].item() == pytest.approx((ce1 + ce2) / 2, rel=1e-5)  # both views
    # only RoI 0 is correctly classified by the teacher view -> consistency on it alone
    cs = hand_kl(hand_softmax(a1[0]), hand_softmax(a2[0]))
    assert out['loss_consistency'].item() == pytest.approx(0.6 * cs, rel=1e-5)

    head = MDCSBBoxHead(**HEAD).train()
    out, _ = head(torch.randn(5, 4, 2, 2))
    experts = out.extras['expert_logits']
    assert len(experts) == 3 and out.logits.shape == (5, C + 1)
    assert torch.allclose(out.logits, torch.stack(experts).mean(0))
    assert len(out.extras['view2_logits']) == 3  # the dropout view of the same RoIs
    # MDCS experts end in cosine classifiers (use_norm, s = 30)
    assert all(t.abs().max() <= 30 + 1e-4 for t in experts)
    assert head.set_training_progress(0.025) == pytest.approx(0.5)  # warm-up 5 %
    assert head.set_training_progress(0.5) == 1.0
