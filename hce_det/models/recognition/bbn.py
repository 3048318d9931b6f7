"""BBN bilateral-branch RoI classifier (Zhou et al., CVPR 2020; facts: megvii-research/BBN
``lib/core/combiner.py``, ``lib/dataset/imbalance_cifar.py``, ``lib/backbone/resnet_cifar.py``)."""
from typing import Dict, Optional, Union

import torch
import torch.nn as nn
from mmdet.models.losses import accuracy
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.registry import MODELS
from torch import Tensor

from .base import RecognitionBBoxHead, ScheduledMixin, extras_of, logits_of, weighted_ce


@MODELS.register_module()
class BBNBBoxHead(ScheduledMixin, RecognitionBBoxHead):
    r"""Bilateral-branch classifier on the RoI feature.

    The first shared fc is the trunk; the conventional branch is the last shared fc (``f_c``), the
    re-balancing branch its own fc (``f_r``). With a re-balanced partner RoI ``j(i)``:

    .. math::
        z_i = W\,[\,2\alpha f_c(x_i),\; 2(1-\alpha) f_r(x_{j(i)})\,],\qquad
        L = \alpha\,CE(z_i, y_i) + (1-\alpha)\,CE(z_i, y_{j(i)})

    Cumulative learning :math:`\alpha = 1 - (t/T)^2` over the whole training run, set by
    ``CumulativeAlphaHook`` from the runner's counter (BBN ``combiner.py``: t = epoch − 1,
    T = max epochs; with ``by_epoch=False`` t is the iteration, T ``max_iters``); test uses
    :math:`\alpha = 0.5` with ``j(i) = i`` (BBN tests on ``cat(f_c, f_r)``, i.e. both weights 1).

    **Reversed sampler.** BBN pairs every uniformly sampled sample with a sample of its reversed
    sampler: class c drawn with probability ∝ ``n_max / n_c``, then a sample of that class
    uniformly. Two detection versions:

    * ``num_reversed_images=0`` (RoI level, no extra images): partners are drawn from the batch's
      own sampled RoIs with the same rule restricted to the classes present: class c ∝
      ``n_max / n_c``, then one of its RoIs uniformly. A class absent from the batch cannot be
      drawn.
    * ``num_reversed_images=k`` or ``'half'`` (image level, BBN's dual sampler): the last k images
      of every training batch come from ``ReversedClassBatchSampler`` (``'half'``: the second half
      of the batch, i.e. its default ``num_reversed = batch_size``). The conventional term, the
      accuracy and box regression use the RoIs of the uniform images only (the same data as a
      plain head); the partners are drawn, by the rule above, among the RoIs of the reversed
      images. The RPN and the backbone see both streams (BBN's shared trunk sees both).

    With ``rebalance_background=False`` (default) foreground RoIs get foreground partners and
    background RoIs background ones (RoI level: themselves; image level: a uniformly drawn
    background RoI of the reversed images), so the re-balancing term keeps the RoI sampler's
    foreground/background ratio. With True background takes part as a class of weight 1 (the
    weight of the most frequent class); the proxy run showed that this floods the classifier
    with foreground partners. Box regression uses the conventional branch.
    """

    def __init__(self, *args, alpha_power: float = 2.0, test_alpha: float = 0.5,
                 rebalance_background: bool = False,
                 num_reversed_images: Union[int, str] = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.rebalance_background = rebalance_background
        if self.num_shared_fcs < 1:
            raise ValueError('BBNBBoxHead needs num_shared_fcs >= 1')
        if not (num_reversed_images == 'half' or
                (isinstance(num_reversed_images, int) and num_reversed_images >= 0)):
            raise ValueError("num_reversed_images must be an integer >= 0 or 'half', got "
                             f'{num_reversed_images!r}')
        self.num_reversed_images = num_reversed_images
        self.alpha_power = alpha_power
        self.test_alpha = test_alpha
        self._init_alpha(1.0)
        in_dim = self.shared_fcs[-1].in_features
        self.rebalance_fc = nn.Linear(in_dim, self.fc_out_channels)
        self.fc_cls = nn.Linear(2 * self.fc_out_channels, self.num_classes + 1)

    def mixed_logits(self, f_c: Tensor, f_r: Tensor, alpha: float) -> Tensor:
        return self.fc_cls(2 * torch.cat([alpha * f_c, (1 - alpha) * f_r], dim=1))

    def forward(self, x: Tensor) -> tuple:
        h = self.trunk(x, self.shared_fcs[:-1])
        f_c = self.relu(self.shared_fcs[-1](h))
        f_r = self.relu(self.rebalance_fc(h))
        alpha = float(self.alpha) if self.training else self.test_alpha
        extras = dict(f_c=f_c, f_r=f_r) if self.training else {}
        return self.outputs(self.mixed_logits(f_c, f_r, alpha), extras), self.fc_reg(f_c)

    # ----------------------------------------------------------------- reversed sampling
    def reversed_weights(self, labels: Tensor) -> Tensor:
        """Per-RoI class weight ``n_max / n_y`` of the reversed sampler (background: 1)."""
        n = self.class_counts(labels.device)
        w = torch.cat([n.max() / n, n.new_ones(1)])
        return w[labels]

    def reversed_draw_weights(self, labels: Tensor, pool: Tensor) -> Tensor:
        """Per-RoI draw weights over ``pool`` (bool mask) such that a class is drawn with
        probability ∝ ``n_max / n_c`` among the classes in the pool, then one of its RoIs
        uniformly: ``w_y / m_y`` with ``m_y`` the pool RoIs of class y (0 outside the pool)."""
        w = self.reversed_weights(labels) * pool
        m = torch.bincount(labels[pool], minlength=self.num_classes + 1).to(w.dtype)
        return w / m[labels].clamp(min=1)

    def sample_partners(self, labels: Tensor, label_weights: Tensor,
                        pool: Optional[Tensor] = None,
                        anchors: Optional[Tensor] = None) -> Tensor:
        """Index j(i) of each RoI's re-balanced partner (drawn with replacement).

        ``pool``: RoIs a partner may come from (default: every RoI with a label weight);
        ``anchors``: RoIs that need a partner (default: all); other RoIs keep ``j(i) = i``.
        """
        n = labels.numel()
        valid = label_weights > 0
        same_pool = pool is None  # RoI level: background RoIs keep themselves
        pool = valid if pool is None else pool & valid
        anchors = torch.ones_like(valid) if anchors is None else anchors
        partner = torch.arange(n, device=labels.device)
        fg = labels < self.num_classes
        if self.rebalance_background:
            groups = [(anchors, pool)]
        else:
            groups = [(anchors & fg, pool & fg)]
            if not same_pool:  # image level: background partners from the reversed images
                groups.append((anchors & ~fg, pool & ~fg))
        for who, where in groups:
            w = self.reversed_draw_weights(labels, where)
            k = int(who.sum())
            if k and w.sum() > 0:
                partner[who] = torch.multinomial(w, k, replacement=True)
        return partner

    def reversed_mask(self, sampling_results) -> Optional[Tensor]:
        """Per RoI (in mmdet's concatenation order): True for RoIs of the reversed images."""
        if not self.num_reversed_images:
            return None
        n_img = len(sampling_results)
        k = n_img // 2 if self.num_reversed_images == 'half' else self.num_reversed_images
        if not 0 < k < n_img or (self.num_reversed_images == 'half' and n_img % 2):
            raise ValueError(
                f'BBNBBoxHead(num_reversed_images={self.num_reversed_images!r}) got a batch of '
                f'{n_img} images; the training dataloader must append the reversed images '
                "(batch_sampler=dict(type='ReversedClassBatchSampler'), whose num_reversed "
                'must match)')
        return torch.cat([
            torch.full((len(res.priors),), i >= n_img - k, dtype=torch.bool,
                       device=res.priors.device)
            for i, res in enumerate(sampling_results)])

    # ----------------------------------------------------------------- losses
    def loss(self, cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights,
             reduction_override=None, sampling_results=None) -> dict:
        """Image level (``num_reversed_images``): box regression and accuracy on the uniform
        images' RoIs, the classification loss over both streams (:meth:`cls_loss`)."""
        rev = None
        if self.num_reversed_images and cls_score is not None:
            if sampling_results is None:
                raise ValueError('BBNBBoxHead with num_reversed_images needs the sampling '
                                 'results (call loss_and_target)')
            rev = self.reversed_mask(sampling_results)
        if rev is None:
            return super().loss(cls_score, bbox_pred, rois, labels, label_weights, bbox_targets,
                                bbox_weights, reduction_override, sampling_results)
        uni = ~rev
        # box regression on the uniform stream only (mmdet's averaging over its RoIs)
        losses = BBoxHead.loss(self, None, bbox_pred[uni], rois[uni], labels[uni],
                               label_weights[uni], bbox_targets[uni], bbox_weights[uni],
                               reduction_override=reduction_override)
        logits = logits_of(cls_score)
        extras = extras_of(cls_score)
        extras.update(reversed=rev)
        avg_factor = max(float((label_weights[uni] > 0).sum()), 1.0)
        losses.update(self.cls_loss(logits, labels, label_weights, avg_factor, extras))
        losses['acc'] = accuracy(logits[uni], labels[uni])
        return losses

    def cls_loss(self, cls_score, labels, label_weights, avg_factor,
                 extras: Optional[dict] = None) -> Dict[str, Tensor]:
        f_c, f_r = self.extra(extras, 'f_c'), self.extra(extras, 'f_r')
        alpha = float(self.alpha)
        rev = extras.get('reversed')
        if rev is None:  # RoI level: anchors and partners from the same RoIs
            partner = self.sample_partners(labels, label_weights)
            anchor_w = label_weights
        else:            # image level: anchors uniform, partners from the reversed images
            partner = self.sample_partners(labels, label_weights, pool=rev, anchors=~rev)
            anchor_w = label_weights * (~rev)
        z = self.mixed_logits(f_c, f_r[partner], alpha)
        loss = alpha * weighted_ce(z, labels, anchor_w, avg_factor) + \
            (1 - alpha) * weighted_ce(z, labels[partner], anchor_w * label_weights[partner],
                                      avg_factor)
        return dict(loss_cls=loss)
