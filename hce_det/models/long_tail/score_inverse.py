"""Logits whose ``loss_cls.get_activation`` gives wanted class scores: the inverse of the test-time
score rule of each sigmoid-family loss, for code that combines scores outside the box head (e.g.
HCE late fusion) and hands them back to mmdet's ``BBoxHead.predict_by_feat``.

Scores are (R, C + 1), background last, as ``get_activation`` returns them:

* :class:`~.losses.LongTailBCELoss` family: ``act(z)`` per class plus a zero column (or the
  activation of the GOL background output) -> ``act.inverse``.
* mmdet ``EQLV2Loss`` (and :class:`~.losses.EQLV2FixedLoss`): ``σ(z_c)(1 − σ(z_bg))``,
  ``σ(z_bg)`` -> logit of ``s_c / (1 − s_bg)`` and of ``s_bg``.
* mmdet ``SeesawLoss``: ``softmax(z_cls)_c · p_obj``, ``1 − p_obj`` (2-way objectness softmax)
  -> ``log(s_c / (1 − s_bg))`` and ``(log(1 − s_bg), log s_bg)``.
"""
import torch
from mmdet.models.losses import EQLV2Loss, SeesawLoss
from torch import Tensor, nn

from .activations import ClsActivation
from .losses import LongTailBCELoss

__all__ = ['has_score_inverse', 'logits_for_scores']


def _unit(p: Tensor) -> Tensor:
    info = torch.finfo(p.dtype)
    return p.clamp(info.tiny, 1 - info.eps)


def has_score_inverse(loss_cls: nn.Module) -> bool:
    """Whether :func:`logits_for_scores` can invert ``loss_cls.get_activation``."""
    return isinstance(loss_cls, (EQLV2Loss, SeesawLoss)) or (
        isinstance(loss_cls, LongTailBCELoss)
        and type(loss_cls.activation).inverse is not ClsActivation.inverse)


def logits_for_scores(loss_cls: nn.Module, scores: Tensor) -> Tensor:
    """Logits z with ``loss_cls.get_activation(z) ≈ scores`` (exact up to the clamps of the
    activation and to the dtype: scores in [tiny, 1 − eps])."""
    if isinstance(loss_cls, LongTailBCELoss):
        n = scores.size(1) - (0 if loss_cls.background_logit else 1)
        return loss_cls.activation.inverse(scores[:, :n])
    bg = _unit(scores[:, -1:])
    cls = _unit(scores[:, :-1] / (1 - bg))
    if isinstance(loss_cls, EQLV2Loss):
        return torch.cat([torch.logit(cls), torch.logit(bg)], dim=1)
    if isinstance(loss_cls, SeesawLoss):
        return torch.cat([cls.log(), torch.log1p(-bg), bg.log()], dim=1)
    raise TypeError(f'no inverse of {type(loss_cls).__name__}.get_activation; supported: '
                    f'LongTailBCELoss family, EQLV2Loss, SeesawLoss')
