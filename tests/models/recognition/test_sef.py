"""SEF: group decorrelation, group logits and losses."""
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from conftest import TINY_C as C, TINY_HEAD as HEAD  # noqa: E402
from hce_det.models.recognition import SEFBBoxHead, group_decorrelation_loss  # noqa: E402


def test_group_decorrelation_hand_cases():
    """SEF's 0.5 (mean_k mean_{G_k}(1 - R^2) + mean_{k>l} mean_{G_k x G_l} R^2), R = cosine."""
    a = torch.tensor([1.0, -1.0, 0.0, 0.0])
    b = torch.tensor([0.0, 0.0, 1.0, -1.0])
    ideal = torch.stack([a, a, b, b]).view(1, 4, 2, 2)  # same group aligned, groups orthogonal
    assert group_decorrelation_loss(ideal, 2).item() == pytest.approx(0.0, abs=1e-6)
    same = torch.stack([a, a, a, a]).view(1, 4, 2, 2)  # every pair aligned: inter R^2 = 1
    assert group_decorrelation_loss(same, 2).item() == pytest.approx(0.5, abs=1e-5)
    anti = torch.stack([a, -a, b, -b]).view(1, 4, 2, 2)  # R = -1 inside a group: R^2 = 1, no cost
    assert group_decorrelation_loss(anti, 2).item() == pytest.approx(0.0, abs=1e-6)
    # cosine, not Pearson: two constant positive maps are aligned (Pearson is undefined there)
    ones = torch.ones(1, 2, 2, 2)
    assert group_decorrelation_loss(ones, 2).item() == pytest.approx(0.5, abs=1e-5)
    # uneven split: the last group takes the remainder (4 channels, 3 groups -> 1, 1, 2);
    # one-channel groups cost nothing inside (R_ii = 1); 3 pairs of groups, R = 0 between
    c = torch.tensor([1.0, 1.0, -1.0, -1.0])
    three = torch.stack([a, b, c, c]).view(1, 4, 2, 2)
    assert group_decorrelation_loss(three, 3).item() == pytest.approx(0.0, abs=1e-6)


def test_sef_group_logits_and_losses():
    head = SEFBBoxHead(**HEAD, num_groups=2).train()
    x = torch.randn(3, 4, 2, 2, requires_grad=True)
    train_out, _ = head(x)
    cls, groups = train_out.logits, train_out.extras['group_logits']
    assert len(groups) == 2 and all(g.shape == (3, C + 1) for g in groups)
    y = torch.tensor([0, 1, 3])
    out = head.cls_loss(cls, y, torch.ones(3), 3.0, train_out.extras)
    # transfer term: weight 0.05, mean over groups of H(p_global, p_k), global not detached
    p = F.softmax(cls, -1)
    soft = sum(-(p * F.log_softmax(g, -1)).sum(-1).mean() for g in groups) / 2
    assert out['loss_group_kd'].item() == pytest.approx(0.05 * soft.item(), rel=1e-5)
    assert out['loss_entropy'].item() == pytest.approx(
        (p * F.log_softmax(cls, -1)).sum(-1).mean().item(), rel=1e-5)  # weight 1, -H(p)
    assert out['loss_group'].item() == pytest.approx(
        group_decorrelation_loss(x[:2].detach(), 2).item(), rel=1e-5)
    # the transfer term reaches the global classifier (SEF: probabilities not detached)
    head.zero_grad()
    out['loss_group_kd'].backward(retain_graph=True)
    assert head.fc_cls.weight.grad.abs().sum() > 0
    sum(out.values()).backward()
    assert x.grad.abs().sum() > 0
    uneven = SEFBBoxHead(**HEAD, num_groups=3)  # 4 channels: groups of 1, 1, 2 (SEF split)
    assert [m.in_features for m in uneven.group_cls] == [1, 1, 2]
    with pytest.raises(ValueError, match='num_groups'):
        SEFBBoxHead(**HEAD, num_groups=5)
