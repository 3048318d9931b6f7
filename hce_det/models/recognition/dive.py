"""DiVE: distill the virtual examples (He et al., ICCV 2021, arXiv:2103.15042; no official code)."""
import os.path as osp
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from ...compat import load_from_local
from .base import RecognitionBBoxHead, kl_to_target, weighted_ce


def flattened_teacher(teacher_logits: Tensor, tau: float, power: float) -> Tensor:
    """t~ = normalize(softmax(t / tau) ** p): power-normalized ("flattened") virtual examples."""
    p = F.softmax(teacher_logits / tau, dim=-1).pow(power)
    return p / p.sum(-1, keepdim=True)


def dive_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor, log_prior: Tensor,
              weights: Tensor, avg_factor: float, tau: float = 3.0, power: float = 0.5,
              alpha: float = 0.5) -> Dict[str, Tensor]:
    r""":math:`L = (1-\alpha)\,CE(s + \log\pi, y)
    + \alpha\,\tau^2\,KL(\tilde t\,\|\,softmax(s/\tau))`
    (DiVE, arXiv:2103.15042: KD loss with balanced-softmax CE and power-normalised teacher)."""
    bsce = weighted_ce(student_logits + log_prior, labels, weights, avg_factor)
    target = flattened_teacher(teacher_logits.detach(), tau, power)
    kd = kl_to_target(F.log_softmax(student_logits / tau, dim=-1), target, weights, avg_factor)
    return dict(loss_cls=(1 - alpha) * bsce, loss_distill=alpha * tau ** 2 * kd)


@MODELS.register_module()
class DiVEBBoxHead(RecognitionBBoxHead):
    r"""Student RoI head trained with DiVE against a frozen teacher RoI head.

    .. math:: L = (1-\alpha)\,CE(s + \log\pi, y) + \alpha\,\tau^2\,
              KL\big(\mathrm{norm}(softmax(t/\tau)^p)\,\|\,softmax(s/\tau)\big)

    ``teacher = dict(checkpoint=PATH, prefix='roi_head.bbox_head.', head=None)``: a frozen bbox head
    (default: a ``Shared2FCBBoxHead`` with this head's sizes; or any bbox head config in ``head``)
    whose weights are read from ``checkpoint`` under ``prefix`` in :meth:`init_weights`. The teacher
    scores the student's sampled RoIs from the same RoI features (a *frozen RoI head*, not a second
    backbone). Tau=3, p=0.5, alpha=0.5 are the paper's defaults. Test: plain softmax over ``s``.
    """

    def __init__(self, *args, teacher: Optional[dict] = None, tau: float = 3.0,
                 power: float = 0.5, alpha: float = 0.5, **kwargs):
        super().__init__(*args, **kwargs)
        if not teacher or 'checkpoint' not in teacher:
            raise ValueError("DiVEBBoxHead needs teacher=dict(checkpoint='path/to/teacher.pth')")
        self.teacher_cfg = {**dict(prefix='roi_head.bbox_head.', head=None), **teacher}
        self.tau, self.power, self.alpha = tau, power, alpha
        head = self.teacher_cfg['head'] or dict(
            type='Shared2FCBBoxHead', in_channels=self.in_channels,
            fc_out_channels=self.fc_out_channels, roi_feat_size=self.roi_feat_size,
            num_classes=self.num_classes, with_avg_pool=self.with_avg_pool)
        # kept outside the module tree: not trained, not in the student's checkpoint
        self.__dict__['teacher'] = MODELS.build(head).eval().requires_grad_(False)
        self.teacher_loaded = False

    def load_teacher(self) -> None:
        """Load and freeze the teacher; a class-count mismatch is an error naming the file."""
        ckpt = self.teacher_cfg['checkpoint']
        prefix = self.teacher_cfg['prefix']
        if not osp.isfile(ckpt):
            raise FileNotFoundError(f'DiVE teacher checkpoint {ckpt!r} does not exist '
                                    '(bbox_head.teacher.checkpoint)')
        state = load_from_local(ckpt, map_location='cpu')  # safe loader, explained refusals
        state = state.get('state_dict', state)
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not sub:
            raise KeyError(f'DiVE teacher checkpoint {ckpt!r} has no keys under prefix {prefix!r} '
                           '(bbox_head.teacher.prefix)')
        cls_w = sub.get('fc_cls.weight')
        if cls_w is not None and cls_w.shape[0] != self.num_classes + 1:
            raise ValueError(
                f'DiVE teacher checkpoint {ckpt!r} classifies {cls_w.shape[0] - 1} classes '
                f'({prefix}fc_cls.weight has {cls_w.shape[0]} rows incl. background) but the '
                f'student has num_classes={self.num_classes}; use a teacher trained on the same '
                'classes')
        missing, unexpected = self.teacher.load_state_dict(sub, strict=False)
        if missing:
            raise KeyError(f'DiVE teacher checkpoint {ckpt!r} lacks {missing[:5]} under {prefix!r}')
        self.teacher.eval().requires_grad_(False)
        self.teacher_loaded = True

    def init_weights(self) -> None:
        super().init_weights()
        self.load_teacher()

    def _apply(self, fn, *args, **kwargs):
        self.__dict__['teacher'] = self.teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def classify(self, feat: Tensor, roi_feats: Tensor) -> Tensor:
        if self.training:
            self._aux['roi_feats'] = roi_feats
        return self.fc_cls(feat)

    def cls_loss(self, cls_score, labels, label_weights, avg_factor) -> Dict[str, Tensor]:
        if not self.teacher_loaded:
            self.load_teacher()
        with torch.no_grad():
            t_logits, _ = self.teacher(self._aux['roi_feats'].detach())
        return dive_loss(cls_score, t_logits, labels, self.log_prior(cls_score.device),
                         label_weights, avg_factor, self.tau, self.power, self.alpha)
