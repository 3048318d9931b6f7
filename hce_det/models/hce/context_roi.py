"""Hierarchical contextual RoI features and early fusion of HCE (arXiv:2008.01338, Sec. 3.2-3.3).

``x_instance`` = RoIAlign of the context-embedded map inside the proposal, ``x_global`` = RoIAlign
of the same map over the whole image, ``x_context = ReLU(conv1x1([x_instance, x_global]))``,
shaped like the conventional RoI feature (D x S x S).

Cost note 1: the 1x1 conv over the concatenation splits into ``W_i x_instance + W_g x_global + b``.
RoIAlign is linear in space and identical for every channel, so ``W_i RoIAlign(E) ==
RoIAlign(W_i E)``: we apply the bias-free ``W_i`` to the (small) embedded map *before* RoIAlign and
``W_g`` once per image, which is exactly the paper's conv but avoids a per-RoI conv.
Cost note 2: mmcv's CPU RoIAlign with adaptive sampling is slow for ~1000 test RoIs on a stride-8
map; the default instance layer is :class:`GridRoIAlign` (``layers/grid_roi_align.py``: same
maths with a fixed sampling ratio, one ``grid_sample`` per image, sparse backward, the
``x_global`` term and the ReLU written in the same pass). ``x_global`` (one RoI per image) uses
mmcv RoIAlign (:class:`SparseRoIAlign`, same results, on CPU).
Cost note 3: the (R, C, S, S) tensors (R = 300 RoIs x images at test time) dominate; the RoI
head runs ``forward(..., fuse_into=roi_feats)`` (``fused_context.py``), which never
materialises ``x_context`` as one tensor. Measured on an idle machine (trained seed-0 weights,
first 8 val images of ``hce_scene``, ``benchmark_overhead.py --threads 1``): gated-conv vs
vanilla inference 1.11x / 1.09x and training step 1.15x / 1.11x fused, 1.38x / 1.36x and
1.35x / 1.21x unfused (two interleaved runs each).
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv import ops
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS

from ..layers.grid_roi_align import AddReLUPerImage, GridRoIAlign, image_blocks, unsort_rows
from ..layers.sparse_roi_align import SparseRoIAlign
from .fused_context import FusedContext, fused_context_forward

EARLY_FUSIONS = (None, 'sum', 'concat')
GLOBAL_POOLS = ('grid', 'avg', 'max')


def build_roi_layer(cfg: dict, spatial_scale: float) -> nn.Module:
    """``GridRoIAlign`` or any mmcv RoI op (``type='RoIAlign'`` ...) from a config dict."""
    cfg = dict(cfg)
    layer_type = cfg.pop('type')
    if layer_type == 'GridRoIAlign':
        return GridRoIAlign(spatial_scale=spatial_scale, **cfg)
    return getattr(ops, layer_type)(spatial_scale=spatial_scale, **cfg)


def image_rois(img_shapes: Sequence[tuple], device) -> Tensor:
    """One RoI (batch_idx, 0, 0, w, h) per image covering its valid (unpadded) area."""
    rows = [[i, 0.0, 0.0, float(s[1]), float(s[0])] for i, s in enumerate(img_shapes)]
    return torch.tensor(rows, dtype=torch.float32, device=device)


def image_max(embedded: Tensor, img_shapes: Sequence[tuple], spatial_scale: float) -> Tensor:
    """(N, D, 1, 1) max of each image's map over its valid (unpadded) cells: those whose
    top-left corner lies inside the image, ``ceil(h * spatial_scale)`` x ``ceil(w * ...)``."""
    h, w = embedded.shape[-2:]
    out = []
    for i, shape in enumerate(img_shapes):
        vh = min(h, max(1, math.ceil(float(shape[0]) * spatial_scale)))
        vw = min(w, max(1, math.ceil(float(shape[1]) * spatial_scale)))
        out.append(embedded[i, :, :vh, :vw].amax(dim=(1, 2)))
    return torch.stack(out)[..., None, None]


@MODELS.register_module()
class HierarchicalContextRoI(BaseModule):
    """``x_context`` per RoI from the context-embedded map (and optional early fusion).

    Args:
        in_channels: channels D of the embedded map.
        out_channels: channels of ``x_context`` = the conventional RoI feature width.
        featmap_stride: stride of the embedded map (set by the RoI head from the embedding level).
        roi_layer: RoI layer for ``x_instance``: default ``GridRoIAlign`` with 1 sample per
            bin (bin centre; Mask R-CNN reports AP insensitive to this), or an mmcv op such
            as ``dict(type='RoIAlign', sampling_ratio=0)``;
            ``output_size`` must equal the box RoI extractor's (the RoI head fills it from
            ``bbox_roi_extractor`` when left out). ``x_global`` uses mmcv RoIAlign (adaptive).
        use_global: include ``x_global`` (paper: True). False gives ``x_context`` from
            ``x_instance`` only (ablation).
        early_fusion: how ``x_context`` joins the conventional RoI feature before the box head's
            shared FCs: ``'sum'`` (default; free at run time), ``'concat'`` (concatenate, then a
            1x1 conv back to ``out_channels``) or ``None`` (no early fusion). The paper leaves
            the operator open.
        global_pool: ``'grid'`` (default, the paper: ``x_global`` is the S x S RoIAlign grid of
            the whole image, added position by position to ``x_instance``) or ``'avg'`` (that
            grid averaged to one vector per image and broadcast to every position, so each RoI
            position sees the whole image's embedding; a hypothesis for the headroom split,
            where the cue is which classes are *somewhere* in the image) or ``'max'`` (global
            max pooling of the embedded map over the image's valid area, broadcast likewise: a
            small object's class responds at full strength, as in the image logits' GMP, where
            the grid's bin averages dilute it). Measured on the headroom split (1200
            iterations, 3 paired seeds, the candidate settings of
            ``configs/hce/hce-late-conv-gs0p3-gmax_*``; docs/RESULTS.md, hce_1200_gs):
            ``'max'`` +23.1 +- 10.2 context AP over vanilla (3/3 seeds), twin confusion 26.1 vs
            47.8 %; ``'grid'`` +7.3 +- 6.8 (2/3), 41.1 %. The COCO configs use ``'max'``; the
            module default stays the paper's grid.
        gate: ``None`` (default) or ``'zero'``: a learnable per-channel scale on ``x_context``
            that starts at 0, so ``'sum'`` early fusion begins exactly as the detector without
            HCE and lets training open it. Only with ``early_fusion='sum'``. Default chosen by
            ``compare.py hce`` (headroom split, 300 iterations, seed 0 only, an ablation): the
            gate together with trained late fusion gave context AP 25.1 (= vanilla's 25.1),
            the ungated default 31.4 (docs/RESULTS.md). At 1200 iterations with
            ``num_convs=1`` (``gated-conv``, 3 seeds): context AP +10.7 +- 4.7 over vanilla;
            the ungated ``both-conv`` (seed 0) -1.4.
    """

    def __init__(self, in_channels: int, out_channels: int, featmap_stride: float,
                 roi_layer: dict = dict(type='GridRoIAlign', output_size=7, sampling_ratio=1),
                 use_global: bool = True, early_fusion: Optional[str] = 'sum',
                 gate: Optional[str] = None, global_pool: str = 'grid', init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if global_pool not in GLOBAL_POOLS:
            raise ValueError(f'context_roi.global_pool={global_pool!r}; choose one of '
                             f'{GLOBAL_POOLS}')
        self.global_pool = global_pool
        if early_fusion not in EARLY_FUSIONS:
            raise ValueError(f'early_fusion={early_fusion!r}; choose one of {EARLY_FUSIONS}')
        if gate not in (None, 'zero'):
            raise ValueError(f"context_roi.gate={gate!r}; choose None or 'zero'")
        if gate is not None and early_fusion != 'sum':
            raise ValueError(f"context_roi.gate='zero' needs early_fusion='sum' (got "
                             f'{early_fusion!r}): only a sum is the identity with a zero gate')
        self.gate = nn.Parameter(torch.zeros(out_channels)) if gate else None
        self.roi_layer = build_roi_layer(roi_layer, 1.0 / featmap_stride)
        # mmcv RoIAlign's results; SparseRoIAlign: its faster CPU path (2x at our shapes)
        self.global_layer = SparseRoIAlign(self.roi_layer.output_size, 1.0 / featmap_stride,
                                           sampling_ratio=0, aligned=True)
        self.use_global = use_global
        self.early_fusion = early_fusion
        self.out_channels = out_channels
        self.inst_proj = nn.Conv2d(in_channels, out_channels, 1, bias=False)  # W_i (bias-free)
        self.global_proj = nn.Conv2d(in_channels, out_channels, 1) if use_global else None
        self.inst_bias = None if use_global else nn.Parameter(torch.zeros(out_channels))
        self.fuse_proj = (nn.Conv2d(2 * out_channels, out_channels, 1)
                          if early_fusion == 'concat' else None)

    def init_weights(self) -> None:
        super().init_weights()
        for m in (self.inst_proj, self.global_proj, self.fuse_proj):
            if m is not None:
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.0)

    def global_context(self, embedded: Tensor, img_shapes: Optional[Sequence[tuple]]) -> Tensor:
        """``W_g x_global + b`` per image, (N, C, S, S). ``img_shapes=None``: the whole map."""
        if img_shapes is None:
            h, w = embedded.shape[-2:]
            stride = 1.0 / self.roi_layer.spatial_scale
            img_shapes = [(h * stride, w * stride)] * embedded.shape[0]
        if self.global_pool == 'max':
            return self.global_proj(image_max(embedded, img_shapes, self.roi_layer.spatial_scale)
                                    ).expand(-1, -1, *self.roi_layer.output_size)
        x_global = self.global_layer(embedded, image_rois(img_shapes, embedded.device))
        if self.global_pool == 'avg':
            x_global = x_global.mean(dim=(2, 3), keepdim=True).expand_as(x_global)
        return self.global_proj(x_global)

    def _add_term(self, embedded: Tensor, global_ctx: Optional[Tensor]) -> Tensor:
        """``W_g x_global + b`` per image (N, C, S, S), or ``b`` (1, C, 1, 1) without
        ``x_global``."""
        if not self.use_global:
            return self.inst_bias.view(1, -1, 1, 1)
        add = self.global_context(embedded, None) if global_ctx is None else global_ctx
        if add.shape[0] > 1 and add.shape[0] != embedded.shape[0]:
            raise ValueError(f'global_ctx has {add.shape[0]} images, the map '
                             f'{embedded.shape[0]}')
        return add

    def forward(self, embedded: Tensor, rois: Tensor, global_ctx: Optional[Tensor] = None,
                fuse_into: Optional[Tensor] = None, mean: bool = True, inplace: bool = False):
        """``x_context`` (R, C, S, S) for ``rois`` (R, 5) from the embedded map (N, D, h, w):
        ``ReLU(W_i x_instance + W_g x_global[image of the RoI] + b)``.

        ``global_ctx`` is :meth:`global_context`'s output (computed here when None).
        ``fuse_into`` (conventional RoI features, needs :attr:`fused_ok`): returns
        (``fuse(fuse_into, x_context)``, spatial mean of ``x_context`` (R, C) or None) instead,
        see :meth:`_fused`; ``fuse_into`` is updated in place without autograd, and with it if
        ``inplace``."""
        if fuse_into is not None:
            return self._fused(embedded, rois, global_ctx, fuse_into, mean, inplace)
        proj = self.inst_proj(embedded)  # W_i E; RoIAlign of it == W_i RoIAlign(E)
        add = self._add_term(embedded, global_ctx)
        if rois.shape[0] == 0:
            return F.relu(self.roi_layer(proj, rois) + add[:0])
        counts, perm = image_blocks(rois, embedded.shape[0])
        if perm is not None:
            rois = rois[perm]
        if isinstance(self.roi_layer, GridRoIAlign):
            x = self.roi_layer.blocks(proj, rois, counts, add, relu=True)
        else:
            x = AddReLUPerImage.apply(self.roi_layer(proj, rois), counts, add)
        return x if perm is None else unsort_rows(x, perm)

    @property
    def fused_ok(self) -> bool:
        """``forward(..., fuse_into=...)`` applies: ``GridRoIAlign``, early fusion ``'sum'`` or
        None (None: test time only)."""
        return isinstance(self.roi_layer, GridRoIAlign) and self.early_fusion != 'concat'

    def _fused(self, embedded: Tensor, rois: Tensor, global_ctx: Optional[Tensor],
               roi_feats: Tensor, mean: bool, inplace: bool) -> Tuple[Tensor, Optional[Tensor]]:
        """``fuse(roi_feats, x)`` and the spatial mean of ``x`` (R, C) (if ``mean``) for
        ``x = self(embedded, rois, global_ctx)``, image block by image block
        (:func:`fused_context_forward`, :class:`FusedContext`), so that ``x`` is never materialised
        as one (R, C, S, S) tensor. Without autograd (test time) the sum goes into
        ``roi_feats`` in place, with autograd if ``inplace``. Other RoI orders than
        ``bbox2roi``'s (and ``early_fusion=None`` with autograd) take the plain path."""
        counts, perm = (None, None) if rois.shape[0] == 0 else \
            image_blocks(rois, embedded.shape[0])
        grad = torch.is_grad_enabled()
        if counts is None or perm is not None or (grad and self.early_fusion != 'sum'):
            x = self.forward(embedded, rois, global_ctx)
            return self.fuse(roi_feats, x), (x.sum(dim=(2, 3)) / (x.shape[2] * x.shape[3])
                                             if mean else None)
        proj = self.inst_proj(embedded)
        add = self._add_term(embedded, global_ctx)
        layer = self.roi_layer
        gx, gy = layer.coords(proj, rois)
        gate = None if self.gate is None else self.gate.view(1, -1, 1, 1)
        args = (gx, gy, add, counts, layer.output_size, layer.sampling_ratio)
        if grad:
            inplace = inplace and roi_feats._base is None and not (
                roi_feats.is_leaf and roi_feats.requires_grad)
            head, x_mean = FusedContext.apply(roi_feats, gate, proj, *args, inplace)
        else:
            head = roi_feats
            x_mean, _ = fused_context_forward(None if self.early_fusion is None else head, roi_feats,
                                       gate, proj, *args, keep=False)
        return head, x_mean if mean else None

    def fuse(self, roi_feats: Tensor, x_context: Tensor) -> Tensor:
        """Early fusion of the conventional RoI feature with ``x_context`` (same shape out)."""
        if self.early_fusion is None:
            return roi_feats
        if self.early_fusion == 'sum':
            if self.gate is not None:  # roi_feats + gate * x_context in one pass
                return torch.addcmul(roi_feats, self.gate.view(1, -1, 1, 1), x_context)
            return roi_feats + x_context
        return self.fuse_proj(torch.cat([roi_feats, x_context], dim=1))
