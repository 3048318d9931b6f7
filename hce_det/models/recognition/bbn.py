"""BBN bilateral-branch RoI classifier (Zhou et al., CVPR 2020; facts: Megvii-Nanjing/BBN)."""
from typing import Dict

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from torch import Tensor

from .base import RecognitionBBoxHead, ScheduledMixin, weighted_ce


@MODELS.register_module()
class BBNBBoxHead(ScheduledMixin, RecognitionBBoxHead):
    r"""Bilateral-branch classifier on the RoI feature.

    The first shared fc is the trunk; the conventional branch is the last shared fc (``f_c``), the
    re-balancing branch its own fc (``f_r``). With a re-balanced partner RoI ``j(i)``:

    .. math::
        z_i = W\,[\,2\alpha f_c(x_i),\; 2(1-\alpha) f_r(x_{j(i)})\,],\qquad
        L = \alpha\,CE(z_i, y_i) + (1-\alpha)\,CE(z_i, y_{j(i)})

    cumulative learning :math:`\alpha = 1 - (t/T)^2` (set by ``CumulativeAlphaHook``); test uses
    :math:`\alpha = 0.5` with ``j(i) = i`` (BBN paper; repo ``combiner.py``).

    Re-balancing source for detection: *class-reversed RoI re-sampling*: ``j(i)`` is drawn, with
    replacement, from the batch's sampled RoIs with probability ∝ ``w_y = n_max / n_y`` (the
    reversed sampler of BBN applied to RoIs). With ``rebalance_background=False`` (default) only
    foreground RoIs are re-sampled (among foreground RoIs) and background RoIs are their own
    partners, so the re-balancing branch keeps the sampler's foreground/background ratio; with
    True background takes part with the weight of the most frequent class (the proxy run showed
    that this floods the classifier with foreground partners). Box regression uses the
    conventional branch.
    """

    def __init__(self, *args, alpha_power: float = 2.0, test_alpha: float = 0.5,
                 rebalance_background: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.rebalance_background = rebalance_background
        if self.num_shared_fcs < 1:
            raise ValueError('BBNBBoxHead needs num_shared_fcs >= 1')
        self.alpha_power = alpha_power
        self.test_alpha = test_alpha
        self._init_alpha(1.0)
        in_dim = self.shared_fcs[-1].in_features
        self.rebalance_fc = nn.Linear(in_dim, self.fc_out_channels)
        self.fc_cls = nn.Linear(2 * self.fc_out_channels, self.num_classes + 1)

    def mixed_logits(self, f_c: Tensor, f_r: Tensor, alpha: float) -> Tensor:
        return self.fc_cls(2 * torch.cat([alpha * f_c, (1 - alpha) * f_r], dim=1))

    def forward(self, x: Tensor) -> tuple:
        self._aux = {}
        h = self.trunk(x, self.shared_fcs[:-1])
        f_c = self.relu(self.shared_fcs[-1](h))
        f_r = self.relu(self.rebalance_fc(h))
        alpha = float(self.alpha) if self.training else self.test_alpha
        if self.training:
            self._aux.update(f_c=f_c, f_r=f_r)
        return self.mixed_logits(f_c, f_r, alpha), self.fc_reg(f_c)

    def reversed_weights(self, labels: Tensor) -> Tensor:
        """Per-RoI sampling weight n_max / n_y (background: 1)."""
        n = self.class_counts(labels.device)
        w = torch.cat([n.max() / n, n.new_ones(1)])
        return w[labels]

    def sample_partners(self, labels: Tensor, label_weights: Tensor) -> Tensor:
        """Index j(i) of each RoI's re-balanced partner (class-reversed, with replacement)."""
        w = self.reversed_weights(labels) * (label_weights > 0)
        if self.rebalance_background:
            return torch.multinomial(w, labels.numel(), replacement=True)
        fg = labels < self.num_classes
        partner = torch.arange(labels.numel(), device=labels.device)
        w_fg = w * fg
        if fg.any() and w_fg.sum() > 0:
            partner[fg] = torch.multinomial(w_fg, int(fg.sum()), replacement=True)
        return partner

    def cls_loss(self, cls_score, labels, label_weights, avg_factor) -> Dict[str, Tensor]:
        f_c, f_r = self._aux['f_c'], self._aux['f_r']
        alpha = float(self.alpha)
        partner = self.sample_partners(labels, label_weights)
        z = self.mixed_logits(f_c, f_r[partner], alpha)
        loss = alpha * weighted_ce(z, labels, label_weights, avg_factor) + \
            (1 - alpha) * weighted_ce(z, labels[partner], label_weights[partner], avg_factor)
        return dict(loss_cls=loss)
