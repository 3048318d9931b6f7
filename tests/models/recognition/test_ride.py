"""RIDE: diversity loss and expert shapes, router targets and routing."""
import math

import pytest
import torch

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from conftest import TINY_C as C, TINY_HEAD as HEAD, hand_ce, hand_kl, hand_softmax  # noqa: E402
from hce_det.models.recognition import RIDEBBoxHead, ride_loss  # noqa: E402


# ------------------------------------------------------------------ RIDE / MDCS
def test_ride_loss_hand_and_expert_shapes():
    e1 = torch.tensor([[2.0, 0.0, 1.0, 0.0]])
    e2 = torch.tensor([[0.0, 1.0, 0.0, 1.0]])
    y = torch.tensor([2])
    margins = torch.tensor([0.1, 0.2, 0.3, 0.1])
    out = ride_loss([e1, e2], y, torch.ones(1), 1.0, margins, scale=2.0, temperature=1.0,
                    diversity_factor=-0.2)
    adj1, adj2 = [2.0, 0.0, 1.0 - 0.6, 0.0], [0.0, 1.0, -0.6, 1.0]
    assert out['loss_cls'].item() == pytest.approx(hand_ce(adj1, 2) + hand_ce(adj2, 2), rel=1e-5)
    mean = [1.0, 0.5, 0.5, 0.5]
    kl = hand_kl(hand_softmax(mean), hand_softmax(e1[0].tolist())) + \
        hand_kl(hand_softmax(mean), hand_softmax(e2[0].tolist()))
    assert out['loss_diversity'].item() == pytest.approx(-0.2 * kl, rel=1e-5)

    head = RIDEBBoxHead(**HEAD, num_experts=3).train()
    x = torch.randn(6, 4, 2, 2)
    out, reg = head(x)
    cls, logits = out.logits, out.extras['expert_logits']
    assert len(logits) == 3 and all(t.shape == (6, C + 1) for t in logits)
    assert cls.shape == (6, C + 1) and reg.shape == (6, 4 * C)
    assert torch.allclose(cls, torch.stack(logits).mean(0))
    assert all(t.abs().max() <= 30 + 1e-4 for t in logits)  # cosine classifier, scale 30


def test_ride_expert_mean_is_the_sum_over_k():
    """``expert_reduction='mean'``: both loss terms are the summed (RIDE) ones divided by K; the
    head passes its option to the loss; anything else is refused."""
    torch.manual_seed(0)
    experts = [torch.randn(5, C + 1) for _ in range(3)]
    y, w = torch.tensor([0, 1, 2, C, C]), torch.ones(5)
    margins = torch.linspace(0.1, 0.5, C + 1)
    s, m = (ride_loss(experts, y, w, 5.0, margins, 30.0, 1.0, -0.2, expert_reduction=r)
            for r in ('sum', 'mean'))
    for k in ('loss_cls', 'loss_diversity'):
        assert m[k].item() == pytest.approx(s[k].item() / 3, rel=1e-6), k
    with pytest.raises(ValueError, match='expert_reduction'):
        ride_loss(experts, y, w, 5.0, expert_reduction='max')
    with pytest.raises(ValueError, match='expert_reduction'):
        RIDEBBoxHead(**HEAD, expert_reduction='max')
    head = RIDEBBoxHead(**HEAD, num_experts=3, expert_reduction='mean').train()
    torch.manual_seed(1)
    out, _ = head(torch.randn(5, 4, 2, 2))
    got = head.cls_loss(out.logits, y, w, 5.0, out.extras)
    counts = head._counts_with_bg(None)
    from hce_det.models.recognition.ride import ldam_margins
    want = ride_loss(out.extras['expert_logits'], y, w, 5.0, ldam_margins(counts), 30.0,
                     1.0, -0.2)
    assert got['loss_cls'].item() == pytest.approx(want['loss_cls'].item() / 3, rel=1e-6)


def test_ride_router_targets_and_routing():
    torch.manual_seed(0)
    head = RIDEBBoxHead(**HEAD, num_experts=3, router=dict(top_k=2, pos_weight=2.0))
    y = torch.tensor([1, 0])
    # RoI 0: expert 1 alone wrong (class 0), experts 1+2 right (class 1) -> router 0 target 1;
    # RoI 1: right from the start -> router targets 0
    e = [torch.tensor([[2.0, 0.0, 0, 0], [3.0, 0, 0, 0]]),
         torch.tensor([[0.0, 5.0, 0, 0], [3.0, 0, 0, 0]]),
         torch.tensor([[0.0, 1.0, 0, 0], [3.0, 0, 0, 0]])]
    r = [torch.tensor([0.3, -0.2]), torch.tensor([0.1, 0.4])]
    got = head.router_loss(e, r, y, torch.ones(2), 2.0)

    def bce(x, t, pw=2.0):
        s = 1 / (1 + math.exp(-x))
        return -(pw * t * math.log(s) + (1 - t) * math.log(1 - s))
    # router 1: ensemble 1..2 already right for RoI 0 -> target 0; RoI 1 -> 0
    hand = ((bce(0.3, 1) + bce(-0.2, 0)) / 2 + (bce(0.1, 0) + bce(0.4, 0)) / 2) / 2
    assert got.item() == pytest.approx(hand, rel=1e-5)

    head.train()
    x = torch.randn(4, 4, 2, 2)
    out, _ = head(x)
    cls = out.logits
    assert [t.shape for t in out.extras['router']] == [(4,), (4,)]
    head.eval()
    with torch.no_grad():
        for fc in head.router_fc:
            fc.bias.fill_(-50.0)  # never consult more experts
        first = head.fc_cls[0](head.relu(head.expert_fcs[0](head.trunk(x))))
        assert torch.allclose(head(x)[0], first, atol=1e-5)
        assert head.routed_logits(head.trunk(x))[1].tolist() == [1, 1, 1, 1]
        for fc in head.router_fc:
            fc.bias.fill_(50.0)  # always consult all experts
        assert torch.allclose(head(x)[0], cls, atol=1e-5)
        assert head.routed_logits(head.trunk(x))[1].tolist() == [3, 3, 3, 3]
