"""HCE RoI heads: switch HCE on in any mmdet two-stage config by changing ``roi_head.type``.

:class:`HCEMixin` adds HCE to an mmdet RoI head class; ``families.py`` applies it to every
supported base (``HCERoIHead`` = Standard, ``HCECascadeRoIHead``, ``HCEDynamicRoIHead`` ...).
The image-level categorical embedding, the hierarchical context RoI module and the context
classifier live in the RoI head, so the detector, neck and bbox head stay stock mmdet and the
base head's own flow (samplers, schedules, reweighting, extra branches) runs unchanged. The mask
branch (if any) sees the conventional RoI features only.

Data flow (top-down): ``loss`` / ``predict`` / ``forward`` compute the batch's
:class:`ImageContext` once (embedding, each stage's global context, and whether box scores are
late-fused: only in the predict path) and hand it down with the features (:class:`HCEFeatures`)
through the base's own ``loss`` / ``predict``; ``_bbox_forward`` reads it; ``bbox_loss`` labels the
context classifier's RoIs from the sampling results (:func:`roi_labels`); ``loss`` adds
``loss_img_cls`` on the same context.
"""
import copy
import inspect
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import ModuleList
from torch import Tensor

from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from ..long_tail.score_inverse import has_score_inverse
from ..recognition.base import map_logits


@dataclass(frozen=True)
class ImageContext:
    """HCE's image-level context of one batch, computed once by :meth:`HCEMixin.image_context`
    in ``loss`` / ``predict`` / ``forward`` and passed down to every stage's box forward."""
    cat_maps: Optional[Tensor]   # (N, K, h, w) category maps; None: no stage reads the context
    img_logits: Optional[Tensor]  # (N, K) image-level multi-label logits (GAP + GMP)
    embedded: Optional[Tensor]   # (N, D, h, w) embedded map that feeds x_context
    global_ctx: tuple            # per stage: W_g x_global + b (N, C, S, S), or None
    fuse_scores: bool            # the predict path: box scores are the late-fused ones


class HCEFeatures(tuple):
    """The neck's features with the batch's :class:`ImageContext`.

    mmdet's base heads (Standard, Cascade, Dynamic, PISA, HTC ...) hand only the features and
    the RoIs from their ``loss`` / ``predict`` down to ``_bbox_forward``; to keep their own code
    (schedules, reweighting, extra branches) the context rides along with the features, which
    stay a plain tuple to that code. The record is immutable and complete when built: no cache,
    no flag read elsewhere."""

    def __new__(cls, feats, context: ImageContext):
        obj = super().__new__(cls, feats)
        obj.context = context
        return obj


def _per_stage(cfg, num_stages: int, key: str) -> list:
    if isinstance(cfg, (list, tuple)):
        if len(cfg) != num_stages:
            raise ValueError(f'roi_head.{key} has {len(cfg)} entries for {num_stages} stages')
        return [None if c is None else dict(c) for c in cfg]
    return [None if cfg is None else dict(cfg) for _ in range(num_stages)]


def _bind(method, args: tuple, kwargs: dict) -> dict:
    """``method``'s arguments by name (the base heads pass them positionally or by keyword)."""
    bound = inspect.signature(method).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _sigmoid_late_fusion(cfg: dict, head) -> None:
    """Late fusion defaults for a sigmoid-family box head (``custom_cls_channels``): the context
    classifier's loss is a copy of the head's ``loss_cls`` (same type and settings, its own
    activation parameters), its ``fc_cls`` bias starts at the head's ``cls_bias_init``; score
    fusions need the head's activation to be invertible (``logit_sum`` does not)."""
    cfg.setdefault('loss_cls', copy.deepcopy(head.loss_cls))
    bias = getattr(head, 'cls_bias_init', None)
    if bias is not None:
        cfg.setdefault('bias_init', bias)
    if cfg.get('fusion', 'mean') != 'logit_sum' and not has_score_inverse(head.loss_cls):
        raise ValueError(
            f"roi_head.late_fusion.fusion={cfg.get('fusion', 'mean')!r} hands fused scores back "
            f'to the bbox head, but {type(head.loss_cls).__name__}.get_activation has no inverse '
            f"here: use late_fusion=dict(fusion='logit_sum')")


class HCEMixin:
    """HCE for an mmdet RoI head class (put first in the bases: ``(HCEMixin, Base)``).

    Args (besides the base head's):
        context_embedding: :class:`CategoricalEmbedding` options; ``num_classes``,
            ``in_channels`` and ``embed_channels`` default to the bbox head's classes and the
            RoI extractor's width. Default ``dict()`` (P3, GAP+GMP, BCE weight 1).
        context_roi: :class:`HierarchicalContextRoI` options, e.g. ``early_fusion='sum'``
            (default) / ``'concat'`` / ``None``, ``use_global=True``; multi-stage heads: one
            dict (copied per stage, separate weights) or a list with one entry per stage.
        late_fusion: :class:`ContextClassifier` options (``fusion='mean'``,
            ``test_branch='both'``, loss weight 1.0) or ``None`` to disable late fusion;
            per stage as ``context_roi``. Default ``dict()`` (on). A sigmoid-family bbox head
            (APA, Gumbel, DropLoss, EQLv2, Federated, Seesaw: ``custom_cls_channels``) gets a
            context classifier with the head's channels and a copy of its loss (own activation);
            ``mean`` / ``weighted`` / ``geometric`` combine the per-class scores of the two
            activations, ``logit_sum`` trains and scores s_det + s_ctx under the head's loss.

    The base's ``_bbox_forward`` is replaced by :meth:`_hce_bbox_forward`, which keeps the two
    base-specific inputs of mmdet's box heads: HTC's semantic RoI feature (added to the box
    feature) and Double-Head's enlarged regression RoI feature (``reg_roi_scale_factor``).
    """

    def __init__(self, context_embedding: dict = dict(),
                 context_roi: Union[dict, list] = dict(),
                 late_fusion: Optional[Union[dict, list]] = dict(), **kwargs) -> None:
        super().__init__(**kwargs)
        heads, extractors = self.bbox_head, self.bbox_roi_extractor
        if not isinstance(heads, ModuleList):
            heads, extractors = [heads], [extractors]
        self._build_hce(context_embedding, context_roi, late_fusion, list(heads),
                        list(extractors))

    def _stage(self, stage: int) -> tuple:
        """(RoI extractor, bbox head) of ``stage``."""
        if isinstance(self.bbox_head, ModuleList):
            return self.bbox_roi_extractor[stage], self.bbox_head[stage]
        return self.bbox_roi_extractor, self.bbox_head

    def _build_hce(self, context_embedding: dict, context_roi: Union[dict, list],
                   late_fusion: Optional[Union[dict, list]], heads: list, extractors: list
                   ) -> None:
        if getattr(self, 'shared_head', None) is not None:
            raise ValueError(
                f'{type(self).__name__}: roi_head.shared_head (C4 models such as Faster R-CNN C4 '
                f'or TridentNet) is not supported: HCE fuses x_context into the RoI feature '
                f'of an FPN box head; use an FPN config')
        num_classes = heads[0].num_classes
        ext = extractors[0]
        emb = dict(type='CategoricalEmbedding')
        emb.update(context_embedding or {})
        if emb.setdefault('num_classes', num_classes) != num_classes:
            raise ValueError(
                f'roi_head.context_embedding.num_classes={emb["num_classes"]} but '
                f'roi_head.bbox_head.num_classes={num_classes}: set them equal (or drop the '
                f'context_embedding key to inherit it)')
        emb.setdefault('in_channels', ext.out_channels)
        emb.setdefault('embed_channels', ext.out_channels)
        self.context_embedding = MODELS.build(emb)
        level = self.context_embedding.in_levels[0]
        if level >= len(ext.featmap_strides):
            raise ValueError(f'roi_head.context_embedding.in_levels={emb.get("in_levels")} but '
                             f'bbox_roi_extractor has {len(ext.featmap_strides)} levels')
        out_size = ext.roi_layers[0].output_size
        self.context_roi = ModuleList()
        self.context_cls = None
        for stage, (cfg, head, e) in enumerate(zip(
                _per_stage(context_roi or {}, len(heads), 'context_roi'), heads, extractors)):
            if head.num_classes != num_classes:
                raise ValueError(f'roi_head.bbox_head[{stage}].num_classes={head.num_classes} '
                                 f'differs from stage 0 ({num_classes})')
            cfg = dict(type='HierarchicalContextRoI', **cfg)
            cfg.setdefault('in_channels', self.context_embedding.embed_channels)
            cfg.setdefault('out_channels', e.out_channels)
            cfg.setdefault('featmap_stride', ext.featmap_strides[level])
            cfg.setdefault('roi_layer', dict(type='GridRoIAlign', output_size=out_size,
                                             sampling_ratio=1))
            if cfg['out_channels'] != e.out_channels:
                raise ValueError(f'roi_head.context_roi.out_channels={cfg["out_channels"]} must '
                                 f'equal bbox_roi_extractor.out_channels={e.out_channels}')
            self.context_roi.append(MODELS.build(cfg))
        lates = _per_stage(late_fusion, len(heads), 'late_fusion')
        if any(c is not None for c in lates):
            self.context_cls = ModuleList()
            for stage, (cfg, head) in enumerate(zip(lates, heads)):
                if cfg is None:
                    raise ValueError('roi_head.late_fusion: give it for every stage or none')
                cfg = dict(type='ContextClassifier', **cfg)
                if cfg.setdefault('num_classes', num_classes) != num_classes:
                    raise ValueError(f'roi_head.late_fusion.num_classes={cfg["num_classes"]} but '
                                     f'roi_head.bbox_head.num_classes={num_classes}')
                cfg.setdefault('in_channels', self.context_roi[stage].out_channels)
                cfg.setdefault('roi_size', out_size if isinstance(out_size, int) else out_size[0])
                if head.custom_cls_channels:
                    _sigmoid_late_fusion(cfg, head)
                clf = MODELS.build(cfg)
                want = head.loss_cls.get_cls_channels(num_classes) \
                    if head.custom_cls_channels else num_classes + 1
                if clf.custom != bool(head.custom_cls_channels) or \
                        clf.fc_cls.out_features != want:
                    raise ValueError(
                        f'roi_head.late_fusion.loss_cls ({type(clf.loss_cls).__name__}, '
                        f'{clf.fc_cls.out_features} outputs) does not match the bbox head\'s '
                        f'{type(head.loss_cls).__name__} ({want} outputs): drop '
                        f'late_fusion.loss_cls to use the head\'s loss type')
                self.context_cls.append(clf)

    # ---- the image-level context ------------------------------------------------------------
    def _needs_context_rois(self, stage: int, fuse_scores: bool) -> bool:
        if self.context_roi[stage].early_fusion is not None:
            return True
        if self.context_cls is None:
            return False
        return not fuse_scores or self.context_cls[stage].test_branch != 'det'

    def image_context(self, x: Sequence[Tensor], img_shapes: Optional[Sequence[tuple]] = None,
                      fuse_scores: bool = False) -> ImageContext:
        """The batch's :class:`ImageContext`: the categorical embedding of ``x`` and each stage's
        ``W_g x_global + b`` (over ``img_shapes``, the whole map where None). With
        ``fuse_scores`` (the predict path) a model that reads no context at test time
        (``late_fusion.test_branch='det'`` or ``late_fusion=None``, without early fusion)
        skips the embedding; training always needs it (``loss_img_cls``)."""
        stages = range(len(self.context_roi))
        if fuse_scores and not any(self._needs_context_rois(s, True) for s in stages):
            return ImageContext(None, None, None, (None, ) * len(stages), fuse_scores)
        cat_maps, img_logits, embedded = self.context_embedding(x)
        glob = tuple(m.global_context(embedded, img_shapes) if m.use_global else None
                     for m in self.context_roi)
        return ImageContext(cat_maps, img_logits, embedded, glob, fuse_scores)

    def _context_of(self, x) -> ImageContext:
        """``x``'s context; features that come without one (mmdet's OHEM sampler re-runs
        ``_bbox_forward`` on per-image feature lists) get theirs computed here (training)."""
        if isinstance(x, HCEFeatures):
            return x.context
        return self.image_context(x)

    def _bbox_forward(self, *args, **kwargs) -> dict:
        """The base's ``_bbox_forward`` signature (``(x, rois)``, ``(stage, x, rois)``, HTC's
        ``semantic_feat=``), run by :meth:`_hce_bbox_forward`."""
        a = _bind(super()._bbox_forward, args, kwargs)
        stage, x, rois = a.pop('stage', 0), a.pop('x'), a.pop('rois')
        return self._hce_bbox_forward(stage, x, rois, **a)

    def bbox_loss(self, *args, **kwargs) -> dict:
        """The base's ``bbox_loss`` plus the context classifier's loss on the same RoIs, labelled
        by :func:`roi_labels` from the sampling results (no second ``get_targets``: the box
        targets stay the base's own)."""
        bbox_results = super().bbox_loss(*args, **kwargs)
        if self.context_cls is None:
            return bbox_results
        a = _bind(super().bbox_loss, args, kwargs)
        stage = a.get('stage', 0)
        cfg = self.train_cfg[stage] if isinstance(self.train_cfg, list) else self.train_cfg
        labels, weights = roi_labels(a['sampling_results'], self._stage(stage)[1].num_classes,
                                     cfg.get('pos_weight', -1))
        bbox_results['loss_bbox'].update(
            self._context_cls_loss(stage, bbox_results, labels, weights))
        return bbox_results

    def _base_roi_feats(self, roi_extractor, x, rois: Tensor,
                        semantic_feat: Optional[Tensor] = None) -> Tensor:
        """The conventional RoI feature; HTC adds its semantic RoI feature (as mmdet's
        ``HybridTaskCascadeRoIHead._bbox_forward``)."""
        feats = roi_extractor(x[:roi_extractor.num_inputs], rois)
        if semantic_feat is not None and 'bbox' in self.semantic_fusion:
            sem = self.semantic_roi_extractor([semantic_feat], rois)
            if sem.shape[-2:] != feats.shape[-2:]:
                sem = F.adaptive_avg_pool2d(sem, feats.shape[-2:])
            feats = feats + sem
        return feats

    def _box_head_outputs(self, bbox_head, head_in: Tensor, roi_extractor, x,
                          rois: Tensor) -> dict:
        """``cls_score`` and ``bbox_pred`` of the box head (:meth:`_run_bbox_head`); a subclass
        may return more keys (e.g. the classifier input for DA heads), which
        :meth:`_hce_bbox_forward` passes on in its results."""
        cls_score, bbox_pred = self._run_bbox_head(bbox_head, head_in, roi_extractor, x, rois)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred)

    def _run_bbox_head(self, bbox_head, head_in: Tensor, roi_extractor, x, rois: Tensor):
        """``bbox_head(head_in)``; Double-Head R-CNN's head also reads the RoI feature of the
        boxes enlarged by ``reg_roi_scale_factor`` for its (conv) regression branch, which
        stays conventional (HCE feeds the classification branch)."""
        scale = getattr(self, 'reg_roi_scale_factor', None)
        if scale is None:
            return bbox_head(head_in)
        reg_feats = roi_extractor(x[:roi_extractor.num_inputs], rois, roi_scale_factor=scale)
        return bbox_head(head_in, reg_feats)

    def _hce_bbox_forward(self, stage: int, x, rois: Tensor, **extra) -> dict:
        """Conventional RoI feature -> early fusion with ``x_context`` -> bbox head; at test time
        ``cls_score`` is replaced by the late-fused scores (see ``ContextClassifier``).
        ``extra``: the base's other ``_bbox_forward`` arguments (HTC: ``semantic_feat``).

        With ``GridRoIAlign`` (and a GAP context classifier) the context branch runs fused
        (``HierarchicalContextRoI`` with ``fuse_into``): ``x_context`` is then None in the
        results, and the early fusion is added into ``bbox_feats`` in place (unless a mask
        branch sharing the box RoI extractor reads them in training)."""
        roi_extractor, bbox_head = self._stage(stage)
        bbox_feats = self._base_roi_feats(roi_extractor, x, rois, **extra)
        ctx = self._context_of(x)
        fuse_scores = ctx.fuse_scores
        module = self.context_roi[stage]
        clf = None if self.context_cls is None else self.context_cls[stage]
        x_context = ctx_logits = pooled = None
        if not self._needs_context_rois(stage, fuse_scores):
            head_in = bbox_feats
        elif (module.fused_ok and (fuse_scores or torch.is_grad_enabled())
              and (clf is None or clf.pool == 'avg' or (fuse_scores and clf.test_branch == 'det'))):
            want_mean = clf is not None and not (fuse_scores and clf.test_branch == 'det')
            # a mask branch that shares the box RoI extractor reads bbox_feats in training
            shared = getattr(self, 'with_mask', False) and getattr(self, 'share_roi_extractor',
                                                                   False)
            head_in, pooled = module(ctx.embedded, rois, ctx.global_ctx[stage],
                                     fuse_into=bbox_feats,
                                     mean=want_mean, inplace=not shared)
            if clf is not None and not fuse_scores:
                ctx_logits = clf(None, pooled)
        else:
            x_context = module(ctx.embedded, rois, ctx.global_ctx[stage])
            if clf is not None and not fuse_scores:
                # training: s_ctx once, for the fused scores and the context loss; computed
                # before the fusion so that backward sums x_context's two grads in place
                ctx_logits = clf(x_context)
            head_in = module.fuse(bbox_feats, x_context)
        out = self._box_head_outputs(bbox_head, head_in, roi_extractor, x, rois)
        cls_score, bbox_pred = out.pop('cls_score'), out.pop('bbox_pred')
        if clf is not None and fuse_scores:
            cls_score = clf.test_scores(cls_score, x_context, pooled, bbox_head.loss_cls)
        elif clf is not None:  # training: trained late fusion scores s_det + s_ctx
            cls_score = map_logits(  # a recognition head's training output keeps its extras
                cls_score, lambda s: clf.train_scores(s, x_context, ctx_logits))
        # a shared mask branch gets the conventional feature (see above)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats,
                    x_context=x_context, ctx_logits=ctx_logits, **out)

    def _context_cls_loss(self, stage: int, bbox_results: dict, labels: Tensor,
                          label_weights: Tensor) -> dict:
        if self.context_cls is None:
            return {}
        clf = self.context_cls[stage]
        logits = bbox_results.get('ctx_logits')
        if logits is None:
            logits = clf(bbox_results['x_context'])
        return clf.loss(logits, labels, label_weights)

    # ---- entry points: the context once per batch, then mmdet's own flow ----------------
    def with_context(self, x, batch_data_samples, fuse_scores: bool = False) -> HCEFeatures:
        """``x`` with its :class:`ImageContext` (global context over the samples' image sizes);
        features that already carry one for the same path are returned as they are (a detector
        that needs the context elsewhere too, e.g. CR-DA's shared ICR, computes it once)."""
        if isinstance(x, HCEFeatures) and x.context.fuse_scores == fuse_scores:
            return x
        shapes = None
        if batch_data_samples is not None:
            shapes = [s.metainfo['img_shape'] for s in batch_data_samples]
        return HCEFeatures(x, self.image_context(x, shapes, fuse_scores))

    def loss(self, x, rpn_results_list, batch_data_samples) -> dict:
        """The base's losses with training scores, plus ``loss_img_cls`` on the same context."""
        feats = self.with_context(x, batch_data_samples, fuse_scores=False)
        losses = super().loss(feats, rpn_results_list, batch_data_samples)
        gts, ignores, _ = unpack_gt_instances(batch_data_samples)
        losses.update(self.context_embedding.loss(feats.context.img_logits, gts, ignores))
        return losses

    def predict(self, x, rpn_results_list, batch_data_samples, rescale: bool = False):
        """The base's predictions with late-fused box scores."""
        feats = self.with_context(x, batch_data_samples, fuse_scores=True)
        return super().predict(feats, rpn_results_list, batch_data_samples, rescale=rescale)

    def forward(self, x, rpn_results_list, batch_data_samples=None):
        """Tensor mode, scored as :meth:`predict`."""
        feats = self.with_context(x, batch_data_samples, fuse_scores=True)
        return super().forward(feats, rpn_results_list, batch_data_samples)

    def image_logits(self, x: Sequence[Tensor]) -> Tensor:
        """(N, K) multi-label image logits of the categorical embedding on the neck features
        ``x`` (with gradient; e.g. CR-DA's ICR when it shares this classifier); the carried
        context's when ``x`` comes from :meth:`with_context`."""
        return self._context_of(x).img_logits


def roi_labels(sampling_results: Sequence, num_classes: int, pos_weight: float = -1) -> tuple:
    """(labels, label_weights) of the sampled RoIs in the order of ``bbox2roi``: positives their
    gt label, negatives ``num_classes`` (background); weight ``pos_weight`` (1 if <= 0) for the
    positives, 1 for the negatives (the labels of mmdet's ``BBoxHead.get_targets``)."""
    labels, weights = [], []
    for res in sampling_results:
        num_pos, num_neg = len(res.pos_priors), len(res.neg_priors)
        labels += [res.pos_gt_labels.long(),
                   res.pos_gt_labels.new_full((num_neg, ), num_classes, dtype=torch.long)]
        w = 1.0 if pos_weight <= 0 else float(pos_weight)
        weights += [res.pos_priors.new_full((num_pos, ), w),
                    res.pos_priors.new_ones(num_neg)]
    return torch.cat(labels), torch.cat(weights)
