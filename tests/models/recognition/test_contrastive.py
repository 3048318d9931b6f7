"""SC / PSC: supervised and prototype contrastive losses, the head's alpha mixing."""
import math

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from conftest import TINY_HEAD as HEAD, hand_ce  # noqa: E402
from hce_det.models.recognition import (ContrastiveBBoxHead,  # noqa: E402
                                        prototype_contrastive_loss, supervised_contrastive_loss)


# ------------------------------------------------------------------ contrastive
def test_supervised_contrastive_matches_loop():
    torch.manual_seed(0)
    z = F.normalize(torch.randn(5, 3), dim=1)
    y = torch.tensor([0, 0, 1, 1, 2])  # the last one has no positive -> not an anchor
    tau = 0.5
    zz = z.tolist()
    dot = lambda a, b: sum(u * v for u, v in zip(a, b)) / tau  # noqa: E731
    per = []
    for i in range(5):
        pos = [p for p in range(5) if p != i and y[p] == y[i]]
        if not pos:
            continue
        den = sum(math.exp(dot(zz[i], zz[a])) for a in range(5) if a != i)
        per.append(-sum(dot(zz[i], zz[p]) - math.log(den) for p in pos) / len(pos))
    got = supervised_contrastive_loss(z, y, tau)
    assert got.item() == pytest.approx(sum(per) / len(per), rel=1e-5)
    single = supervised_contrastive_loss(z[:1].requires_grad_(), y[:1], tau)
    single.backward()  # no positives: zero loss, finite gradient
    assert single.item() == 0.0


def test_prototype_contrastive_matches_hand():
    z = F.normalize(torch.tensor([[1.0, 0.0], [0.6, 0.8]]), dim=1)
    protos = torch.tensor([[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0]])
    y = torch.tensor([0, 1])
    pn = [[1, 0], [0, 1], [-1, 0]]
    tau = 0.2
    hand = 0.
    for zi, yi in zip(z.tolist(), y.tolist()):
        hand += hand_ce([(zi[0] * p[0] + zi[1] * p[1]) / tau for p in pn], yi)
    got = prototype_contrastive_loss(z, y, protos, tau)
    assert got.item() == pytest.approx(hand / 2, rel=1e-5)


# ------------------------------------------------------------------ contrastive head / SEF
def test_contrastive_head_alpha_mixing():
    head = ContrastiveBBoxHead(**HEAD, mode='psc', contrast_weight=0.5).train()
    out, _ = head(torch.randn(4, 4, 2, 2))
    cls = out.logits
    y = torch.tensor([0, 1, 3, 3])

    class Res:  # two positives (IoU 1.0 and 0.5) and two negatives
        pos_priors = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 10.]])
        pos_gt_bboxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 5.]])
        neg_priors = torch.zeros(2, 4)
    keep = head.anchor_mask(y, torch.ones(4), [Res()])
    assert keep.tolist() == [True, False, True, True]  # IoU 0.5 < 0.7 dropped; bg kept (psc)
    head.set_training_progress(0.5)  # alpha = 0.75
    losses = head.cls_loss(cls, y, torch.ones(4), 4.0, {**out.extras, 'sampling_results': [Res()]})
    ce = F.cross_entropy(cls, y)
    assert losses['loss_cls'].item() == pytest.approx(0.25 * ce.item(), rel=1e-5)
    z = F.normalize(head.projector(out.extras['feat'][keep]), dim=1)
    con = prototype_contrastive_loss(z, y[keep], head.prototypes, head.tau)
    assert losses['loss_contrast'].item() == pytest.approx(0.75 * 0.5 * con.item(), rel=1e-5)
