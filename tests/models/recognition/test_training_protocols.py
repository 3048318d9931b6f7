"""Each recognition method trained the way its reference trains it (issue 13, item 3), on tiny
inputs: BBN's image-level reversed partners, RIDE's deferred re-weighting, DiVE's whole-detector
teacher. (Hand checks of the losses themselves: test_<method>.py here.)"""
import copy
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from conftest import TINY_C as C, TINY_COUNTS as COUNTS, TINY_HEAD as HEAD  # noqa: E402
from hce_det.models.recognition import (BBNBBoxHead, RIDEBBoxHead,  # noqa: E402
                                        effective_number_weights, ride_loss)
from hce_det.models.recognition.ride import diversity_temperature, ldam_margins  # noqa: E402


def _res(n_pos, n_neg):
    return SimpleNamespace(priors=torch.zeros(n_pos + n_neg, 4))


# ------------------------------------------------------------------ BBN
def test_bbn_reversed_images_are_the_last_of_the_batch():
    head = BBNBBoxHead(**HEAD, num_reversed_images='half')
    mask = head.reversed_mask([_res(1, 2), _res(2, 0), _res(0, 1), _res(1, 1)])
    assert mask.tolist() == [False] * 5 + [True] * 3
    head.num_reversed_images = 1
    assert head.reversed_mask([_res(1, 1), _res(1, 0)]).tolist() == [False, False, True]
    for bad in ([_res(1, 1)], [_res(1, 1)] * 3):  # one image / odd count with 'half'
        head.num_reversed_images = 'half'
        with pytest.raises(ValueError, match='ReversedClassBatchSampler'):
            head.reversed_mask(bad)
    assert BBNBBoxHead(**HEAD).reversed_mask([_res(1, 1)]) is None  # RoI level
    with pytest.raises(ValueError, match='num_reversed_images'):
        BBNBBoxHead(**HEAD, num_reversed_images='all')


def test_bbn_partners_come_from_the_reversed_images_class_reversed():
    torch.manual_seed(0)
    head = BBNBBoxHead(**HEAD, num_reversed_images='half')
    # uniform images: 4 fg (class 0) + 4 bg; reversed images: 30 x class 0, 2 x class 2, 5 bg
    y = torch.tensor([0] * 4 + [3] * 4 + [0] * 30 + [2] * 2 + [3] * 5)
    rev = torch.tensor([False] * 8 + [True] * 37)
    picks = torch.stack([head.sample_partners(y, torch.ones(45), pool=rev, anchors=~rev)
                         for _ in range(200)])
    assert bool((picks[:, 8:] == torch.arange(8, 45)).all())     # non-anchors keep themselves
    fg_p, bg_p = picks[:, :4].flatten(), picks[:, 4:8].flatten()
    assert bool(rev[fg_p].all() & rev[bg_p].all())                # partners: reversed images
    assert bool((y[fg_p] < C).all() & (y[bg_p] == C).all())        # fg <-> fg, bg <-> bg
    # class 2 (n = 1) vs class 0 (n = 100): drawn 100 : 1 although 2 vs 30 RoIs
    assert (y[fg_p] == 2).float().mean().item() == pytest.approx(100 / 101, abs=0.02)


def test_bbn_image_level_loss_uses_uniform_rois_for_ce_and_boxes():
    torch.manual_seed(0)
    head = BBNBBoxHead(**HEAD, num_reversed_images='half').train()
    head.set_training_progress(0.0)  # alpha = 1: conventional term only
    x = torch.randn(6, 4, 2, 2)
    out, reg = head(x)
    cls = out.logits
    y = torch.tensor([0, 3, 1, 2, 3, 3])
    lw = torch.ones(6)
    tgt, bw = torch.randn(6, 4), torch.zeros(6, 4)
    bw[[0, 2, 3]] = 1.0
    rois = torch.zeros(6, 5)

    class Res:  # two images of 3 RoIs each: the second ('half') is the reversed one
        priors = torch.zeros(3, 4)
    losses = head.loss(out, reg, rois, y, lw, tgt, bw, sampling_results=[Res(), Res()])
    uni = [0, 1, 2]
    assert losses['loss_cls'].item() == pytest.approx(
        F.cross_entropy(cls[uni], y[uni]).item(), rel=1e-5)
    ref = BBNBBoxHead(**HEAD)
    ref.load_state_dict(head.state_dict())
    want = ref.loss_bbox(reg[[0, 2]].view(2, C, 4)[torch.arange(2), y[[0, 2]]], tgt[[0, 2]],
                         bw[[0, 2]], avg_factor=3)
    assert losses['loss_bbox'].item() == pytest.approx(want.item(), rel=1e-5)
    with pytest.raises(ValueError, match='sampling results'):
        head.loss(out, reg, rois, y, lw, tgt, bw)


# ------------------------------------------------------------------ RIDE
def test_ride_deferred_reweighting_switches_on_at_80_percent():
    head = RIDEBBoxHead(**HEAD).train()
    assert head.alpha_at(0.79) == 0.0 and head.alpha_at(0.8) == 1.0
    assert RIDEBBoxHead(**HEAD, reweight_start=None).alpha_at(1.0) == 0.0
    torch.manual_seed(0)
    out, _ = head(torch.randn(5, 4, 2, 2))
    cls, experts = out.logits, out.extras['expert_logits']
    y = torch.tensor([0, 1, 2, 3, 3])
    lw = torch.ones(5)
    counts = torch.tensor(COUNTS + [100.0])
    margins = ldam_margins(counts, 0.5)
    for progress, drw in ((0.5, False), (0.9, True)):
        head.set_training_progress(progress)
        got = head.cls_loss(cls, y, lw, 5.0, out.extras)
        want = ride_loss(experts, y, lw, 5.0, margins, 30.0,
                         diversity_temperature(counts, 1.0, 0.05) if drw else 1.0, -0.2,
                         effective_number_weights(counts) if drw else None)
        for k in ('loss_cls', 'loss_diversity'):
            assert got[k].item() == pytest.approx(want[k].item(), rel=1e-5), (progress, k)


def test_effective_number_weights_hand_values():
    n = torch.tensor([1.0, 10.0, 100.0], dtype=torch.float64)
    raw = [(1 - 0.9999) / (1 - 0.9999 ** k) for k in (1, 10, 100)]
    want = [3 * r / sum(raw) for r in raw]
    assert effective_number_weights(n).tolist() == pytest.approx(want, rel=1e-9)
    assert float(effective_number_weights(n).sum()) == pytest.approx(3.0)


def test_ride_router_shares_its_last_fc_by_default():
    head = RIDEBBoxHead(**HEAD, num_experts=3, router=dict(top_k=2))
    assert len(head.router_fc) == 1 and len(head.router_hidden) == 2
    assert len(RIDEBBoxHead(**HEAD, router=dict(top_k=2, share_fc=False)).router_fc) == 2


# ------------------------------------------------------------------ DiVE
DIVE = 'configs/recognition/dive_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'


def _dive_models(load_cfg, tmp_path, teacher_classes=10):
    from conftest import build_model
    cfg = load_cfg(DIVE)
    student_cfg = copy.deepcopy(cfg.model)
    student_cfg.roi_head.bbox_head.pop('class_counts_file')
    student_cfg.roi_head.bbox_head.class_counts = list(range(1, 11))
    soft = copy.deepcopy(cfg.model)
    soft.type = 'FasterRCNN'
    soft.pop('teacher')
    soft.roi_head.bbox_head = dict(type='Shared2FCBBoxHead', in_channels=64, fc_out_channels=256,
                                   roi_feat_size=7, num_classes=teacher_classes)
    teacher = build_model(soft)
    with torch.no_grad():
        for p in teacher.parameters():
            p.add_(0.01 * torch.randn_like(p))  # unlike the student's initial weights
    ckpt = tmp_path / f'softmax_{teacher_classes}.pth'
    torch.save({'state_dict': teacher.state_dict()}, ckpt)
    student_cfg.teacher.checkpoint = str(ckpt)
    return build_model(student_cfg), teacher


def test_dive_teacher_is_a_frozen_whole_detector(load_cfg, tmp_path):
    from mmdet.structures.bbox import bbox2roi
    student, trained = _dive_models(load_cfg, tmp_path)
    assert type(student).__name__ == 'TeacherTwoStageDetector'
    student.init_weights()
    t = student.teacher
    for k, v in trained.state_dict().items():
        assert torch.equal(t.state_dict()[k], v), k
    assert not any(p.requires_grad for p in t.parameters())
    assert not any(k.startswith('teacher') for k in student.state_dict())
    student.train()
    assert student.roi_head.training and not t.training
    assert not any(m.training for m in t.modules())
    # the scorer runs the teacher's own backbone, neck and RoI head on the same images
    torch.manual_seed(0)
    images = torch.randn(2, 3, 128, 128)
    rois = bbox2roi([torch.tensor([[0., 0., 60., 60.], [10., 20., 90., 100.]]),
                     torch.tensor([[5., 5., 50., 70.]])])
    trained.eval()
    with torch.no_grad():
        want = trained.roi_head._bbox_forward(trained.extract_feat(images), rois)['cls_score']
        got = student.teacher_scorer(images)(rois)
        from_student_feats = student.roi_head._bbox_forward(  # train mode: TrainingLogits
            student.extract_feat(images), rois)['cls_score'].logits
    assert torch.allclose(got, want, atol=1e-5)
    assert not torch.allclose(got, from_student_feats, atol=1e-3)


def test_dive_detector_hands_the_scorer_to_the_head_for_one_step(load_cfg, tmp_path,
                                                                  monkeypatch):
    from mmdet.models.detectors import TwoStageDetector
    student, _ = _dive_models(load_cfg, tmp_path)
    head = student.roi_head.bbox_head
    seen = {}

    def fake_loss(self, inputs, samples):
        seen['scorer'] = head._scorer
        return {}
    monkeypatch.setattr(TwoStageDetector, 'loss', fake_loss)
    student.loss(torch.zeros(1, 3, 64, 64), [])
    assert callable(seen['scorer']) and head._scorer is None


def test_dive_teacher_errors_name_the_checkpoint(load_cfg, tmp_path):
    student, _ = _dive_models(load_cfg, tmp_path, teacher_classes=5)
    with pytest.raises(ValueError, match=r'softmax_5\.pth.*classifies 5 classes'):
        student.init_weights()
    student.teacher_cfg['checkpoint'] = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match='train the teacher first'):
        student.load_teacher()
    from conftest import build_model
    cfg = load_cfg(DIVE).model
    cfg.teacher = dict()
    with pytest.raises(ValueError, match='teacher=dict'):
        build_model(cfg)
