"""HCE RoI heads: switch HCE on in any mmdet two-stage config by changing ``roi_head.type``.

``HCERoIHead`` (Faster / Mask R-CNN) subclasses ``StandardRoIHead``; the image-level categorical
embedding, the hierarchical context RoI module and the context classifier live in the RoI head,
so the detector, neck and bbox head stay stock mmdet. The mask branch (if any) sees the
conventional RoI features only.
"""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import ModuleList
from torch import Tensor

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS


class HCEFeatures(tuple):
    """The neck's multi-level features (a plain tuple to mmdet code) plus the image-level context,
    computed once per batch on first use (``context``) and the image sizes for ``x_global``."""

    def __new__(cls, feats, img_shapes=None, fuse_scores=False):
        obj = super().__new__(cls, feats)
        obj.img_shapes = img_shapes
        obj.fuse_scores = fuse_scores  # test time: late-fused class scores
        obj.context = None
        return obj


def _per_stage(cfg, num_stages: int, key: str) -> list:
    if isinstance(cfg, (list, tuple)):
        if len(cfg) != num_stages:
            raise ValueError(f'roi_head.{key} has {len(cfg)} entries for {num_stages} stages')
        return [None if c is None else dict(c) for c in cfg]
    return [None if cfg is None else dict(cfg) for _ in range(num_stages)]


class HCEMixin:
    """Builds and runs the HCE modules; shared by the standard and the cascade RoI heads."""

    def _build_hce(self, context_embedding: dict, context_roi: Union[dict, list],
                   late_fusion: Optional[Union[dict, list]], heads: list, extractors: list
                   ) -> None:
        if getattr(self, 'shared_head', None) is not None:
            raise ValueError('HCE RoI heads do not support roi_head.shared_head (C4 models)')
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
                if head.custom_cls_channels:
                    raise ValueError('roi_head.late_fusion needs a softmax bbox head; '
                                     f'{type(head.loss_cls).__name__} uses custom channels')
                cfg = dict(type='ContextClassifier', **cfg)
                if cfg.setdefault('num_classes', num_classes) != num_classes:
                    raise ValueError(f'roi_head.late_fusion.num_classes={cfg["num_classes"]} but '
                                     f'roi_head.bbox_head.num_classes={num_classes}')
                cfg.setdefault('in_channels', self.context_roi[stage].out_channels)
                cfg.setdefault('roi_size', out_size if isinstance(out_size, int) else out_size[0])
                self.context_cls.append(MODELS.build(cfg))

    # ---- context computation -------------------------------------------------------------
    def _wrap(self, x, batch_data_samples, fuse_scores: bool) -> HCEFeatures:
        shapes = None
        if batch_data_samples is not None:
            shapes = [s.metainfo['img_shape'] for s in batch_data_samples]
        return HCEFeatures(x, shapes, fuse_scores)

    def _context(self, x) -> dict:
        """Embedding outputs for ``x`` (cached on an :class:`HCEFeatures`)."""
        if not isinstance(x, HCEFeatures):  # e.g. OHEM sampler calls with per-image features
            x = HCEFeatures(x)
        if x.context is None:
            cat_maps, img_logits, embedded = self.context_embedding(x)
            x.context = dict(cat_maps=cat_maps, img_logits=img_logits, embedded=embedded,
                             global_ctx={})
        return x.context

    def _needs_context_rois(self, stage: int, fuse_scores: bool) -> bool:
        if self.context_roi[stage].early_fusion is not None:
            return True
        if self.context_cls is None:
            return False
        return not fuse_scores or self.context_cls[stage].test_branch != 'det'

    def _global_ctx(self, stage: int, x) -> Optional[Tensor]:
        """``W_g x_global + b`` of the stage's context module, once per batch."""
        ctx = self._context(x)
        module = self.context_roi[stage]
        glob = None
        if module.use_global:
            glob = ctx['global_ctx'].get(stage)
            if glob is None:
                glob = module.global_context(ctx['embedded'], getattr(x, 'img_shapes', None))
                ctx['global_ctx'][stage] = glob
        return glob

    def _x_context(self, stage: int, x, rois: Tensor) -> Tensor:
        glob = self._global_ctx(stage, x)
        return self.context_roi[stage](self._context(x)['embedded'], rois, glob)

    def _hce_bbox_forward(self, stage: int, x, rois: Tensor, roi_extractor, bbox_head) -> dict:
        """Conventional RoI feature -> early fusion with ``x_context`` -> bbox head; at test time
        ``cls_score`` is replaced by the late-fused scores (see ``ContextClassifier``).

        With ``GridRoIAlign`` (and a GAP context classifier) the context branch runs fused
        (``HierarchicalContextRoI`` with ``fuse_into``): ``x_context`` is then None in the
        results, and the early fusion is added into ``bbox_feats`` in place (unless a mask
        branch sharing the box RoI extractor reads them in training)."""
        bbox_feats = roi_extractor(x[:roi_extractor.num_inputs], rois)
        fuse_scores = getattr(x, 'fuse_scores', False)
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
            head_in, pooled = module(self._context(x)['embedded'], rois,
                                     self._global_ctx(stage, x), fuse_into=bbox_feats,
                                     mean=want_mean, inplace=not shared)
            if clf is not None and not fuse_scores:
                ctx_logits = clf(None, pooled)
        else:
            x_context = self._x_context(stage, x, rois)
            if clf is not None and not fuse_scores:
                # training: s_ctx once, for the fused scores and the context loss; computed
                # before the fusion so that backward sums x_context's two grads in place
                ctx_logits = clf(x_context)
            head_in = module.fuse(bbox_feats, x_context)
        cls_score, bbox_pred = bbox_head(head_in)
        if clf is not None and fuse_scores:
            cls_score = clf.test_scores(cls_score, x_context, pooled)
        elif clf is not None:  # training: trained late fusion scores s_det + s_ctx
            cls_score = clf.train_scores(cls_score, x_context, ctx_logits)
        # a shared mask branch gets the conventional feature (see above)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats,
                    x_context=x_context, ctx_logits=ctx_logits)

    def _context_cls_loss(self, stage: int, bbox_results: dict, labels: Tensor,
                          label_weights: Tensor) -> dict:
        if self.context_cls is None:
            return {}
        clf = self.context_cls[stage]
        logits = bbox_results.get('ctx_logits')
        if logits is None:
            logits = clf(bbox_results['x_context'])
        return clf.loss(logits, labels, label_weights)

    def _img_cls_loss(self, x: HCEFeatures, batch_data_samples) -> dict:
        gts, ignores, _ = unpack_gt_instances(batch_data_samples)
        return self.context_embedding.loss(self._context(x)['img_logits'], gts, ignores)

    # ---- entry points (wrap the features, then run mmdet's own flow) ----------------------
    def loss(self, x, rpn_results_list, batch_data_samples) -> dict:
        x = self._wrap(x, batch_data_samples, fuse_scores=False)
        losses = super().loss(x, rpn_results_list, batch_data_samples)
        losses.update(self._img_cls_loss(x, batch_data_samples))
        return losses

    def predict(self, x, rpn_results_list, batch_data_samples, rescale: bool = False):
        x = self._wrap(x, batch_data_samples, fuse_scores=True)
        return super().predict(x, rpn_results_list, batch_data_samples, rescale=rescale)

    def forward(self, x, rpn_results_list, batch_data_samples=None):
        x = self._wrap(x, batch_data_samples, fuse_scores=True)
        return super().forward(x, rpn_results_list, batch_data_samples)

    def image_context(self, x: Sequence[Tensor]) -> dict:
        """``cat_maps`` (N,K,h,w), image ``scores`` (sigmoid, N,K) for visualisation."""
        ctx = self._context(HCEFeatures(x))
        return dict(cat_maps=ctx['cat_maps'], scores=ctx['img_logits'].sigmoid())


@MODELS.register_module()
class HCERoIHead(HCEMixin, StandardRoIHead):
    """``StandardRoIHead`` with Hierarchical Context Embedding on the box branch.

    Args (besides ``StandardRoIHead``'s):
        context_embedding: :class:`CategoricalEmbedding` options; ``num_classes``,
            ``in_channels`` and ``embed_channels`` default to the bbox head's classes and the
            RoI extractor's width. Default ``dict()`` (P3, GAP+GMP, BCE weight 1).
        context_roi: :class:`HierarchicalContextRoI` options, e.g. ``early_fusion='sum'``
            (default) / ``'concat'`` / ``None``, ``use_global=True``.
        late_fusion: :class:`ContextClassifier` options (``fusion='mean'``,
            ``test_branch='both'``, loss weight 1.0) or ``None`` to disable late fusion.
            Default ``dict()`` (on).
    """

    def __init__(self, context_embedding: dict = dict(), context_roi: dict = dict(),
                 late_fusion: Optional[dict] = dict(), **kwargs) -> None:
        super().__init__(**kwargs)
        self._build_hce(context_embedding, context_roi, late_fusion,
                        [self.bbox_head], [self.bbox_roi_extractor])

    def _bbox_forward(self, x, rois: Tensor) -> dict:
        return self._hce_bbox_forward(0, x, rois, self.bbox_roi_extractor, self.bbox_head)

    def bbox_loss(self, x, sampling_results: List) -> dict:
        bbox_results = super().bbox_loss(x, sampling_results)
        if self.context_cls is not None:
            labels, label_weights = self.bbox_head.get_targets(
                sampling_results, self.train_cfg, concat=True)[:2]
            bbox_results['loss_bbox'].update(
                self._context_cls_loss(0, bbox_results, labels, label_weights))
        return bbox_results
