"""SEF grouped sub-feature regularizers on the RoI feature (Luo et al., "Learning Semantically
Enhanced Feature for Fine-Grained Image Classification", IEEE SPL 2020).

Facts (loss terms, weights, group split) from the released code, cswluo/SEF (``main.py``,
``modellearning.py``, ``sef.py``; GPL-3.0: read for facts only, no code taken):

* K channel groups of the last feature map (the last group takes the remainder), each with its
  own linear classifier on its average-pooled channels; the global classifier sees all channels.
* Semantic grouping ("local max, global min"), weight 1 (``lmgm``): with R the cosine similarity
  of the channel maps (each channel's spatial map l2-normalised, not mean-centred),
  ``0.5 * (mean_k mean_{i,j in G_k}(1 - R_ij^2) + mean_{k>l} mean_{i in G_k, j in G_l} R_ij^2)``.
* Knowledge transfer from the global prediction to each group, weight 0.05 (``soft``):
  ``(1/K) sum_k H(p_global, p_k)`` with the global probabilities not detached.
* Maximum-entropy term on the global prediction, weight 1 (``entropy``): ``sum_c p log p``.
* Test: the global classifier only.
"""
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from .base import RecognitionBBoxHead


def group_sizes(channels: int, num_groups: int) -> List[int]:
    """K-1 groups of ``channels // K`` channels and a last group with the remainder (SEF)."""
    if not 1 <= num_groups <= channels:
        raise ValueError(f'num_groups={num_groups} must be in [1, channels={channels}]')
    size = channels // num_groups
    return [size] * (num_groups - 1) + [channels - size * (num_groups - 1)]


def channel_similarity(feats: Tensor, centered: bool = False) -> Tensor:
    """(N, C, H, W) -> (N, C, C) cosine similarity of the channel maps over spatial positions
    (SEF); ``centered=True``: Pearson correlation (maps mean-centred first)."""
    x = feats.flatten(2)
    if centered:
        x = x - x.mean(-1, keepdim=True)
    x = F.normalize(x, dim=-1, eps=1e-6)
    return x @ x.transpose(1, 2)


def group_decorrelation_loss(feats: Tensor, num_groups: int, centered: bool = False) -> Tensor:
    r"""SEF semantic grouping: channels of a group similar, channels of different groups not.

    .. math:: L = \tfrac12\Big(\tfrac1K\sum_k \mathrm{mean}_{i,j\in G_k}(1 - R_{ij}^2)
              + \tfrac{2}{K(K-1)}\sum_{k>l}\mathrm{mean}_{i\in G_k, j\in G_l} R_{ij}^2\Big)

    R: :func:`channel_similarity`; the means run over the RoIs as well. No RoI: 0 (with grad).
    """
    n, c = feats.shape[:2]
    if n == 0:
        return feats.sum() * 0.
    r2 = channel_similarity(feats, centered).pow(2)
    edges = [0]
    for s in group_sizes(c, num_groups):
        edges.append(edges[-1] + s)
    intra, inter = [], []
    for k in range(num_groups):
        a, b = edges[k], edges[k + 1]
        intra.append((1 - r2[:, a:b, a:b]).mean())
        for m in range(k):
            inter.append(r2[:, a:b, edges[m]:edges[m + 1]].mean())
    loss = sum(intra) / num_groups
    if inter:
        loss = loss + sum(inter) / len(inter)
    return 0.5 * loss


@MODELS.register_module()
class SEFBBoxHead(RecognitionBBoxHead):
    r"""RoI head with K channel groups of the RoI feature map, each with its own classifier.

    .. math:: L = CE(s, y) + \lambda_g L_{grp} + \lambda_{soft}\,\tfrac1K\sum_k
              H\big(softmax(s),\, softmax(s_k)\big) + \lambda_{ent} \sum_c p_c \log p_c

    s: global logits (the usual fc head), s_k = W_k avgpool(x_k) the k-th group's logits from its
    channels (see the module docstring for the facts and defaults: K=4, lambda_g=1,
    lambda_soft=0.05, lambda_ent=1). L_grp is computed on the foreground RoIs (a detection
    choice: background RoIs are most of the batch); the other terms on every sampled RoI, averaged
    like the CE. ``detach_global=True`` stops the transfer term's gradient into the global branch
    (SEF lets it through). Test: global logits only.

    Measured on the built-in long-tail split (``compare.py recognition``, 1500 iterations, 3
    paired seeds; docs/results/recognition_1500.notes.md): the release's weights cost 8.3 AP
    against softmax CE. Without the entropy term (``entropy_weight=0``) it still costs 5.9 AP
    (3/3): L_grp, applied here to the FPN RoI feature that the box branch shares, leaves ~4
    distinct channel maps of 64 (participation ratio 3.8 vs softmax CE's 6.1-6.4, intra-group
    R^2 0.97-0.98; ``tools/analysis/probe_channel_groups.py``). Defaults kept (the release's).
    """

    def __init__(self, *args, num_groups: int = 4, group_weight: float = 1.0,
                 soft_weight: float = 0.05, entropy_weight: float = 1.0,
                 detach_global: bool = False, centered: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.sizes = group_sizes(self.in_channels, num_groups)
        self.num_groups = num_groups
        self.group_weight, self.soft_weight = group_weight, soft_weight
        self.entropy_weight, self.detach_global = entropy_weight, detach_global
        self.centered = centered
        self.group_cls = nn.ModuleList(nn.Linear(s, self.num_classes + 1) for s in self.sizes)

    def group_logits(self, roi_feats: Tensor):
        pooled = roi_feats.mean((2, 3))
        return [cls(p) for cls, p in zip(self.group_cls, pooled.split(self.sizes, dim=1))]

    def classify(self, feat: Tensor, roi_feats: Tensor) -> Tuple[Tensor, dict]:
        extras = {}
        if self.training:
            extras = dict(roi_feats=roi_feats, group_logits=self.group_logits(roi_feats))
        return self.fc_cls(feat), extras

    def cls_loss(self, cls_score, labels, label_weights, avg_factor,
                 extras: Optional[dict] = None) -> Dict[str, Tensor]:
        losses = super().cls_loss(cls_score, labels, label_weights, avg_factor)
        fg = (labels < self.num_classes) & (label_weights > 0)
        losses['loss_group'] = self.group_weight * group_decorrelation_loss(
            self.extra(extras, 'roi_feats')[fg], self.num_groups, self.centered)
        p_global = F.softmax(cls_score, -1)
        p_teacher = p_global.detach() if self.detach_global else p_global
        soft = sum((-(p_teacher * F.log_softmax(g, -1)).sum(-1) * label_weights).sum()
                   for g in self.extra(extras, 'group_logits')) / (avg_factor * self.num_groups)
        losses['loss_group_kd'] = self.soft_weight * soft
        neg_entropy = ((p_global * F.log_softmax(cls_score, -1)).sum(-1) * label_weights).sum()
        losses['loss_entropy'] = self.entropy_weight * neg_entropy / avg_factor
        return losses
