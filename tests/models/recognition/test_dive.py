"""DiVE: flattened teacher, distillation loss against a hand computation, teacher checks."""
import math

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from conftest import TINY_C as C, TINY_HEAD as HEAD, hand_ce, hand_kl, hand_softmax  # noqa: E402
from hce_det.models.recognition import DiVEBBoxHead, dive_loss, flattened_teacher  # noqa: E402


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
    bsce = sum(hand_ce([si + li for si, li in zip(s[i], lp)], y[i]) for i in range(2)) / 2
    kd = 0.
    for i in range(2):
        tt = [v ** p for v in hand_softmax([v / tau for v in t[i]])]
        tt = [v / sum(tt) for v in tt]
        kd += hand_kl(tt, hand_softmax([v / tau for v in s[i]]))
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
    # no teacher at all: the head builds (TeacherTwoStageDetector hands it one), the loss refuses
    lone = DiVEBBoxHead(**HEAD).train()
    lone(torch.randn(2, 4, 2, 2))
    with pytest.raises(RuntimeError, match='TeacherTwoStageDetector'):
        lone.cls_loss(torch.zeros(2, C + 1), torch.tensor([0, 3]), torch.ones(2), 2.0)
