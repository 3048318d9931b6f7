"""Recognition heads carry their training tensors from forward to the loss as return values
(``TrainingLogits``), not on the module: a second forward before the loss changes nothing, the
module holds no step tensors, and a loss without them says what is missing."""
import pytest
import torch

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from conftest import TINY_C as C, TINY_HEAD as HEAD  # noqa: E402
from hce_det.models.recognition import (BBNBBoxHead, ContrastiveBBoxHead, MDCSBBoxHead,  # noqa
                                        RIDEBBoxHead, SEFBBoxHead)
from hce_det.models.recognition.base import TrainingLogits, logits_of, map_logits  # noqa: E402

HEADS = {
    'bbn': lambda: BBNBBoxHead(**HEAD),
    'ride': lambda: RIDEBBoxHead(**HEAD, router=dict(top_k=2)),
    'mdcs': lambda: MDCSBBoxHead(**HEAD),
    'sc': lambda: ContrastiveBBoxHead(**HEAD, mode='sc', iou_thr=0.0),
    'psc': lambda: ContrastiveBBoxHead(**HEAD, mode='psc', iou_thr=0.0),
    'sef': lambda: SEFBBoxHead(**HEAD),
}


class _Res:
    """One image's sampling result: 4 positives (IoU 1 with their gts), 2 negatives."""
    pos_priors = torch.tensor([[0., 0., 10., 10.]] * 4)
    pos_gt_bboxes = torch.tensor([[0., 0., 10., 10.]] * 4)
    neg_priors = torch.zeros(2, 4)
    priors = torch.zeros(6, 4)


def _loss(head, out, reg, y):
    torch.manual_seed(1)  # BBN draws its partners in the loss
    return head.loss(out, reg, torch.zeros(6, 5), y, torch.ones(6), torch.zeros(6, 4),
                     torch.zeros(6, 4), sampling_results=[_Res()])


@pytest.mark.parametrize('name', sorted(HEADS))
def test_loss_reads_the_forward_it_is_given(name):
    torch.manual_seed(0)
    head = HEADS[name]().train()
    if hasattr(head, 'alpha'):
        head.alpha.fill_(0.5)  # both terms of the scheduled heads
    y = torch.tensor([0, 1, 2, 0, C, C])
    x1, x2 = torch.randn(6, 4, 2, 2), torch.randn(6, 4, 2, 2)
    out1, reg1 = head(x1)
    assert isinstance(out1, TrainingLogits) and out1.logits.shape == (6, C + 1)
    assert out1.extras  # the tensors the loss needs besides the logits
    want = {k: float(v) for k, v in _loss(head, out1, reg1, y).items()}
    head(x2)  # another forward before the loss: with state on the module it would win
    got = {k: float(v) for k, v in _loss(head, out1, reg1, y).items()}
    assert got == pytest.approx(want, rel=1e-6)
    other = {k: float(v) for k, v in _loss(head, *head(x2), y).items()}
    assert other['loss_cls'] != pytest.approx(want['loss_cls'], rel=1e-4)
    # no step tensors parked on the module (the lazily loaded class counts are configuration)
    internals = set(vars(torch.nn.Module()))  # parameters, buffers, submodules
    step = [k for k, v in vars(head).items() if k not in internals and (
        torch.is_tensor(v) or isinstance(v, (list, dict)) and
        any(torch.is_tensor(t) for t in (v.values() if isinstance(v, dict) else v)))]
    assert set(step) <= {'_counts'}, step
    head.eval()
    with torch.no_grad():
        assert torch.is_tensor(head(x1)[0])  # inference: plain logits for mmdet's predict


@pytest.mark.parametrize('name', ['bbn', 'mdcs', 'sef'])
def test_loss_without_the_training_tensors_names_them(name):
    head = HEADS[name]().train()
    with pytest.raises(ValueError, match='training-mode forward'):
        head.cls_loss(torch.zeros(6, C + 1), torch.zeros(6, dtype=torch.long), torch.ones(6),
                      6.0, {})


def test_logits_helpers_and_per_roi_reduction_refused():
    t = torch.randn(3, C + 1)
    out = TrainingLogits(t, dict(f=torch.ones(1)))
    assert logits_of(out) is t and logits_of(t) is t and logits_of(None) is None
    shifted = map_logits(out, lambda s: s + 1)  # HCE's trained late fusion: s_det + s_ctx
    assert torch.equal(shifted.logits, t + 1) and shifted.extras is out.extras
    assert torch.equal(map_logits(t, lambda s: s * 2), t * 2)
    head = SEFBBoxHead(**HEAD).train()
    with pytest.raises(ValueError, match='OHEM'):
        head.loss(out, None, torch.zeros(3, 5), torch.zeros(3, dtype=torch.long), torch.ones(3),
                  None, None, reduction_override='none')


def test_cascade_refinement_reads_the_logits_of_a_training_output():
    """Cascade R-CNN refines a stage's RoIs from its training ``cls_score``: a recognition
    head's :class:`TrainingLogits` gives the same boxes as its plain logits."""
    torch.manual_seed(0)
    head = SEFBBoxHead(**HEAD).train()
    out, reg = head(torch.randn(6, 4, 2, 2))
    rois = torch.cat([torch.zeros(6, 1), torch.tensor([[0., 0., 10., 10.]] * 6)], 1)

    class Res:
        pos_is_gt = torch.tensor([1, 0, 0, 0], dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0, C, C])  # background RoIs take the argmax class
    res = dict(rois=rois, bbox_pred=reg.detach(), bbox_targets=(labels, ))
    metas = [dict(img_shape=(32, 32))]
    got = head.refine_bboxes([Res()], {**res, 'cls_score': out}, metas)
    want = head.refine_bboxes([Res()], {**res, 'cls_score': out.logits}, metas)
    assert len(got[0].bboxes) == 5 and torch.equal(got[0].bboxes, want[0].bboxes)
