"""SEF-style grouped sub-feature regularizer (Luo et al., "Learning Semantically Enhanced Feature
for Fine-Grained Image Classification", IEEE SPL 2020). Written from the paper's description only
(its reference code is GPL-3.0 and was not read)."""
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from .base import RecognitionBBoxHead, kl_to_target


def channel_correlation(feats: Tensor) -> Tensor:
    """(N, C, H, W) -> (N, C, C) Pearson correlation of channel maps over spatial positions."""
    x = feats.flatten(2)
    x = x - x.mean(-1, keepdim=True)
    x = F.normalize(x, dim=-1, eps=1e-6)
    return x @ x.transpose(1, 2)


def group_decorrelation_loss(feats: Tensor, num_groups: int) -> Tensor:
    r"""Semantic grouping: channels of one group correlate, groups decorrelate.

    .. math:: L_{grp} = \mathrm{mean}_{g(i)\ne g(j)} R_{ij}^2
              + \mathrm{mean}_{g(i)=g(j),\,i\ne j} \tfrac{1}{2}(1 - R_{ij})

    with R the per-RoI channel correlation matrix and g(i) = i // (C/K) the channel's group.
    """
    n, c = feats.shape[:2]
    if n == 0:
        return feats.sum() * 0.
    r = channel_correlation(feats)
    g = torch.arange(c, device=feats.device) // (c // num_groups)
    same = g[:, None] == g[None, :]
    eye = torch.eye(c, dtype=torch.bool, device=feats.device)
    inter = r[:, ~same].pow(2).mean()
    intra_mask = same & ~eye
    intra = (0.5 * (1 - r[:, intra_mask])).mean() if intra_mask.any() else r.sum() * 0.
    return inter + intra


@MODELS.register_module()
class SEFBBoxHead(RecognitionBBoxHead):
    r"""RoI head with K channel groups of the RoI feature map, each with its own classifier.

    .. math:: L = CE(s, y) + \lambda_g L_{grp} + \lambda_{kd}\,\frac{T^2}{K}\sum_k
              KL\big(softmax(s/T)\,\|\,softmax(s_k/T)\big)

    s: global logits (the usual fc head), s_k = W_k avgpool(x_k) the k-th group's logits from its
    C/K channels; the global prediction is the (detached) teacher of the groups. L_grp is computed
    on foreground RoIs. Test: global logits only. Defaults K=4, lambda_g=lambda_kd=1, T=1.
    """

    def __init__(self, *args, num_groups: int = 4, group_weight: float = 1.0,
                 kd_weight: float = 1.0, temperature: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        if self.in_channels % num_groups:
            raise ValueError(f'SEFBBoxHead: in_channels={self.in_channels} is not divisible by '
                             f'num_groups={num_groups}')
        self.num_groups = num_groups
        self.group_weight, self.kd_weight, self.temperature = group_weight, kd_weight, temperature
        self.group_cls = nn.ModuleList(
            nn.Linear(self.in_channels // num_groups, self.num_classes + 1)
            for _ in range(num_groups))

    def group_logits(self, roi_feats: Tensor):
        pooled = roi_feats.mean((2, 3))
        return [cls(p) for cls, p in zip(self.group_cls, pooled.chunk(self.num_groups, dim=1))]

    def classify(self, feat: Tensor, roi_feats: Tensor) -> Tensor:
        if self.training:
            self._aux['roi_feats'] = roi_feats
            self._aux['group_logits'] = self.group_logits(roi_feats)
        return self.fc_cls(feat)

    def cls_loss(self, cls_score, labels, label_weights, avg_factor) -> Dict[str, Tensor]:
        losses = super().cls_loss(cls_score, labels, label_weights, avg_factor)
        fg = (labels < self.num_classes) & (label_weights > 0)
        losses['loss_group'] = self.group_weight * group_decorrelation_loss(
            self._aux['roi_feats'][fg], self.num_groups)
        t = self.temperature
        teacher = F.softmax(cls_score.detach() / t, -1)
        kd = sum(kl_to_target(F.log_softmax(g / t, -1), teacher, label_weights, avg_factor)
                 for g in self._aux['group_logits'])
        losses['loss_group_kd'] = self.kd_weight * t ** 2 * kd / self.num_groups
        return losses
