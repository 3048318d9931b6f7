"""RIDE: routing diverse distribution-aware experts (Wang et al., ICLR 2021;
facts: frank-xwang/RIDE-LongTailRecognition model/loss.py)."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor

from .base import RecognitionBBoxHead, ScheduledMixin, kl_to_target, weighted_ce


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


def effective_number_weights(counts: Tensor, beta: float = 0.9999) -> Tensor:
    """Class-balanced weights w_c = (1 - beta) / (1 - beta^n_c), normalised to sum to the number
    of classes (Cui et al. 2019; RIDE/LDAM-DRW ``per_cls_weights``, beta = 0.9999)."""
    w = (1.0 - beta) / (1.0 - torch.pow(torch.as_tensor(beta, dtype=counts.dtype), counts))
    return w / w.sum() * counts.numel()


def class_weighted_ce(logits: Tensor, labels: Tensor, weights: Tensor,
                      class_weights: Tensor) -> Tensor:
    """sum_i w_i c_{y_i} CE_i / sum_i w_i c_{y_i}: ``F.cross_entropy(weight=c)``'s weighted mean
    with the RoI weights w folded in."""
    w = weights * class_weights[labels]
    return (F.cross_entropy(logits, labels, reduction='none') * w).sum() / w.sum().clamp(
        min=1e-12)


def _check_expert_reduction(expert_reduction: str) -> str:
    if expert_reduction not in ('sum', 'mean'):
        raise ValueError(f"expert_reduction must be 'sum' or 'mean', got {expert_reduction!r}")
    return expert_reduction


def ride_loss(expert_logits: List[Tensor], labels: Tensor, weights: Tensor, avg_factor: float,
              margins: Tensor = None, scale: float = 30.0, temperature=1.0,
              diversity_factor: float = -0.2,
              class_weights: Optional[Tensor] = None,
              expert_reduction: str = 'sum') -> Dict[str, Tensor]:
    r"""Per-expert LDAM-CE plus distribution-aware diversity.

    .. math:: L = \sum_k CE(\ell_k - s\,m_y\,1_y, y) + \lambda\,\bar T^2\,
              KL(softmax(\bar\ell/T)\,\|\,softmax(\ell_k/T)),\qquad \bar\ell = \tfrac1K\sum_k\ell_k

    with :math:`\bar\ell` detached and :math:`\lambda=-0.2` (negative: pushes experts apart).
    ``class_weights`` (the deferred re-weighting phase): the CE becomes the class-weighted mean
    of ``F.cross_entropy(weight=...)``. ``expert_reduction='mean'`` divides both sums by K (the
    classification gradient one head's worth, next to the box regression on the same trunk);
    ``'sum'`` is RIDE's.
    """
    _check_expert_reduction(expert_reduction)
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
        if class_weights is None:
            ce = ce + weighted_ce(adj, labels, weights, avg_factor)
        else:
            ce = ce + class_weighted_ce(adj, labels, weights, class_weights)
        div = div + kl_to_target(F.log_softmax(logits / t, -1), F.softmax(mean / t, -1),
                                 weights, avg_factor)
    k = len(expert_logits) if expert_reduction == 'mean' else 1
    return dict(loss_cls=ce / k, loss_diversity=diversity_factor * t_mean ** 2 * div / k)


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
class RIDEBBoxHead(ScheduledMixin, MultiExpertMixin, RecognitionBBoxHead):
    r"""RIDE multi-expert RoI classifier: K experts share the trunk (shared fcs), each with its own
    last fc and cosine classifier (scale 30); the output is the mean of expert logits.

    .. math:: L = \sum_k \big[CE_{LDAM}(\ell_k, y) + \lambda\,\bar T^2\,
              KL(softmax(\bar\ell/T_c)\,\|\,softmax(\ell_k/T_c))\big]

    ``ldam=True`` uses LDAM margins m_c ∝ n_c^(-1/4) (max 0.5, times s).

    Deferred re-weighting (RIDE ``RIDELoss(reweight=True, reweight_epoch=...)``: CIFAR 160 of 200
    epochs, ImageNet-LT 80 of 100): from ``reweight_start`` (fraction of the run, default 0.8) on,
    the LDAM-CE uses the class-balanced weights of :func:`effective_number_weights` (beta 0.9999)
    and, with ``class_temperature=True``, the diversity term RIDE's class-dependent temperature
    T_c (``reweight_factor``, CIFAR 0.05 / ImageNet-LT 0.02); before it the CE is unweighted and
    T is ``diversity_temperature``. The phase follows the runner's progress through
    ``CumulativeAlphaHook`` (``alpha`` is 0 before, 1 from ``reweight_start`` on);
    ``reweight_start=None`` never re-weights.

    Optional expert router (``router=dict(top_k=5, hidden=16, pos_weight=1.0, threshold=0.5,
    share_fc=True)``, RIDE ``ea_resnet``): before expert k+1, r_k = fc([top-k of the running mean
    logits, relu(fc_k(normalize(expert-k feature)))]) predicts whether consulting more experts
    helps (the last fc shared by the k, as RIDE's default ``share_expert_help_pred_fc``); loss
    BCE(r_k, [ensemble of 1..k wrong] & [some larger ensemble right]) with ``pos_weight`` (RIDE
    configs: 100). RIDE trains it in a second stage: the stage-1 checkpoint loaded, every other
    parameter frozen (frozen BatchNorm in eval mode), a class-balanced sampler, lr 0.1x of stage
    1 with cosine decay, 5 epochs (``FreezeExceptHook``; ``compare.py recognition`` row
    ``ride-ea``). Its inputs are detached, so it can also train jointly without touching the
    experts. Test: a RoI stops at the first k with sigmoid(r_k) <= threshold and scores the mean
    of the experts it used.

    ``expert_reduction``: ``'sum'`` (RIDE's) adds the K experts' losses; ``'mean'`` averages
    them. In a detector the shared fcs also feed the box regressor: with the sum
    (``ride-lr0.01``, 3 seeds) RIDE had 2-14x softmax's grad norm, ~40 % higher loss_bbox,
    AP50 above softmax's and AP 7.9 below; with the mean (``ride-mean-lr0.01``) AP +7.7 ± 1.2
    and APr +14.2 ± 5.9 over the sum (3/3), level with softmax in AP, APr +4.2 ± 7.4 (2/3)
    (docs/results/recognition_1500.notes.md). The default stays RIDE's sum.
    """

    def __init__(self, *args, num_experts: int = 3, scale: float = 30.0, ldam: bool = True,
                 max_margin: float = 0.5, diversity_factor: float = -0.2,
                 diversity_temperature: float = 1.0, class_temperature: bool = True,
                 reweight_factor: float = 0.05, reweight_start: Optional[float] = 0.8,
                 reweight_beta: float = 0.9999, router: Optional[dict] = None,
                 expert_reduction: str = 'sum', **kwargs):
        super().__init__(*args, **kwargs)
        self._build_experts(num_experts, 'cosine', scale)
        self.router_cfg = None
        if router is not None:
            self.router_cfg = {**dict(top_k=5, hidden=16, pos_weight=1.0, threshold=0.5,
                                      share_fc=True), **router}
            top_k, hidden = self.router_cfg['top_k'], self.router_cfg['hidden']
            if not 1 <= top_k <= self.num_classes + 1:
                raise ValueError(f'router top_k={top_k} must be in [1, num_classes + 1]')
            self.router_hidden = nn.ModuleList(
                nn.Linear(self.fc_out_channels, hidden) for _ in range(num_experts - 1))
            n_fc = 1 if self.router_cfg['share_fc'] else num_experts - 1
            self.router_fc = nn.ModuleList(nn.Linear(hidden + top_k, 1) for _ in range(n_fc))
        self.scale, self.ldam, self.max_margin = scale, ldam, max_margin
        self.diversity_factor = diversity_factor
        self.base_temperature = diversity_temperature
        self.class_temperature = class_temperature
        self.reweight_factor = reweight_factor
        if reweight_start is not None and not 0.0 <= reweight_start <= 1.0:
            raise ValueError(f'reweight_start must be in [0, 1] or None, got {reweight_start}')
        self.reweight_start = reweight_start
        self.reweight_beta = reweight_beta
        self.expert_reduction = _check_expert_reduction(expert_reduction)
        self._init_alpha(0.0)

    def alpha_at(self, progress: float) -> float:
        """1.0 in the deferred re-weighting phase (progress >= ``reweight_start``), else 0.0."""
        if self.reweight_start is None:
            return 0.0
        return 1.0 if progress >= self.reweight_start else 0.0

    @property
    def reweighting(self) -> bool:
        return self.reweight_start is not None and float(self.alpha) > 0.5

    def route_logit(self, k: int, expert_feat: Tensor, mean_logits: Tensor) -> Tensor:
        """Router before expert k+1 (0-based k): logit that more experts help, shape (N,)."""
        h = self.relu(self.router_hidden[k](F.normalize(expert_feat, dim=1)))
        top = mean_logits.topk(self.router_cfg['top_k'], dim=1).values
        fc = self.router_fc[min(k, len(self.router_fc) - 1)]
        return fc(torch.cat([top, h], 1)).view(-1)

    def classify(self, feat: Tensor, roi_feats: Tensor) -> Tuple[Tensor, dict]:
        if self.router_cfg is not None and not self.training:
            return self.routed_logits(feat)[0], {}
        feats = [self.relu(fc(feat)) for fc in self.expert_fcs]
        logits = [cls(f) for cls, f in zip(self.fc_cls, feats)]
        extras = {}
        if self.training:
            extras['expert_logits'] = logits
            if self.router_cfg is not None:
                running = torch.stack(logits).detach().cumsum(0)
                extras['router'] = [
                    self.route_logit(k, feats[k].detach(), running[k] / (k + 1))
                    for k in range(self.num_experts - 1)]
        return torch.stack(logits).mean(0), extras

    def routed_logits(self, feat: Tensor) -> Tuple[Tensor, Tensor]:
        """Test-time dynamic routing: (logits (N, C+1), experts used per RoI (N,))."""
        f0 = self.relu(self.expert_fcs[0](feat))
        total = self.fc_cls[0](f0)
        used = torch.ones(feat.shape[0], dtype=torch.long, device=feat.device)
        active = torch.ones_like(used, dtype=torch.bool)
        last_feat = f0
        for k in range(1, self.num_experts):
            go = torch.sigmoid(self.route_logit(k - 1, last_feat, total / used[:, None]))
            active = active & (go > self.router_cfg['threshold'])
            if not active.any():
                break
            fk = self.relu(self.expert_fcs[k](feat))
            total = total + self.fc_cls[k](fk) * active[:, None]
            used = used + active.long()
            last_feat = fk
        return total / used[:, None], used

    def _counts_with_bg(self, device) -> Tensor:
        n = self.class_counts(device)
        return torch.cat([n, n.max().view(1)])

    def cls_loss(self, cls_score, labels, label_weights, avg_factor,
                 extras: Optional[dict] = None) -> Dict[str, Tensor]:
        counts = self._counts_with_bg(cls_score.device)
        margins = ldam_margins(counts, self.max_margin) if self.ldam else None
        drw = self.reweighting
        temp = (diversity_temperature(counts, self.base_temperature, self.reweight_factor)
                if drw and self.class_temperature else self.base_temperature)
        class_weights = effective_number_weights(counts, self.reweight_beta) if drw else None
        expert_logits = self.extra(extras, 'expert_logits')
        losses = ride_loss(expert_logits, labels, label_weights, avg_factor,
                           margins, self.scale, temp, self.diversity_factor, class_weights,
                           self.expert_reduction)
        if self.router_cfg is not None:
            losses['loss_router'] = self.router_loss(expert_logits, self.extra(extras, 'router'),
                                                     labels, label_weights, avg_factor)
        return losses

    def router_loss(self, expert_logits: List[Tensor], router: List[Tensor], labels: Tensor,
                    label_weights: Tensor, avg_factor: float) -> Tensor:
        """BCE(r_k, ensemble 1..k wrong and some ensemble 1..j>k right), averaged over k;
        ``router``: the (N,) logits r_k of :meth:`route_logit` for k = 1..K-1."""
        running = torch.stack(expert_logits).detach().cumsum(0)
        correct = running.argmax(-1) == labels[None]  # (K, N): ensemble of experts 1..k right
        pos_w = labels.new_tensor([self.router_cfg['pos_weight']], dtype=torch.float)
        loss = 0.
        for k, r in enumerate(router):
            target = (~correct[k] & correct[k + 1:].any(0)).float()
            bce = F.binary_cross_entropy_with_logits(r, target, pos_weight=pos_w,
                                                     reduction='none')
            loss = loss + (bce * label_weights).sum() / avg_factor
        return loss / max(len(router), 1)
