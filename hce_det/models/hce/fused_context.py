"""The fused HCE context branch: ``x_context`` built image block by image block, averaged for
the context classifier and added (gated) into the conventional RoI features while in cache,
never materialised as one (R, C, S, S) tensor (the tensors of that size dominate HCE's cost:
R = 300 RoIs x images at test time). Same values and gradients as
``roi_feats + gate * relu(GridRoIAlign(proj) + add[image])`` and its spatial mean, up to float
rounding (tests/models/hce/test_context_fused.py). Entry point:
``HierarchicalContextRoI.forward(..., fuse_into=roi_feats)``.
"""
from typing import List, Optional, Tuple

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable

from ..layers.grid_roi_align import SamplingMatrices, image_row_blocks, sample_image


def fused_context_forward(head: Optional[Tensor], roi_feats: Tensor, gate: Optional[Tensor],
                   proj: Tensor, gx: Tensor, gy: Tensor, add: Tensor, counts: List[int],
                   out_size: Tuple[int, int], s: int, keep: bool
                   ) -> Tuple[Tensor, List[Tensor]]:
    """The fused context branch, image block by image block: the image's sampled block
    ``x_b = relu(GridRoIAlign(proj) + add[b])`` (C, n, S, S) is built in place in its
    ``grid_sample`` output, summed for the GAP and added (gated) into
    ``head[rows] = roi_feats[rows] + gate * x_b`` (``head`` may be ``roi_feats``: in place;
    None: no sum) while in cache. Returns (GAP of x (R, C), the x blocks if ``keep``)."""
    pooled = proj.new_empty((sum(counts), proj.shape[1]))
    xs = []
    for b, st, e in image_row_blocks(counts):
        v = sample_image(proj[b:b + 1], gx[st:e], gy[st:e], out_size, s)
        a = add[b if add.shape[0] > 1 else 0].unsqueeze(1)  # (C, 1, S, S)
        if v.device.type == 'cpu':
            torch._add_relu_(v, a)
        else:
            v.add_(a).relu_()
        pooled[st:e] = v.sum(dim=(2, 3)).t()
        vt = v.transpose(0, 1)
        if head is None:
            pass
        elif head is roi_feats:
            if gate is None:
                head[st:e].add_(vt)
            else:
                head[st:e].addcmul_(gate, vt)
        elif gate is None:
            torch.add(roi_feats[st:e], vt, out=head[st:e])
        else:
            torch.addcmul(roi_feats[st:e], gate, vt, out=head[st:e])
        if keep:
            xs.append(v)
    pooled.div_(out_size[0] * out_size[1])  # == x.mean((2, 3))
    return pooled, xs


class FusedContext(Function):
    """Training form of ``HierarchicalContextRoI(..., fuse_into=roi_feats)`` with
    ``early_fusion='sum'``: ``(roi_feats + gate * x, GAP(x))`` for
    ``x = relu(GridRoIAlign(proj) + add[image])`` (``gate`` None: plain sum), by
    :func:`fused_context_forward`; ``inplace`` writes the sum into ``roi_feats``. The backward also
    works image block by image block in cache-sized buffers; the map's gradient is
    ``S^T @ grad`` (see :class:`_GridRoIAlignFunction`). Same values and gradients as the
    unfused modules up to float rounding."""

    @staticmethod
    def forward(ctx, roi_feats: Tensor, gate: Optional[Tensor], proj: Tensor, gx: Tensor,
                gy: Tensor, add: Tensor, counts: List[int], out_size: Tuple[int, int], s: int,
                inplace: bool) -> Tuple[Tensor, Tensor]:
        head = roi_feats if inplace else torch.empty_like(
            roi_feats, memory_format=torch.contiguous_format)
        pooled, xs = fused_context_forward(head, roi_feats, gate, proj, gx, gy, add, counts,
                                    out_size, s, keep=True)
        if inplace:
            ctx.mark_dirty(roi_feats)
        ctx.counts, ctx.out_size, ctx.s = counts, out_size, s
        ctx.add_shape, ctx.proj_shape = add.shape, proj.shape
        ctx.save_for_backward(gate, gx, gy, *xs)
        return head, pooled

    @staticmethod
    @once_differentiable
    def backward(ctx, g_head: Optional[Tensor], g_pooled: Optional[Tensor]) -> tuple:
        gate, gx, gy, *xs = ctx.saved_tensors
        num_imgs, c, h, w = ctx.proj_shape
        (oh, ow), blocks = ctx.out_size, image_row_blocks(ctx.counts)
        need_gate = gate is not None and ctx.needs_input_grad[1]
        need_proj, need_add = ctx.needs_input_grad[2], ctx.needs_input_grad[5]
        gate_c = None if gate is None else gate.view(-1, 1, 1, 1)  # x blocks are (C, n, S, S)
        g_mean = None if g_pooled is None else (g_pooled / (oh * ow)).t()  # (C, R)
        new = xs[0].new_zeros
        grad_gate = new(c) if need_gate else None
        grad_add = new((len(ctx.counts), c, oh, ow)) if need_add else None
        grad_proj = new((num_imgs, h * w, c)) if need_proj else None  # channels-last
        size = max(e - st for _, st, e in blocks) * c * oh * ow
        buf, buf_cl = xs[0].new_empty(size), xs[0].new_empty(size)
        mats = SamplingMatrices(gx, gy, ctx.counts, (h, w), ctx.out_size, ctx.s) \
            if need_proj else None
        for (b, st, e), xb in zip(blocks, xs):
            n = e - st
            tb = buf[:n * c * oh * ow].view(c, n, oh, ow)  # grad of the block x_b
            gm = None if g_mean is None else g_mean[:, st:e, None, None]
            if g_head is None:
                tb.zero_() if gm is None else tb.copy_(gm.expand_as(tb))
            else:
                gb = g_head[st:e].transpose(0, 1)  # (C, n, S, S) view
                if need_gate:  # d/d gate of sum(g_head * gate * x)
                    prod = buf_cl[:n * c * oh * ow].view(c, n, oh, ow)  # free until below
                    grad_gate += torch.mul(gb, xb, out=prod).sum(dim=(1, 2, 3))
                if gate_c is not None:
                    torch.mul(gb, gate_c, out=tb)
                else:
                    tb.copy_(gb)
                if gm is not None:  # (an addcmul with this broadcast is slower)
                    tb.add_(gm)
            torch.ops.aten.threshold_backward.grad_input(tb, xb, 0, grad_input=tb)  # ReLU
            if need_add:
                torch.sum(tb, 1, out=grad_add[b])
            if need_proj:  # S_b^T @ grad in channels-last rows
                g_cl = buf_cl[:n * c * oh * ow].view(n * oh * ow, c)
                g_cl.copy_(tb.view(c, n * oh * ow).t())
                grad_proj[b] = torch.sparse.mm(mats.transposed(st, e), g_cl)
        if need_add:
            grad_add = grad_add if ctx.add_shape[0] > 1 else grad_add.sum(0, keepdim=True)
            grad_add = grad_add.sum_to_size(ctx.add_shape)
        if need_proj:
            grad_proj = grad_proj.view(num_imgs, h, w, c).permute(0, 3, 1, 2)
        return (g_head if ctx.needs_input_grad[0] else None,
                grad_gate.view(gate.shape) if need_gate else None, grad_proj, None, None,
                grad_add, None, None, None, None)

