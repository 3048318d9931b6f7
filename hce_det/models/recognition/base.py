"""Common base for the recognition RoI heads: a ``Shared2FCBBoxHead`` whose classification loss is
replaced by a method-specific term, plus class-frequency priors shared by several methods.

Detection adaptation used throughout (documented once here): the C foreground classes get the
frequency terms of the paper; the background logit (index C) is treated like the most frequent
class, i.e. ``log_prior[c] = log(n_c / n_max)`` for c < C and ``log_prior[C] = 0``.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmdet.models.losses import accuracy
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from torch import Tensor

from ..long_tail.class_freq import class_counts_from_ann_file


def load_class_counts(num_classes: int, class_counts: Optional[Sequence[float]] = None,
                      class_counts_file: Optional[str] = None,
                      count_key: str = 'instance_count') -> Tensor:
    """Per-class training counts, from a list or from an annotation file's ``categories``.

    ``class_counts_file`` is a COCO/LVIS json whose categories carry ``count_key`` (LVIS v1 and the
    built-in data have ``instance_count`` and ``image_count``); categories are ordered by id, which
    is the label order of ``CocoDataset``/``LVISV1Dataset``.
    """
    if class_counts is None and class_counts_file is None:
        raise ValueError('recognition bbox head needs class frequencies: set `class_counts` '
                         '(a list of num_classes numbers) or `class_counts_file` (an annotation '
                         f'json whose categories have {count_key!r})')
    if class_counts is None:
        class_counts, _ = class_counts_from_ann_file(
            class_counts_file, count_key,
            not_found=f'class_counts_file {class_counts_file!r} does not exist; point the bbox '
                      'head\'s `class_counts_file` at the training annotation file or give '
                      '`class_counts`')
        src = f'class_counts_file {class_counts_file!r}'
    else:
        src = '`class_counts`'
    counts = torch.as_tensor(list(class_counts), dtype=torch.float32)
    if counts.numel() != num_classes:
        raise ValueError(f'{src} has {counts.numel()} classes but the bbox head has '
                         f'num_classes={num_classes}; make them agree')
    return counts.clamp(min=1.0)


class RecognitionBBoxHead(Shared2FCBBoxHead):
    """Shared2FC head with a pluggable classification branch and loss.

    Subclasses implement :meth:`classify` (features -> ``(N, C+1)`` logits, may stash training-only
    tensors in ``self._aux``) and :meth:`cls_loss` (dict of classification losses). Box regression,
    target assignment and inference are mmdet's unchanged (softmax over the returned logits).
    """

    def __init__(self, *args, class_counts: Optional[List[float]] = None,
                 class_counts_file: Optional[str] = None, count_key: str = 'instance_count',
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.num_shared_convs or self.num_cls_convs or self.num_cls_fcs or \
                self.num_reg_convs or self.num_reg_fcs:
            raise ValueError(f'{type(self).__name__} supports shared fcs only (Shared2FC layout)')
        self._counts_cfg = dict(class_counts=class_counts, class_counts_file=class_counts_file,
                                count_key=count_key)
        self._counts: Optional[Tensor] = None
        self._aux: Dict = {}

    # ----------------------------------------------------------------- frequency priors
    def class_counts(self, device=None) -> Tensor:
        """Foreground counts ``(C,)``, loaded lazily (so configs build without the data)."""
        if self._counts is None:
            self._counts = load_class_counts(self.num_classes, **self._counts_cfg)
        return self._counts.to(device) if device is not None else self._counts

    def log_prior(self, device=None) -> Tensor:
        """``(C+1,)`` log(n_c / n_max) with 0 for background (see module docstring)."""
        n = self.class_counts(device)
        return torch.cat([torch.log(n / n.max()), n.new_zeros(1)])

    # ----------------------------------------------------------------- forward
    def trunk(self, x: Tensor, fcs=None) -> Tensor:
        """Flatten the RoI feature and run the shared fcs (all of them unless ``fcs`` given)."""
        if self.with_avg_pool:
            x = self.avg_pool(x)
        x = x.flatten(1)
        for fc in (self.shared_fcs if fcs is None else fcs):
            x = self.relu(fc(x))
        return x

    def classify(self, feat: Tensor, roi_feats: Tensor) -> Tensor:
        return self.fc_cls(feat)

    def forward(self, x: Tensor) -> tuple:
        self._aux = {}
        feat = self.trunk(x)
        cls_score = self.classify(feat, x)
        bbox_pred = self.fc_reg(self._aux.pop('reg_feat', feat))
        return cls_score, bbox_pred

    # ----------------------------------------------------------------- losses
    def loss_and_target(self, cls_score, bbox_pred, rois, sampling_results, rcnn_train_cfg,
                        concat: bool = True, reduction_override=None) -> dict:
        self._aux['sampling_results'] = sampling_results
        return super().loss_and_target(cls_score, bbox_pred, rois, sampling_results,
                                       rcnn_train_cfg, concat=concat,
                                       reduction_override=reduction_override)

    def loss(self, cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights,
             reduction_override=None) -> dict:
        losses = super().loss(None, bbox_pred, rois, labels, label_weights, bbox_targets,
                              bbox_weights, reduction_override=reduction_override)
        if cls_score is not None and cls_score.numel() > 0:
            avg_factor = max(float((label_weights > 0).sum()), 1.0)
            losses.update(self.cls_loss(cls_score, labels, label_weights, avg_factor))
            losses['acc'] = accuracy(cls_score, labels)
        self._aux = {}
        return losses

    def cls_loss(self, cls_score: Tensor, labels: Tensor, label_weights: Tensor,
                 avg_factor: float) -> Dict[str, Tensor]:
        return dict(loss_cls=weighted_ce(cls_score, labels, label_weights, avg_factor))


def weighted_ce(logits: Tensor, labels: Tensor, weights: Tensor, avg_factor: float) -> Tensor:
    """sum_i w_i * CE(logits_i, y_i) / avg_factor (mmdet's CrossEntropyLoss reduction)."""
    return (F.cross_entropy(logits, labels, reduction='none') * weights).sum() / avg_factor


def kl_to_target(log_q: Tensor, p: Tensor, weights: Tensor, avg_factor: float) -> Tensor:
    """sum_i w_i * KL(p_i || q_i) / avg_factor with p given as probabilities, q as log-probs."""
    kl = (p * (torch.log(p.clamp(min=1e-12)) - log_q)).sum(-1)
    return (kl * weights).sum() / avg_factor


class ScheduledMixin:
    """A module whose loss mixing weight ``alpha`` is driven by :class:`CumulativeAlphaHook`.

    The hook calls :meth:`set_training_progress` with p = t/T; ``alpha`` is a persistent buffer so
    it is saved in checkpoints and restored on resume.
    """

    def _init_alpha(self, value: float = 1.0) -> None:
        self.register_buffer('alpha', torch.tensor(float(value)))

    def alpha_at(self, progress: float) -> float:
        """Cumulative learning alpha = 1 - p**power (BBN for power=2)."""
        return 1.0 - float(min(max(progress, 0.0), 1.0)) ** self.alpha_power

    def set_training_progress(self, progress: float) -> float:
        self.alpha.fill_(self.alpha_at(progress))
        return float(self.alpha)
