"""Hierarchical contextual RoI features and early fusion of HCE (arXiv:2008.01338, Sec. 3.2-3.3).

``x_instance`` = RoIAlign of the context-embedded map inside the proposal, ``x_global`` = RoIAlign
of the same map over the whole image, ``x_context = ReLU(conv1x1([x_instance, x_global]))``,
shaped like the conventional RoI feature (D x S x S).

Cost note 1: the 1x1 conv over the concatenation splits into ``W_i x_instance + W_g x_global + b``.
RoIAlign is linear in space and identical for every channel, so ``W_i RoIAlign(E) ==
RoIAlign(W_i E)``: we apply the bias-free ``W_i`` to the (small) embedded map *before* RoIAlign and
``W_g`` once per image, which is exactly the paper's conv but avoids a per-RoI conv.
Cost note 2: mmcv's CPU RoIAlign with adaptive sampling is slow for ~1000 test RoIs on a stride-8
map; the default instance layer is :class:`GridRoIAlign` (same maths with a fixed sampling ratio,
one batched ``grid_sample`` per image). ``x_global`` (one RoI per image) uses mmcv RoIAlign.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv import ops
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS

EARLY_FUSIONS = (None, 'sum', 'concat')
GLOBAL_POOLS = ('grid', 'avg')


class GridRoIAlign(nn.Module):
    """RoIAlign (``aligned=True``, ``sampling_ratio`` s x s bilinear samples per bin, averaged)
    through ``F.grid_sample``. Matches mmcv ``RoIAlign`` for RoIs inside the map; samples beyond
    the border are clamped to it (mmcv zeroes samples more than one pixel outside)."""

    def __init__(self, output_size, spatial_scale: float, sampling_ratio: int = 1) -> None:
        super().__init__()
        self.output_size = (output_size, output_size) if isinstance(output_size, int) \
            else tuple(output_size)
        self.spatial_scale = spatial_scale
        if sampling_ratio < 1:
            raise ValueError('GridRoIAlign needs a fixed sampling_ratio >= 1')
        self.sampling_ratio = sampling_ratio

    def forward(self, feats: Tensor, rois: Tensor) -> Tensor:
        n, c, h, w = feats.shape
        (oh, ow), s = self.output_size, self.sampling_ratio
        if rois.shape[0] == 0:
            return feats.new_zeros(0, c, oh, ow)
        box = rois[:, 1:] * self.spatial_scale - 0.5  # pixel-index coordinates (aligned=True)
        ty = (torch.arange(oh * s, device=feats.device, dtype=feats.dtype) + 0.5) / (oh * s)
        tx = (torch.arange(ow * s, device=feats.device, dtype=feats.dtype) + 0.5) / (ow * s)
        ys = box[:, 1:2] + ty[None] * (box[:, 3:4] - box[:, 1:2])  # (R, oh*s)
        xs = box[:, 0:1] + tx[None] * (box[:, 2:3] - box[:, 0:1])  # (R, ow*s)
        gy = (2 * ys + 1) / h - 1  # grid_sample, align_corners=False
        gx = (2 * xs + 1) / w - 1
        grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)
        idx = rois[:, 0].long()
        sels, parts = [], []
        for b in range(n):
            sel = (idx == b).nonzero(as_tuple=True)[0]
            if sel.numel() == 0:
                continue
            g = grid[sel].reshape(1, -1, ow * s, 2)
            v = F.grid_sample(feats[b:b + 1], g, mode='bilinear', padding_mode='border',
                              align_corners=False)  # (1, C, R_b*oh*s, ow*s)
            v = v.view(c, sel.numel(), oh * s, ow * s).transpose(0, 1)
            sels.append(sel)
            parts.append(F.avg_pool2d(v, s) if s > 1 else v)
        order = torch.cat(sels)
        out = torch.cat(parts)
        if bool((order[1:] > order[:-1]).all()):  # bbox2roi order: already in place
            return out
        return out.new_empty(out.shape).index_copy_(0, order, out)


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
            where the cue is which classes are *somewhere* in the image).
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
        self.global_layer = ops.RoIAlign(self.roi_layer.output_size, 1.0 / featmap_stride,
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
        x_global = self.global_layer(embedded, image_rois(img_shapes, embedded.device))
        if self.global_pool == 'avg':
            x_global = x_global.mean(dim=(2, 3), keepdim=True).expand_as(x_global)
        return self.global_proj(x_global)

    def forward(self, embedded: Tensor, rois: Tensor, global_ctx: Optional[Tensor] = None
                ) -> Tensor:
        """``x_context`` (R, C, S, S) for ``rois`` (R, 5) from the embedded map (N, D, h, w).

        ``global_ctx`` is :meth:`global_context`'s output (computed here when None)."""
        x = self.roi_layer(self.inst_proj(embedded), rois)  # == W_i RoIAlign(E)
        if self.use_global:
            if global_ctx is None:
                global_ctx = self.global_context(embedded, None)
            x = x + global_ctx[rois[:, 0].long()]
        else:
            x = x + self.inst_bias.view(1, -1, 1, 1)
        return F.relu(x)

    def fuse(self, roi_feats: Tensor, x_context: Tensor) -> Tensor:
        """Early fusion of the conventional RoI feature with ``x_context`` (same shape out)."""
        if self.early_fusion is None:
            return roi_feats
        if self.early_fusion == 'sum':
            if self.gate is not None:
                x_context = self.gate.view(1, -1, 1, 1) * x_context
            return roi_feats + x_context
        return self.fuse_proj(torch.cat([roi_feats, x_context], dim=1))
