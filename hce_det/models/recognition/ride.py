"""RIDE: routing diverse distribution-aware experts (Wang et al., ICLR 2021;
facts: frank-xwang/RIDE-LongTailRecognition model/loss.py)."""
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from .base import RecognitionBBoxHead, kl_to_target, weighted_ce


class CosineClassifier(nn.Module):
    """logits = s * <x/|x|, w_c/|w_c|> (RIDE's normed linear, scale 30)."""

    def __init__(self, in_features: int, out_features: int, scale: float = 30.0):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-1, 1))
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        return self.scale * F.normalize(x, dim=1) @ F.normalize(self.weight, dim=1).t()


def ldam_margins(counts: Tensor, max_m: float = 0.5) -> Tensor:
    """m_c ∝ n_c^(-1/4), max margin ``max_m``; ``counts`` is (C+1,) incl. background."""
    m = counts.pow(-0.25)
    return m * (max_m / m.max())


def diversity_temperature(counts: Tensor, base_t: float = 1.0, reweight: float = 0.05) -> Tensor:
    """T_c = T * w_c / max(w), w_c = C * pi_c * beta + 1 - beta (RIDE loss.py, 'Eq.3')."""
    pi = counts / counts.sum()
    w = counts.numel() * pi * reweight + 1 - reweight
    return base_t * w / w.max()


def ride_loss(expert_logits: List[Tensor], labels: Tensor, weights: Tensor, avg_factor: float,
              margins: Tensor = None, scale: float = 30.0, temperature=1.0,
              diversity_factor: float = -0.2) -> Dict[str, Tensor]:
    r"""Per-expert LDAM-CE plus distribution-aware diversity.

    .. math:: L = \sum_k CE(\ell_k - s\,m_y\,1_y, y) + \lambda\,\bar T^2\,
              KL(softmax(\bar\ell/T)\,\|\,softmax(\ell_k/T)),\qquad \bar\ell = \tfrac1K\sum_k\ell_k

    with :math:`\bar\ell` detached and :math:`\lambda=-0.2` (negative: pushes experts apart).
    """
    mean = torch.stack(expert_logits).mean(0).detach()
    t = temperature if torch.is_tensor(temperature) else torch.tensor(float(temperature))
    t = t.to(mean.device)
    t_mean = float(t.mean())
    ce = 0.
    div = 0.
    for logits in expert_logits:
        adj = logits
        if margins is not None:
            adj = logits - scale * F.one_hot(labels, logits.shape[1]) * margins[labels, None]
        ce = ce + weighted_ce(adj, labels, weights, avg_factor)
        div = div + kl_to_target(F.log_softmax(logits / t, -1), F.softmax(mean / t, -1),
                                 weights, avg_factor)
    return dict(loss_cls=ce, loss_diversity=diversity_factor * t_mean ** 2 * div)


class MultiExpertMixin:
    """K experts on the shared trunk: each a private fc + classifier; output = mean of logits."""

    def _build_experts(self, num_experts: int, classifier: str, scale: float) -> None:
        if num_experts < 1:
            raise ValueError(f'num_experts must be >= 1, got {num_experts}')
        self.num_experts = num_experts
        d = self.fc_out_channels
        self.expert_fcs = nn.ModuleList(nn.Linear(d, d) for _ in range(num_experts))
        if classifier == 'cosine':
            make = lambda: CosineClassifier(d, self.num_classes + 1, scale)  # noqa: E731
        elif classifier == 'linear':
            make = lambda: nn.Linear(d, self.num_classes + 1)  # noqa: E731
        else:
            raise ValueError(f"classifier must be 'cosine' or 'linear', got {classifier!r}")
        self.fc_cls = nn.ModuleList(make() for _ in range(num_experts))

    def expert_logits(self, feat: Tensor) -> List[Tensor]:
        return [cls(self.relu(fc(feat))) for fc, cls in zip(self.expert_fcs, self.fc_cls)]


@MODELS.register_module()
class RIDEBBoxHead(MultiExpertMixin, RecognitionBBoxHead):
    r"""RIDE multi-expert RoI classifier: K experts share the trunk (shared fcs), each with its own
    last fc and cosine classifier (scale 30); the output is the mean of expert logits.

    .. math:: L = \sum_k \big[CE_{LDAM}(\ell_k, y) + \lambda\,\bar T^2\,
              KL(softmax(\bar\ell/T_c)\,\|\,softmax(\ell_k/T_c))\big]

    ``ldam=True`` uses LDAM margins m_c ∝ n_c^(-1/4) (max 0.5, times s); ``class_temperature=True``
    uses RIDE's class-dependent T_c. The dynamic expert router (stage 2) is not implemented.
    """

    def __init__(self, *args, num_experts: int = 3, scale: float = 30.0, ldam: bool = True,
                 max_margin: float = 0.5, diversity_factor: float = -0.2,
                 diversity_temperature: float = 1.0, class_temperature: bool = True,
                 reweight_factor: float = 0.05, **kwargs):
        super().__init__(*args, **kwargs)
        self._build_experts(num_experts, 'cosine', scale)
        self.scale, self.ldam, self.max_margin = scale, ldam, max_margin
        self.diversity_factor = diversity_factor
        self.base_temperature = diversity_temperature
        self.class_temperature = class_temperature
        self.reweight_factor = reweight_factor

    def classify(self, feat: Tensor, roi_feats: Tensor) -> Tensor:
        logits = self.expert_logits(feat)
        if self.training:
            self._aux['expert_logits'] = logits
        return torch.stack(logits).mean(0)

    def _counts_with_bg(self, device) -> Tensor:
        n = self.class_counts(device)
        return torch.cat([n, n.max().view(1)])

    def cls_loss(self, cls_score, labels, label_weights, avg_factor) -> Dict[str, Tensor]:
        counts = None
        if self.ldam or self.class_temperature:
            counts = self._counts_with_bg(cls_score.device)
        margins = ldam_margins(counts, self.max_margin) if self.ldam else None
        temp = (diversity_temperature(counts, self.base_temperature, self.reweight_factor)
                if self.class_temperature else self.base_temperature)
        return ride_loss(self._aux['expert_logits'], labels, label_weights, avg_factor, margins,
                         self.scale, temp, self.diversity_factor)
