"""Recognition components: each loss against a hand computation on tiny inputs, head outputs'
shapes, class-frequency loading and the DiVE teacher checks (no detector, fast)."""
import json
import math

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from hce_det.models.recognition import (BBNBBoxHead, ContrastiveBBoxHead,  # noqa: E402
                                        DiVEBBoxHead, MDCSBBoxHead, RIDEBBoxHead, SEFBBoxHead,
                                        dive_loss, flattened_teacher, group_decorrelation_loss,
                                        load_class_counts, mdcs_loss,
                                        prototype_contrastive_loss, ride_loss,
                                        supervised_contrastive_loss)

C = 3  # foreground classes in the tiny heads
COUNTS = [100.0, 10.0, 1.0]
HEAD = dict(in_channels=4, fc_out_channels=8, roi_feat_size=2, num_classes=C,
            class_counts=COUNTS)


def _softmax(v):
    e = [math.exp(x - max(v)) for x in v]
    return [x / sum(e) for x in e]


def _ce(v, y):
    return -math.log(_softmax(v)[y])


def _kl(p, q):
    return sum(a * (math.log(a) - math.log(b)) for a, b in zip(p, q) if a > 0)


# ------------------------------------------------------------------ class counts
def test_class_counts_from_file_list_and_coco_annotations(tmp_path):
    lvis_like = tmp_path / 'lvis.json'
    lvis_like.write_text(json.dumps({'categories': [
        {'id': 2, 'name': 'b', 'instance_count': 5},
        {'id': 1, 'name': 'a', 'instance_count': 50}]}))
    assert load_class_counts(2, class_counts_file=str(lvis_like)).tolist() == [50.0, 5.0]
    coco_like = tmp_path / 'coco.json'
    coco_like.write_text(json.dumps({
        'categories': [{'id': 1, 'name': 'a'}, {'id': 7, 'name': 'b'}],
        'annotations': [{'category_id': 7}, {'category_id': 7}, {'category_id': 1}]}))
    assert load_class_counts(2, class_counts_file=str(coco_like)).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match='num_classes=3'):
        load_class_counts(3, class_counts_file=str(lvis_like))
    with pytest.raises(FileNotFoundError, match='class_counts_file'):
        load_class_counts(2, class_counts_file=str(tmp_path / 'missing.json'))
    with pytest.raises(ValueError, match='class_counts'):
        load_class_counts(2)


def test_log_prior_background_like_most_frequent():
    head = RIDEBBoxHead(**HEAD)
    lp = head.log_prior()
    assert torch.allclose(lp, torch.tensor([0.0, math.log(0.1), math.log(0.01), 0.0]))


# ------------------------------------------------------------------ DiVE
def test_flattened_teacher_power_limits():
    t = torch.tensor([[2.0, 0.0, -1.0, 0.5]])
    assert torch.allclose(flattened_teacher(t, 3.0, 1.0), F.softmax(t / 3, -1))
    assert torch.allclose(flattened_teacher(t, 3.0, 0.0), torch.full((1, 4), 0.25))


def test_dive_loss_matches_hand_computation():
    s = [[1.0, 0.5, -0.5, 0.2], [0.0, 2.0, 0.1, -1.0]]
    t = [[3.0, 0.0, -1.0, 0.0], [0.5, 1.5, 0.0, 0.0]]
    y = [0, 3]
    lp = [0.0, math.log(0.1), math.log(0.01), 0.0]
    tau, p, a = 3.0, 0.5, 0.4
    bsce = sum(_ce([si + li for si, li in zip(s[i], lp)], y[i]) for i in range(2)) / 2
    kd = 0.
    for i in range(2):
        tt = [v ** p for v in _softmax([v / tau for v in t[i]])]
        tt = [v / sum(tt) for v in tt]
        kd += _kl(tt, _softmax([v / tau for v in s[i]]))
    kd /= 2
    out = dive_loss(torch.tensor(s), torch.tensor(t), torch.tensor(y), torch.tensor(lp),
                    torch.ones(2), 2.0, tau=tau, power=p, alpha=a)
    assert out['loss_cls'].item() == pytest.approx((1 - a) * bsce, rel=1e-5)
    assert out['loss_distill'].item() == pytest.approx(a * tau ** 2 * kd, rel=1e-5)


def _save_head_ckpt(path, num_classes):
    from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
    head = Shared2FCBBoxHead(in_channels=4, fc_out_channels=8, roi_feat_size=2,
                             num_classes=num_classes)
    torch.save({'state_dict': {f'roi_head.bbox_head.{k}': v
                               for k, v in head.state_dict().items()}}, str(path))
    return head


def test_dive_teacher_loads_frozen_and_mismatch_is_clear_error(tmp_path):
    good = _save_head_ckpt(tmp_path / 'good.pth', C)
    student = DiVEBBoxHead(**HEAD, teacher=dict(checkpoint=str(tmp_path / 'good.pth')))
    student.init_weights()
    assert torch.equal(student.teacher.fc_cls.weight, good.fc_cls.weight)
    assert not any(p.requires_grad for p in student.teacher.parameters())
    assert not any(k.startswith('teacher') for k in student.state_dict())
    _save_head_ckpt(tmp_path / 'bad.pth', 5)
    bad = DiVEBBoxHead(**HEAD, teacher=dict(checkpoint=str(tmp_path / 'bad.pth')))
    with pytest.raises(ValueError, match=r'5 classes.*num_classes=3'):
        bad.init_weights()
    with pytest.raises(ValueError, match='teacher'):
        DiVEBBoxHead(**HEAD)


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
        hand += _ce([(zi[0] * p[0] + zi[1] * p[1]) / tau for p in pn], yi)
    got = prototype_contrastive_loss(z, y, protos, tau)
    assert got.item() == pytest.approx(hand / 2, rel=1e-5)


# ------------------------------------------------------------------ RIDE / MDCS
def test_ride_loss_hand_and_expert_shapes():
    e1 = torch.tensor([[2.0, 0.0, 1.0, 0.0]])
    e2 = torch.tensor([[0.0, 1.0, 0.0, 1.0]])
    y = torch.tensor([2])
    margins = torch.tensor([0.1, 0.2, 0.3, 0.1])
    out = ride_loss([e1, e2], y, torch.ones(1), 1.0, margins, scale=2.0, temperature=1.0,
                    diversity_factor=-0.2)
    adj1, adj2 = [2.0, 0.0, 1.0 - 0.6, 0.0], [0.0, 1.0, -0.6, 1.0]
    assert out['loss_cls'].item() == pytest.approx(_ce(adj1, 2) + _ce(adj2, 2), rel=1e-5)
    mean = [1.0, 0.5, 0.5, 0.5]
    kl = _kl(_softmax(mean), _softmax(e1[0].tolist())) + \
        _kl(_softmax(mean), _softmax(e2[0].tolist()))
    assert out['loss_diversity'].item() == pytest.approx(-0.2 * kl, rel=1e-5)

    head = RIDEBBoxHead(**HEAD, num_experts=3).train()
    x = torch.randn(6, 4, 2, 2)
    cls, reg = head(x)
    logits = head._aux['expert_logits']
    assert len(logits) == 3 and all(t.shape == (6, C + 1) for t in logits)
    assert cls.shape == (6, C + 1) and reg.shape == (6, 4 * C)
    assert torch.allclose(cls, torch.stack(logits).mean(0))
    assert all(t.abs().max() <= 30 + 1e-4 for t in logits)  # cosine classifier, scale 30


def test_mdcs_loss_hand_and_selection():
    l1 = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    l2 = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    y = torch.tensor([0, 1])
    lc = torch.tensor([0.0, -1.0, -2.0, 0.0])
    out = mdcs_loss([l1], [l2], y, lc, [2.0], torch.ones(2), 2.0, cs_weight=0.6)
    a1 = [[1.0, -2.0, -4.0, 0.0], [0.0, -2.0, -4.0, 2.0]]
    a2 = [[0.5, -1.5, -4.0, 0.0], [0.0, -1.0, -4.0, 0.0]]
    assert out['loss_cls'].item() == pytest.approx((_ce(a1[0], 0) + _ce(a1[1], 1)) / 2, rel=1e-5)
    # only RoI 0 is correctly classified by the teacher view -> consistency on it alone
    cs = _kl(_softmax(a1[0]), _softmax(a2[0]))
    assert out['loss_consistency'].item() == pytest.approx(0.6 * cs, rel=1e-5)

    head = MDCSBBoxHead(**HEAD).train()
    cls, _ = head(torch.randn(5, 4, 2, 2))
    assert len(head._aux['expert_logits']) == 3 and cls.shape == (5, C + 1)
    assert head.set_training_progress(0.025) == pytest.approx(0.5)  # warm-up 5 %
    assert head.set_training_progress(0.5) == 1.0


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
    cls, _ = head(x)
    assert torch.allclose(cls, head.fc_cls(torch.cat([2 * f_c, 0 * f_r], 1)), atol=1e-6)
    y = torch.tensor([0, 1, 2, 3])
    loss = head.cls_loss(cls, y, torch.ones(4), 4.0)['loss_cls']
    assert loss.item() == pytest.approx(F.cross_entropy(cls, y).item(), rel=1e-5)
    assert head.reversed_weights(y).tolist() == pytest.approx([1.0, 10.0, 100.0, 1.0])
    assert head.set_training_progress(0.5) == pytest.approx(0.75)


def test_bbn_reversed_sampling_prefers_rare_rois():
    torch.manual_seed(0)
    head = BBNBBoxHead(**HEAD).train()
    head.set_training_progress(1.0)  # alpha = 0: re-balancing term only
    y = torch.tensor([0] * 50 + [2] * 2)
    head(torch.randn(52, 4, 2, 2))
    picked = []
    orig = torch.multinomial

    def spy(w, n, replacement):
        idx = orig(w, n, replacement=replacement)
        picked.append(y[idx])
        return idx
    torch.multinomial = spy
    try:
        head.cls_loss(torch.zeros(52, C + 1), y, torch.ones(52), 52.0)
    finally:
        torch.multinomial = orig
    rare_share = (picked[0] == 2).float().mean().item()
    assert rare_share > 0.6  # 2 rare RoIs x weight 100 vs 50 head RoIs x weight 1

    # background RoIs keep themselves as partners by default; foreground partners are foreground
    y = torch.tensor([3] * 30 + [0] * 20 + [2] * 2)
    partner = head.sample_partners(y, torch.ones(52))
    assert partner[:30].tolist() == list(range(30))
    assert bool((y[partner[30:]] < C).all()) and (y[partner[30:]] == 2).float().mean() > 0.6
    head.rebalance_background = True  # background joins with the weight of the head class
    assert (y[head.sample_partners(y, torch.ones(52))] == 3).any()


# ------------------------------------------------------------------ contrastive head / SEF
def test_contrastive_head_alpha_mixing():
    head = ContrastiveBBoxHead(**HEAD, mode='psc', contrast_weight=0.5).train()
    cls, _ = head(torch.randn(4, 4, 2, 2))
    y = torch.tensor([0, 1, 3, 3])

    class Res:  # two positives (IoU 1.0 and 0.5) and two negatives
        pos_priors = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 10.]])
        pos_gt_bboxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 5.]])
        neg_priors = torch.zeros(2, 4)
    head._aux['sampling_results'] = [Res()]
    keep = head.anchor_mask(y, torch.ones(4))
    assert keep.tolist() == [True, False, True, True]  # IoU 0.5 < 0.7 dropped; bg kept (psc)
    head.set_training_progress(0.5)  # alpha = 0.75
    out = head.cls_loss(cls, y, torch.ones(4), 4.0)
    ce = F.cross_entropy(cls, y)
    assert out['loss_cls'].item() == pytest.approx(0.25 * ce.item(), rel=1e-5)
    z = F.normalize(head.projector(head._aux['feat'][keep]), dim=1)
    con = prototype_contrastive_loss(z, y[keep], head.prototypes, head.tau)
    assert out['loss_contrast'].item() == pytest.approx(0.75 * 0.5 * con.item(), rel=1e-5)


def test_group_decorrelation_hand_cases():
    a = torch.tensor([1.0, -1.0, 0.0, 0.0])
    b = torch.tensor([0.0, 0.0, 1.0, -1.0])
    ideal = torch.stack([a, a, b, b]).view(1, 4, 2, 2)  # same group correlated, groups orthogonal
    assert group_decorrelation_loss(ideal, 2).item() == pytest.approx(0.0, abs=1e-6)
    same = torch.stack([a, a, a, a]).view(1, 4, 2, 2)  # every pair correlated: inter term = 1
    assert group_decorrelation_loss(same, 2).item() == pytest.approx(1.0, abs=1e-5)
    anti = torch.stack([a, -a, b, -b]).view(1, 4, 2, 2)  # intra R = -1 -> 0.5 * (1 - (-1)) = 1
    assert group_decorrelation_loss(anti, 2).item() == pytest.approx(1.0, abs=1e-5)


def test_sef_group_logits_and_losses():
    head = SEFBBoxHead(**HEAD, num_groups=2).train()
    x = torch.randn(3, 4, 2, 2, requires_grad=True)
    cls, _ = head(x)
    groups = head._aux['group_logits']
    assert len(groups) == 2 and all(g.shape == (3, C + 1) for g in groups)
    y = torch.tensor([0, 1, 3])
    out = head.cls_loss(cls, y, torch.ones(3), 3.0)
    teacher = F.softmax(cls.detach(), -1)
    kd = sum(F.kl_div(F.log_softmax(g, -1), teacher, reduction='batchmean') for g in groups) / 2
    assert out['loss_group_kd'].item() == pytest.approx(kd.item(), rel=1e-5)
    assert out['loss_group'].item() == pytest.approx(
        group_decorrelation_loss(x[:2].detach(), 2).item(), rel=1e-5)
    sum(out.values()).backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='num_groups'):
        SEFBBoxHead(**HEAD, num_groups=3)


# ------------------------------------------------------------------ alpha hook (no runner)
def test_cumulative_alpha_hook_by_epoch_and_iter():
    from types import SimpleNamespace

    from mmengine.logging import MessageHub

    from hce_det.engine.hooks import CumulativeAlphaHook
    model = torch.nn.ModuleDict(dict(bbn=BBNBBoxHead(**HEAD), sc=ContrastiveBBoxHead(**HEAD),
                                     plain=torch.nn.Linear(2, 2)))
    runner = SimpleNamespace(model=model, epoch=2, max_epochs=4, iter=30, max_iters=40,
                             message_hub=MessageHub.get_instance('test_recognition_alpha'))
    hook = CumulativeAlphaHook(by_epoch=True)
    hook.before_train_epoch(runner)
    assert float(model['bbn'].alpha) == pytest.approx(1 - (2 / 4) ** 2)
    assert float(model['sc'].alpha) == pytest.approx(1 - (2 / 4) ** 2)
    hook.before_train_iter(runner, 0)  # by_epoch: iterations do not change alpha
    assert float(model['bbn'].alpha) == pytest.approx(0.75)
    CumulativeAlphaHook().before_train_iter(runner, 0)
    assert float(model['bbn'].alpha) == pytest.approx(1 - (30 / 40) ** 2)
    ckpt = {}
    hook.before_save_checkpoint(runner, ckpt)
    assert ckpt['meta']['cumulative_alpha'] == pytest.approx(
        {'bbn': 1 - 0.75 ** 2, 'sc': 1 - 0.75 ** 2})
    runner.max_iters = 0
    with pytest.raises(ValueError, match='max_iters'):
        CumulativeAlphaHook().before_train_iter(runner, 0)


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
    head._aux = {'expert_logits': e, 'router': r}
    got = head.router_loss(y, torch.ones(2), 2.0)

    def bce(x, t, pw=2.0):
        s = 1 / (1 + math.exp(-x))
        return -(pw * t * math.log(s) + (1 - t) * math.log(1 - s))
    # router 1: ensemble 1..2 already right for RoI 0 -> target 0; RoI 1 -> 0
    hand = ((bce(0.3, 1) + bce(-0.2, 0)) / 2 + (bce(0.1, 0) + bce(0.4, 0)) / 2) / 2
    assert got.item() == pytest.approx(hand, rel=1e-5)

    head.train()
    x = torch.randn(4, 4, 2, 2)
    cls, _ = head(x)
    assert [t.shape for t in head._aux['router']] == [(4,), (4,)]
    head.eval()
    with torch.no_grad():
        for fc in head.router_fc:
            fc.bias.fill_(-50.0)  # never consult more experts
        first = head.fc_cls[0](head.relu(head.expert_fcs[0](head.trunk(x))))
        assert torch.allclose(head(x)[0], first, atol=1e-5)
        assert head.last_num_experts.tolist() == [1, 1, 1, 1]
        for fc in head.router_fc:
            fc.bias.fill_(50.0)  # always consult all experts
        assert torch.allclose(head(x)[0], cls, atol=1e-5)
        assert head.last_num_experts.tolist() == [3, 3, 3, 3]
