"""Common base for the recognition RoI heads: a ``Shared2FCBBoxHead`` whose classification loss is
replaced by a method-specific term, plus class-frequency priors shared by several methods.

Detection adaptation used throughout (documented once here): the C foreground classes get the
frequency terms of the paper; the background logit (index C) is treated like the most frequent
class, i.e. ``log_prior[c] = log(n_c / n_max)`` for c < C and ``log_prior[C] = 0``.
"""
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

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


@dataclass(frozen=True)
class TrainingLogits:
    """A recognition head's classification output in training mode, returned by ``forward`` in
    the place of ``cls_score`` and read back by ``loss_and_target`` / ``loss``: ``logits``
    (R, C+1) are what mmdet's flow sees (accuracy; HCE's trained late fusion adds its context
    logits to them with :meth:`with_logits`), ``extras`` the tensors the head's own loss needs
    besides them (expert logits, branch features, RoI features). The data travels through return
    values and arguments, nothing is kept on the module between forward and loss."""
    logits: Tensor
    extras: Dict[str, Any] = field(default_factory=dict)

    def with_logits(self, logits: Tensor) -> 'TrainingLogits':
        return replace(self, logits=logits)


def logits_of(cls_score: Union[Tensor, TrainingLogits, None]) -> Optional[Tensor]:
    """The class logits of a box head's ``cls_score`` (a tensor, or a recognition head's
    :class:`TrainingLogits`)."""
    return cls_score.logits if isinstance(cls_score, TrainingLogits) else cls_score


def extras_of(cls_score) -> dict:
    """A copy of the training extras of ``cls_score`` (empty for plain logits)."""
    return dict(cls_score.extras) if isinstance(cls_score, TrainingLogits) else {}


def map_logits(cls_score, fn):
    """``fn`` applied to the logits of ``cls_score``, keeping a :class:`TrainingLogits`' extras."""
    if isinstance(cls_score, TrainingLogits):
        return cls_score.with_logits(fn(cls_score.logits))
    return fn(cls_score)


class RecognitionBBoxHead(Shared2FCBBoxHead):
    """Shared2FC head with a pluggable classification branch and loss.

    Subclasses implement :meth:`classify` (features -> ``(N, C+1)`` logits and a dict of the
    training-only tensors their loss needs) and :meth:`cls_loss` (dict of classification losses;
    it receives those tensors back as ``extras``, with the RoIs and sampling results). In training
    ``forward`` returns the logits and extras together as :class:`TrainingLogits`. Box regression,
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

    def classify(self, feat: Tensor, roi_feats: Tensor) -> Tuple[Tensor, dict]:
        """``(logits (N, C+1), extras)``: ``feat`` is the trunk output, ``roi_feats`` the RoI
        feature map; ``extras`` (training only) go to :meth:`cls_loss`."""
        return self.fc_cls(feat), {}

    def forward(self, x: Tensor) -> tuple:
        feat = self.trunk(x)
        logits, extras = self.classify(feat, x)
        return self.outputs(logits, extras), self.fc_reg(feat)

    def outputs(self, logits: Tensor, extras: dict):
        """``cls_score`` of ``forward``: :class:`TrainingLogits` in training, else the logits."""
        return TrainingLogits(logits, extras) if self.training else logits

    def refine_bboxes(self, sampling_results, bbox_results: dict, batch_img_metas):
        """mmdet's cascade refinement on the logits of a training ``cls_score``."""
        bbox_results = {**bbox_results, 'cls_score': logits_of(bbox_results['cls_score'])}
        return super().refine_bboxes(sampling_results, bbox_results, batch_img_metas)

    # ----------------------------------------------------------------- losses
    def loss_and_target(self, cls_score, bbox_pred, rois, sampling_results, rcnn_train_cfg,
                        concat: bool = True, reduction_override=None) -> dict:
        """mmdet's ``get_targets`` then :meth:`loss`, which also gets the sampling results."""
        targets = self.get_targets(sampling_results, rcnn_train_cfg, concat=concat)
        losses = self.loss(cls_score, bbox_pred, rois, *targets,
                           reduction_override=reduction_override,
                           sampling_results=sampling_results)
        return dict(loss_bbox=losses, bbox_targets=targets)

    def loss(self, cls_score, bbox_pred, rois, labels, label_weights, bbox_targets, bbox_weights,
             reduction_override=None, sampling_results=None) -> dict:
        """Box regression as mmdet; classification by :meth:`cls_loss` on the logits, with
        ``extras = {**training extras, 'rois', 'sampling_results'}``."""
        if reduction_override == 'none' and cls_score is not None:
            raise ValueError(f'{type(self).__name__} gives a batch classification loss, not one '
                             "per RoI (reduction_override='none', e.g. the OHEM sampler): use "
                             'another sampler')
        logits = logits_of(cls_score)
        losses = super().loss(None, bbox_pred, rois, labels, label_weights, bbox_targets,
                              bbox_weights, reduction_override=reduction_override)
        if logits is not None and logits.numel() > 0:
            extras = extras_of(cls_score)
            extras.update(rois=rois, sampling_results=sampling_results)
            avg_factor = max(float((label_weights > 0).sum()), 1.0)
            losses.update(self.cls_loss(logits, labels, label_weights, avg_factor, extras))
            losses['acc'] = accuracy(logits, labels)
        return losses

    def cls_loss(self, cls_score: Tensor, labels: Tensor, label_weights: Tensor,
                 avg_factor: float, extras: Optional[dict] = None) -> Dict[str, Tensor]:
        return dict(loss_cls=weighted_ce(cls_score, labels, label_weights, avg_factor))

    def extra(self, extras: Optional[dict], key: str):
        """``extras[key]``, or an error saying the loss needs the training output of forward."""
        if not extras or extras.get(key) is None:
            raise ValueError(
                f'{type(self).__name__}.cls_loss needs {key!r} from the training-mode forward: '
                'pass the head\'s cls_score (TrainingLogits) from forward in train mode to '
                'loss_and_target / loss, or give it in extras')
        return extras[key]


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
