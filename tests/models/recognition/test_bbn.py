"""BBN: mixing, reversed weights, reversed sampling of rare RoIs."""
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from conftest import TINY_C as C, TINY_HEAD as HEAD  # noqa: E402
from hce_det.models.recognition import BBNBBoxHead  # noqa: E402


# ------------------------------------------------------------------ BBN
def test_bbn_mixing_and_reversed_weights():
    torch.manual_seed(0)
    head = BBNBBoxHead(**HEAD)
    x = torch.randn(4, 4, 2, 2)
    head.eval()
    cls_test, _ = head(x)
    h = head.trunk(x, head.shared_fcs[:-1])
    f_c, f_r = head.relu(head.shared_fcs[-1](h)), head.relu(head.rebalance_fc(h))
    assert torch.allclose(cls_test, head.fc_cls(torch.cat([f_c, f_r], 1)), atol=1e-6)  # alpha=.5
    head.train()
    head.set_training_progress(0.0)  # alpha = 1: conventional branch only, plain CE
    out, _ = head(x)  # training: the logits with the branch features the loss needs
    cls = out.logits
    assert torch.allclose(cls, head.fc_cls(torch.cat([2 * f_c, 0 * f_r], 1)), atol=1e-6)
    assert torch.allclose(out.extras['f_c'], f_c) and torch.allclose(out.extras['f_r'], f_r)
    y = torch.tensor([0, 1, 2, 3])
    loss = head.cls_loss(cls, y, torch.ones(4), 4.0, out.extras)['loss_cls']
    assert loss.item() == pytest.approx(F.cross_entropy(cls, y).item(), rel=1e-5)
    assert head.reversed_weights(y).tolist() == pytest.approx([1.0, 10.0, 100.0, 1.0])
    assert head.set_training_progress(0.5) == pytest.approx(0.75)


def test_bbn_reversed_sampling_prefers_rare_rois():
    torch.manual_seed(0)
    head = BBNBBoxHead(**HEAD).train()
    head.set_training_progress(1.0)  # alpha = 0: re-balancing term only
    y = torch.tensor([0] * 50 + [2] * 2)
    out, _ = head(torch.randn(52, 4, 2, 2))
    picked = []
    orig = torch.multinomial

    def spy(w, n, replacement):
        idx = orig(w, n, replacement=replacement)
        picked.append(y[idx])
        return idx
    torch.multinomial = spy
    try:
        head.cls_loss(torch.zeros(52, C + 1), y, torch.ones(52), 52.0, out.extras)
    finally:
        torch.multinomial = orig
    rare_share = (picked[0] == 2).float().mean().item()
    # BBN's reversed sampler draws the class (w = n_max / n_c: 100 vs 1), then one of its RoIs,
    # so 2 rare RoIs among 50 head RoIs are drawn with probability 100 / 101
    assert rare_share > 0.95

    # background RoIs keep themselves as partners by default; foreground partners are foreground
    y = torch.tensor([3] * 30 + [0] * 20 + [2] * 2)
    partner = head.sample_partners(y, torch.ones(52))
    assert partner[:30].tolist() == list(range(30))
    assert bool((y[partner[30:]] < C).all()) and (y[partner[30:]] == 2).float().mean() > 0.6
    head.rebalance_background = True  # background joins as a class of weight 1 (= class 0)
    draws = torch.cat([y[head.sample_partners(y, torch.ones(52))] for _ in range(20)])
    share = [(draws == c).float().mean().item() for c in (0, 2, 3)]
    assert share == pytest.approx([1 / 102, 100 / 102, 1 / 102], abs=0.02)
