"""MDCS: more diverse experts with consistency self-distillation (Zhao et al., ICCV 2023;
facts: fistyee/MDCS model/loss.py MDCSLoss)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from .base import RecognitionBBoxHead, ScheduledMixin, kl_to_target, weighted_ce
from .ride import MultiExpertMixin


def mdcs_loss(expert_logits: List[Tensor], view2_logits: List[Tensor], labels: Tensor,
              log_counts: Tensor, q: Sequence[float], weights: Tensor, avg_factor: float,
              cs_weight: float = 0.6, temperature: float = 1.0) -> Dict[str, Tensor]:
    r"""Diversity loss plus consistency self-distillation.

    .. math:: L = \sum_k \tfrac12\big[CE(\hat\ell^{(1)}_k, y) + CE(\hat\ell^{(2)}_k, y)\big]
              + w\,\sum_k T^2\,
              KL\big(softmax(\hat\ell^{(1)}_k/T)\,\|\,softmax(\hat\ell^{(2)}_k/T)\big)|_{S_k}

    :math:`\hat\ell = \ell + q_k\log n` (expert k's adjusted logits), view (1) detached as teacher,
    view (2) the student, :math:`S_k` the RoIs whose teacher argmax equals the label. The CE is
    over both views (MDCS ``MDCSLoss``: the batch holds both views and CE is their mean).
    """
    ce, cs = 0., 0.
    for k, (l1, l2) in enumerate(zip(expert_logits, view2_logits)):
        a1, a2 = l1 + q[k] * log_counts, l2 + q[k] * log_counts
        ce = ce + 0.5 * (weighted_ce(a1, labels, weights, avg_factor) +
                         weighted_ce(a2, labels, weights, avg_factor))
        teacher = F.softmax(a1.detach() / temperature, -1)
        sel = (teacher.argmax(-1) == labels) & (weights > 0)
        if sel.any():
            cs = cs + temperature ** 2 * kl_to_target(
                F.log_softmax(a2[sel] / temperature, -1), teacher[sel], weights[sel],
                float(sel.sum()))
    if not torch.is_tensor(cs):
        cs = torch.stack(view2_logits).sum() * 0.
    return dict(loss_cls=ce, loss_consistency=cs_weight * cs)


@MODELS.register_module()
class MDCSBBoxHead(ScheduledMixin, MultiExpertMixin, RecognitionBBoxHead):
    r"""MDCS multi-expert RoI classifier (3 experts on the shared trunk, linear classifiers).

    .. math:: L = \sum_k CE(\ell_k + q_k\log n_c, y) + 0.6\,\min(t/t_w, 1)\,L_{CS}

    q = (-0.5, 1, 2.5): head, balanced and tail experts. Experts end in cosine classifiers with
    scale 30 (MDCS configs: ``use_norm: true``, s = 30; ``classifier='linear'`` for a plain fc).
    Consistency self-distillation needs two views of a sample; for RoIs the second view is the
    same RoI feature under dropout (``view_dropout``) through the experts; the CE is over both
    views. The warm-up factor min(t/t_w, 1) is driven by ``CumulativeAlphaHook`` (``warmup`` as a
    fraction of training, MDCS: 20 of 400 epochs). Test: mean of the raw expert logits.
    Background uses log n_max (module base docstring).
    """

    def __init__(self, *args, q: Sequence[float] = (-0.5, 1.0, 2.5), cs_weight: float = 0.6,
                 warmup: float = 0.05, view_dropout: float = 0.2, temperature: float = 1.0,
                 classifier: str = 'cosine', scale: float = 30.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.q = tuple(float(v) for v in q)
        self._build_experts(len(self.q), classifier, scale)
        self.cs_weight, self.warmup, self.temperature = cs_weight, warmup, temperature
        self.view_dropout = nn.Dropout(view_dropout)
        self._init_alpha(0.0)

    def alpha_at(self, progress: float) -> float:
        """Warm-up weight of the consistency term: min(p / warmup, 1)."""
        return 1.0 if self.warmup <= 0 else min(max(progress, 0.0) / self.warmup, 1.0)

    def classify(self, feat: Tensor, roi_feats: Tensor) -> Tuple[Tensor, dict]:
        logits = self.expert_logits(feat)
        extras = {}
        if self.training:
            extras = dict(expert_logits=logits,
                          view2_logits=self.expert_logits(self.view_dropout(feat)))
        return torch.stack(logits).mean(0), extras

    def cls_loss(self, cls_score, labels, label_weights, avg_factor,
                 extras: Optional[dict] = None) -> Dict[str, Tensor]:
        return mdcs_loss(self.extra(extras, 'expert_logits'), self.extra(extras, 'view2_logits'),
                         labels, self.log_prior(cls_score.device), self.q, label_weights,
                         avg_factor, self.cs_weight * float(self.alpha), self.temperature)
