"""Exact CPU RoIAlign that builds the bilinear sampling of all RoIs once per call as a sparse
interpolation matrix ``S`` (RoI bins x feature pixels) shared by every channel: forward
``S @ feats``, backward ``S^T @ grad``. Why: mmcv's CPU backward recomputes the weights for each
channel and scatters scalar by scalar (~1/4 of a small CPU Faster R-CNN training step).
Semantics: mmcv 2.1's CPU ``roi_align`` (``mmcv/ops/csrc/pytorch/cpu/roi_align.cpp``),
re-derived here, no code copied.
"""
import warnings
from typing import List, Tuple

import numpy as np
import torch
from mmcv.ops import RoIAlign
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS
from torch import Tensor, nn
from torch.autograd import Function
from torch.autograd.function import once_differentiable

# Largest per-sample / per-bin intermediate (elements) built at once; RoIs are processed in
# chunks beyond it, so one huge RoI (many adaptive samples) cannot blow up memory.
_CHUNK_ELEMS = 1 << 20
_DTYPES = (torch.float32, torch.float64)


def _axis_taps(start: Tensor, bin_size: Tensor, grid: Tensor, n_out: int,
               size: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Bilinear taps of one axis (y or x) for every RoI and output bin.

    A 2-D sample's weight is the product of a y and an x factor, and a sample counts only when
    both its coordinates are in range, so a bin's average factorises into (y taps) x (x taps),
    each divided by its own grid size.

    Args:
        start, bin_size: (n,) RoI start and bin size on this axis, in feature pixels.
        grid: (n,) long, samples per bin on this axis (0: the bin is empty).
        n_out: output bins on this axis. size: feature map size on this axis.

    Returns:
        index (n, n_out, K) long: the distinct pixels a bin touches, ascending, first ``length``
        slots meaningful (0 after); length (n, n_out) long; weight (n, n_out, K).
    """
    dtype = start.dtype
    n = start.numel()
    gmax = max(int(grid.max()), 1)
    pos = torch.arange(n_out, dtype=dtype)
    sub = torch.arange(gmax, dtype=dtype)
    # same operation order as mmcv: (start + p * bin) + ((i + .5) * bin) / grid
    bin_start = start[:, None] + pos[None, :] * bin_size[:, None]
    offset = (sub + 0.5)[None, :] * bin_size[:, None] / grid[:, None].to(dtype)
    coord = bin_start[:, :, None] + offset[:, None, :]  # (n, n_out, gmax)
    valid = (torch.arange(gmax)[None, :] < grid[:, None])[:, None, :]
    valid = valid & (coord >= -1.0) & (coord <= size)  # outside [-1, size]: contributes 0
    coord = coord.clamp(0, size)  # y <= 0 -> 0; values past size are invalid anyway
    low = coord.long()  # coord >= 0: truncation is floor
    at_edge = low >= size - 1  # at or past the last pixel: it takes the whole weight
    low = torch.where(at_edge, size - 1, low)
    coord = torch.where(at_edge, low.to(dtype), coord)
    high = torch.where(at_edge, low, low + 1)
    frac_high = coord - low
    scale = valid.to(dtype) / grid.clamp(min=1).to(dtype)[:, None, None]

    # merge the 2 * gmax (pixel, weight) pairs of a bin into distinct ascending pixels
    pix = torch.cat([low, high], 2)
    pix = torch.where(torch.cat([valid, valid], 2), pix, size)  # out of range: sorts last
    wgt = torch.cat([(1 - frac_high) * scale, frac_high * scale], 2)
    pix, order = pix.sort(2)
    wgt = wgt.gather(2, order)
    new = torch.ones_like(pix, dtype=torch.bool)
    new[:, :, 1:] = pix[:, :, 1:] != pix[:, :, :-1]
    slot = torch.cumsum(new, 2) - 1
    length = (new & (pix < size)).sum(2)
    width = max(int(length.max()), 1)
    weight = torch.zeros_like(wgt).scatter_add_(2, slot, wgt)[:, :, :width]
    index = torch.zeros_like(pix).scatter_(2, slot, pix)[:, :, :width]
    index = torch.where(torch.arange(width) < length[:, :, None], index, 0)
    return index, length, weight


def _expand(counts: Tensor) -> Tuple[Tensor, Tensor]:
    """For items with ``counts`` sub-items each: the item of every sub-item and the exclusive
    prefix sum (start of each item's sub-items)."""
    starts = torch.cumsum(counts, 0) - counts
    total = int(starts[-1] + counts[-1]) if counts.numel() else 0
    return torch.repeat_interleave(counts, output_size=total), starts


def _roi_params(rois: Tensor, out_hw: Tuple[int, int], spatial_scale: float,
                sampling_ratio: int, aligned: bool) -> Tuple[Tensor, ...]:
    """Per RoI: start (y, x), bin size (h, w) in feature pixels and samples per bin (h, w)."""
    oh, ow = out_hw
    offset = 0.5 if aligned else 0.0
    start_x = rois[:, 1] * spatial_scale - offset
    start_y = rois[:, 2] * spatial_scale - offset
    roi_w = (rois[:, 3] * spatial_scale - offset) - start_x
    roi_h = (rois[:, 4] * spatial_scale - offset) - start_y
    if aligned:
        if bool(((roi_w < 0) | (roi_h < 0)).any()):
            raise RuntimeError('SparseRoIAlign: RoIs with x2 < x1 or y2 < y1 are not allowed '
                               'with aligned=True (as in mmcv roi_align)')
    else:  # legacy mode: at least one pixel
        roi_w = roi_w.clamp(min=1.0)
        roi_h = roi_h.clamp(min=1.0)
    bin_h = roi_h / oh
    bin_w = roi_w / ow
    if sampling_ratio > 0:
        grid_h = torch.full_like(bin_h, sampling_ratio, dtype=torch.long)
        grid_w = grid_h
    else:  # mmcv: ceilf(roi_size / out_size), i.e. rounded to float32 first
        grid_h = bin_h.float().ceil().long()
        grid_w = bin_w.float().ceil().long()
    return start_y, start_x, bin_h, bin_w, grid_h, grid_w


def _chunk_entries(batch: Tensor, params: Tuple[Tensor, ...], out_hw: Tuple[int, int],
                   in_hw: Tuple[int, int]) -> Tuple[Tensor, Tensor, Tensor]:
    """The nonzeros of ``S`` for a chunk of RoIs: rows ``r * oh * ow + ph * ow + pw`` (local
    to the chunk), columns ``b * H * W + y * W + x``.

    Returns (entries per row, column of each entry, value of each entry), sorted by row, then
    column, with distinct columns within a row.
    """
    oh, ow = out_hw
    height, width = in_hw
    start_y, start_x, bin_h, bin_w, grid_h, grid_w = params
    n = batch.numel()
    y_idx, y_len, y_w = _axis_taps(start_y, bin_h, grid_h, oh, height)
    x_idx, x_len, x_w = _axis_taps(start_x, bin_w, grid_w, ow, width)
    ky, kx = y_w.size(2), x_w.size(2)

    # per row (roi, ph, pw): y taps x x taps
    rows = n * oh * ow
    y_len_row = y_len[:, :, None].expand(n, oh, ow).reshape(rows)
    x_len_row = x_len[:, None, :].expand(n, oh, ow).reshape(rows)
    y_off_row = (torch.arange(n * oh).view(n, oh, 1) * ky).expand(n, oh, ow).reshape(rows)
    x_off_row = (torch.arange(n * ow).view(n, 1, ow) * kx).expand(n, oh, ow).reshape(rows)
    img_row = (batch * (height * width))[:, None].expand(n, oh * ow).reshape(rows)

    # lines = (row, y tap a)
    line_row, line_start = _expand(y_len_row)
    y_pos = y_off_row.index_select(0, line_row) + (
        torch.arange(line_row.numel()) - line_start.index_select(0, line_row))
    line_col = img_row.index_select(0, line_row) + y_idx.view(-1).index_select(0, y_pos) * width
    line_wy = y_w.reshape(-1).index_select(0, y_pos)
    # entries = (line, x tap c); x tap position x_off + c = x_off - entry_start + e
    entry_line, entry_start = _expand(x_len_row.index_select(0, line_row))
    x_pos = ((x_off_row.index_select(0, line_row) - entry_start).index_select(0, entry_line) +
             torch.arange(entry_line.numel()))
    cols = line_col.index_select(0, entry_line) + x_idx.view(-1).index_select(0, x_pos)
    vals = line_wy.index_select(0, entry_line) * x_w.reshape(-1).index_select(0, x_pos)
    return y_len_row * x_len_row, cols, vals


def _interp_matrix(rois: Tensor, out_hw: Tuple[int, int], in_shape: Tuple[int, int, int],
                   spatial_scale: float, sampling_ratio: int, aligned: bool
                   ) -> Tuple[Tensor, Tensor, Tensor]:
    """CSR arrays (crow, col, value) of ``S``, shape (R * oh * ow, N * H * W)."""
    num_imgs, height, width = in_shape
    oh, ow = out_hw
    batch = rois[:, 0].long()
    if bool(((batch < 0) | (batch >= num_imgs)).any()):
        raise ValueError(f'SparseRoIAlign: RoI batch index outside [0, {num_imgs})')
    # mmcv hands spatial_scale to its kernel as a C float
    params = _roi_params(rois, out_hw, float(np.float32(spatial_scale)), sampling_ratio,
                         aligned)
    grid_h, grid_w = params[4:]
    # chunks keep the per-sample tensors (n x bins x 2 * grid) bounded
    per_roi = 2 * max(oh * int(grid_h.max()), ow * int(grid_w.max()), 1)
    step = max(1, _CHUNK_ELEMS // per_roi)
    counts, cols, vals = [], [], []
    for i in range(0, batch.numel(), step):
        cnt, col, val = _chunk_entries(batch[i:i + step], [p[i:i + step] for p in params],
                                       out_hw, (height, width))
        counts.append(cnt)
        cols.append(col)
        vals.append(val)
    counts, cols, vals = (torch.cat(t) if len(t) > 1 else t[0] for t in (counts, cols, vals))
    crow = counts.new_zeros(counts.numel() + 1)
    torch.cumsum(counts, 0, out=crow[1:])
    return crow, cols, vals


def _csr(crow: Tensor, col: Tensor, val: Tensor, size: Tuple[int, int]) -> Tensor:
    with warnings.catch_warnings():  # "sparse CSR support is in beta" (once per process)
        warnings.filterwarnings('ignore', message='Sparse CSR tensor support is in beta')
        return torch.sparse_csr_tensor(crow, col, val, size, check_invariants=False)


class _SparseRoIAlignFunction(Function):
    """Average-pooling RoIAlign on CPU through the sparse interpolation matrix."""

    @staticmethod
    def forward(ctx, input: Tensor, rois: Tensor, output_size: Tuple[int, int],
                spatial_scale: float, sampling_ratio: int, aligned: bool) -> Tensor:
        num_imgs, channels, height, width = input.shape
        oh, ow = output_size
        num_rois = rois.size(0)
        ctx.input_shape = input.shape
        ctx.empty = num_rois == 0
        if ctx.empty:
            return input.new_zeros(0, channels, oh, ow)
        rois = rois.detach().to(input.dtype)
        crow, col, val = _interp_matrix(rois, output_size, (num_imgs, height, width),
                                        spatial_scale, sampling_ratio, aligned)
        rows, cols = num_rois * oh * ow, num_imgs * height * width
        feats = input.permute(0, 2, 3, 1).reshape(cols, channels)
        out = torch.sparse.mm(_csr(crow, col, val, (rows, cols)), feats)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(crow, col, val)
        return out.view(num_rois, oh, ow, channels).permute(0, 3, 1, 2).contiguous()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor) -> tuple:
        num_imgs, channels, height, width = ctx.input_shape
        if not ctx.needs_input_grad[0]:
            return None, None, None, None, None, None
        if ctx.empty:
            return grad_output.new_zeros(ctx.input_shape), None, None, None, None, None
        crow, col, val = ctx.saved_tensors
        rows, cols = crow.numel() - 1, num_imgs * height * width
        grad = grad_output.permute(0, 2, 3, 1).reshape(rows, channels)
        # S^T as an (unsorted) COO matrix: one length-C axpy per nonzero
        row = torch.repeat_interleave(torch.diff(crow), output_size=val.numel())
        s_t = torch.sparse_coo_tensor(torch.stack([col, row]), val, (cols, rows),
                                      check_invariants=False)
        grad_feats = torch.sparse.mm(s_t, grad)
        grad_input = grad_feats.view(num_imgs, height, width, channels).permute(0, 3, 1, 2)
        return grad_input.contiguous(), None, None, None, None, None


class SparseRoIAlign(RoIAlign):
    """mmcv ``RoIAlign`` (same arguments, same results) with a faster CPU path.

    On CPU, for ``pool_mode='avg'``, ``use_torchvision=False`` and float32/float64 inputs, the
    bilinear sampling of all RoIs is built once as a sparse matrix applied to every channel at
    once (forward and backward); there is no gradient w.r.t. the RoIs, as in mmcv. Anything
    else (CUDA tensors, ``pool_mode='max'``, ``use_torchvision=True``, other dtypes) is
    delegated unchanged to ``mmcv.ops.RoIAlign`` / ``mmcv.ops.roi_align``. As in mmcv,
    ``aligned=True`` RoIs with x2 < x1 or y2 < y1 raise a ``RuntimeError``. Unlike mmcv (which
    reads the raw storage as NCHW), non-contiguous inputs such as channels-last are handled.

    Args:
        input: (N, C, H, W) features. rois: (R, 5) ``[batch_idx, x1, y1, x2, y2]`` in input
            image coordinates (scaled by ``spatial_scale``), any batch order.
    Returns:
        (R, C, output_size[0], output_size[1]).
    """

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:
        if (input.device.type != 'cpu' or self.pool_mode != 'avg' or self.use_torchvision
                or input.dtype not in _DTYPES):
            return super().forward(input, rois)
        return _SparseRoIAlignFunction.apply(input, rois, self.output_size,
                                             self.spatial_scale, self.sampling_ratio,
                                             self.aligned)


@MODELS.register_module()
class SparseRoIExtractor(SingleRoIExtractor):
    """``SingleRoIExtractor`` whose ``roi_layer=dict(type='RoIAlign', ...)`` builds
    :class:`SparseRoIAlign` layers (same arguments); other layer types as the parent."""

    def build_roi_layers(self, layer_cfg, featmap_strides: List[int]) -> nn.ModuleList:
        cfg = layer_cfg.copy()
        if cfg.get('type') in ('RoIAlign', RoIAlign):
            cfg['type'] = SparseRoIAlign
        return super().build_roi_layers(cfg, featmap_strides)
