"""RoIAlign through ``F.grid_sample`` for RoIs grouped by image, with a sparse backward.

Forward: one ``grid_sample`` per image (``aligned=True``, a fixed ``sampling_ratio``, samples
averaged per bin). Backward w.r.t. the map: ``S^T @ grad`` with ``S`` the sparse bilinear
sampling matrix (``grid_sample``'s own CPU backward scatters channel by channel, ~3x slower at
the HCE shapes). Each image's block can be written as ``relu(block + add[image])`` in the same
pass, so the per-image ``x_global`` term of HCE's ``x_context`` needs no per-RoI gather.
RoIs come grouped by image as ``bbox2roi`` gives them; other orders are sorted and restored.
Used by :class:`hce_det.models.hce.HierarchicalContextRoI` (``x_instance``).
"""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable


def image_blocks(rois: Tensor, num_imgs: int) -> Tuple[List[int], Optional[Tensor]]:
    """RoIs per image and, unless ``rois`` are grouped by ascending image index (``bbox2roi``'s
    order), the stable permutation that groups them."""
    idx = rois[:, 0].long()
    counts = torch.bincount(idx, minlength=num_imgs).tolist()  # negative index: raises
    if len(counts) > num_imgs:
        raise ValueError(f'RoI batch index outside [0, {num_imgs})')
    perm = None
    if idx.numel() > 1 and bool((idx[1:] < idx[:-1]).any()):
        perm = torch.argsort(idx, stable=True)
    return counts, perm


def unsort_rows(x: Tensor, perm: Tensor) -> Tensor:
    """Rows of ``x`` (computed for ``rois[perm]``) back in the original RoI order."""
    return x.index_select(0, torch.argsort(perm))


def image_row_blocks(counts: List[int]) -> List[Tuple[int, int, int]]:
    """(image, first row, end row) of every image with RoIs."""
    out, start = [], 0
    for b, n in enumerate(counts):
        if n:
            out.append((b, start, start + n))
        start += n
    return out


def _write_block(dst: Tensor, src: Tensor, add: Optional[Tensor], relu: bool) -> None:
    """``dst = relu(src + add)`` (ReLU / add optional) in one pass where possible."""
    if add is None:
        dst.copy_(src)
    elif relu and dst.device.type == 'cpu':  # fused kernel, CPU only
        torch._add_relu(src, add, out=dst)
        return
    else:
        torch.add(src, add, out=dst)
    if relu:
        dst.relu_()


def _block_grads(ctx, grad: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
    """Backward of the ReLU and the per-image add: (grad w.r.t. the sampled features, grad
    w.r.t. ``add``)."""
    if ctx.relu:
        grad = torch.ops.aten.threshold_backward(grad, ctx.saved_tensors[-1], 0)
    grad_add = None
    if ctx.add_shape is not None and ctx.needs_input_grad[ctx.add_index]:
        if ctx.add_shape[0] > 1:  # per image: sum over its RoIs
            grad_add = grad.new_zeros((len(ctx.counts),) + tuple(grad.shape[1:]))
            for b, s, e in image_row_blocks(ctx.counts):
                torch.sum(grad[s:e], 0, out=grad_add[b])
        else:
            grad_add = grad.sum(0, keepdim=True)
        grad_add = grad_add.sum_to_size(ctx.add_shape)
    return grad, grad_add


class AddReLUPerImage(Function):
    """``out[RoIs of image b] = relu(x[RoIs of image b] + add[b])``: one pass, no per-RoI copy of
    ``add`` ((N or 1, C, S, S)-broadcastable). RoIs grouped by image, ``counts`` per image."""

    @staticmethod
    def forward(ctx, x: Tensor, counts: List[int], add: Tensor) -> Tensor:
        out = torch.empty_like(x, memory_format=torch.contiguous_format)
        for b, s, e in image_row_blocks(counts):
            _write_block(out[s:e], x[s:e], add[b if add.shape[0] > 1 else 0], True)
        ctx.counts, ctx.relu, ctx.add_shape, ctx.add_index = counts, True, add.shape, 2
        ctx.save_for_backward(out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor) -> tuple:
        grad, grad_add = _block_grads(ctx, grad)
        return grad, None, grad_add


def sample_image(feat: Tensor, gx: Tensor, gy: Tensor, out_size: Tuple[int, int],
                  s: int) -> Tensor:
    """One ``grid_sample`` of one image's map (1, C, h, w) at the grids of its n RoIs
    (normalised coordinates ``gx`` (n, ow*s), ``gy`` (n, oh*s)), s x s samples per bin averaged:
    (C, n, oh, ow), channel-major."""
    c, n, (oh, ow) = feat.shape[1], gx.shape[0], out_size
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)
    v = F.grid_sample(feat, grid.view(1, n * oh * s, ow * s, 2), mode='bilinear',
                      padding_mode='border', align_corners=False).view(c, n, oh * s, ow * s)
    return F.avg_pool2d(v, s) if s > 1 else v


class _GridRoIAlignFunction(Function):
    """:class:`GridRoIAlign` for RoIs grouped by image (``counts`` per image), optionally with
    ``relu(. + add[image])`` applied while writing each image's block into the output.

    Forward: one ``grid_sample`` per image. Backward w.r.t. the map: ``S^T @ grad`` with ``S`` the
    sparse bilinear sampling matrix (the same weights as ``grid_sample``'s), one length-C axpy
    per nonzero in channels-last memory (``grid_sampler_2d_backward`` on CPU scatters channel by
    channel, ~3x slower at our shapes)."""

    @staticmethod
    def forward(ctx, feats: Tensor, gx: Tensor, gy: Tensor, counts: List[int],
                out_size: Tuple[int, int], s: int, add: Optional[Tensor], relu: bool
                ) -> Tensor:
        out = None
        for b, st, e in image_row_blocks(counts):
            v = sample_image(feats[b:b + 1], gx[st:e], gy[st:e], out_size, s)
            if out is None:
                out = v.new_empty((sum(counts), v.shape[0]) + tuple(out_size))
            _write_block(out[st:e], v.transpose(0, 1),
                         None if add is None else add[b if add.shape[0] > 1 else 0], relu)
        ctx.counts, ctx.relu, ctx.out_size, ctx.s = counts, relu, out_size, s
        ctx.add_shape, ctx.add_index = None if add is None else add.shape, 6
        ctx.feats_shape = feats.shape
        ctx.save_for_backward(gx, gy, *([out] if relu else []))
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor) -> tuple:
        grad, grad_add = _block_grads(ctx, grad)
        grad_feats = None
        if ctx.needs_input_grad[0]:
            n, c, h, w = ctx.feats_shape
            mats = SamplingMatrices(*ctx.saved_tensors[:2], ctx.counts, (h, w), ctx.out_size,
                                     ctx.s)
            grad_feats = grad.new_zeros((n, h * w, c))  # channels-last
            for b, st, e in image_row_blocks(ctx.counts):  # S_b^T @ grad, channels-last rows
                g = grad[st:e].permute(0, 2, 3, 1).reshape(-1, c)
                grad_feats[b] = torch.sparse.mm(mats.transposed(st, e), g)
            grad_feats = grad_feats.view(n, h, w, c).permute(0, 3, 1, 2)
        return grad_feats, None, None, None, None, None, grad_add, None


def _axis_taps(g: Tensor, size: int) -> Tuple[Tensor, Tensor]:
    """``grid_sample``'s (bilinear, border, align_corners=False) two taps per normalised
    coordinate ``g`` (R, n): pixel indices and weights (R, 2n), low taps first."""
    pos = (((g + 1) * size - 1) / 2).clamp(0, size - 1)  # unnormalise, clip to the border
    low = pos.floor()
    taps = torch.cat([low, low + 1], 1).long().clamp_(max=size - 1)  # past the border: weight 0
    return taps, torch.cat([low + 1 - pos, pos - low], 1)


class SamplingMatrices:
    """The bilinear sampling matrices ``S_b`` (n*oh*ow, h*w) of the RoIs of each image (the
    weights ``grid_sample`` uses, averaged over a bin's s x s samples), built once for all
    RoIs; :meth:`transposed` gives ``S_b^T`` (COO) for the RoI rows ``st:e`` of one image."""

    def __init__(self, gx: Tensor, gy: Tensor, counts: List[int], hw: Tuple[int, int],
                 out_size: Tuple[int, int], s: int) -> None:
        (h, w), (oh, ow) = hw, out_size
        xi, xw = _axis_taps(gx, w)  # (R, 2*ow*s)
        yi, yw = _axis_taps(gy, h)  # (R, 2*oh*s)
        self.pix = ((yi * w)[:, :, None] + xi[:, None, :]).flatten(1)  # (R, E) on the map
        self.val = (yw[:, :, None] * xw[:, None, :]).flatten(1)
        if s > 1:
            self.val = self.val / (s * s)
        dev = gx.device
        bin_y = (torch.arange(oh * s, device=dev) // s * ow).repeat(2)
        bin_x = (torch.arange(ow * s, device=dev) // s).repeat(2)
        bins = (bin_y[:, None] + bin_x[None, :]).flatten()  # output bin of each entry
        # row of S_b (output bin) of every entry of the first max(counts) RoIs of an image
        self.rows = (torch.arange(max(counts), device=dev)[:, None] * (oh * ow)
                     + bins[None, :]).flatten()
        self.shape = (h * w, oh * ow)

    def transposed(self, st: int, e: int) -> Tensor:
        n, (hw, bins_per_roi), nnz = e - st, self.shape, (e - st) * self.pix.shape[1]
        return torch.sparse_coo_tensor(torch.stack([self.pix[st:e].flatten(), self.rows[:nnz]]),
                                       self.val[st:e].flatten(), (hw, n * bins_per_roi),
                                       check_invariants=False)



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

    def coords(self, feats: Tensor, rois: Tensor) -> Tuple[Tensor, Tensor]:
        """``grid_sample`` coordinates of the sample points: x (R, ow*s), y (R, oh*s)."""
        h, w = feats.shape[-2:]
        (oh, ow), s = self.output_size, self.sampling_ratio
        box = rois[:, 1:] * self.spatial_scale - 0.5  # pixel-index coordinates (aligned=True)
        ty = (torch.arange(oh * s, device=feats.device, dtype=feats.dtype) + 0.5) / (oh * s)
        tx = (torch.arange(ow * s, device=feats.device, dtype=feats.dtype) + 0.5) / (ow * s)
        ys = box[:, 1:2] + ty[None] * (box[:, 3:4] - box[:, 1:2])  # (R, oh*s)
        xs = box[:, 0:1] + tx[None] * (box[:, 2:3] - box[:, 0:1])  # (R, ow*s)
        return (2 * xs + 1) / w - 1, (2 * ys + 1) / h - 1  # align_corners=False

    def blocks(self, feats: Tensor, rois: Tensor, counts: List[int],
               add: Optional[Tensor] = None, relu: bool = False) -> Tensor:
        """RoIAlign of ``rois`` grouped by image (``counts`` RoIs per image), each image's
        block written as ``relu(. + add[image])`` when asked (``add``: (N or 1, C, oh, ow)-
        broadcastable)."""
        gx, gy = self.coords(feats, rois)
        return _GridRoIAlignFunction.apply(feats, gx, gy, counts, self.output_size,
                                           self.sampling_ratio, add, relu)

    def forward(self, feats: Tensor, rois: Tensor) -> Tensor:
        if rois.shape[0] == 0:
            return feats.new_zeros(0, feats.shape[1], *self.output_size)
        counts, perm = image_blocks(rois, feats.shape[0])
        out = self.blocks(feats, rois if perm is None else rois[perm], counts)
        return out if perm is None else unsort_rows(out, perm)

