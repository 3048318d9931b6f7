"""The valid (non-padded) area of each image on a feature map, and means restricted to it.

A batch stacks images of different sizes by zero-padding them (bottom/right) to a common
``(H, W)``; sample ``i`` keeps its own ``img_shape = (h_i, w_i)``. On a stride-``s`` feature
map the valid area of image ``i`` is the top-left ``ceil(h_i / s)`` rows and ``ceil(w_i / s)``
columns: every feature cell whose stride cell starts inside the image (``s``: the power of two
nearest to ``H / h`` in log scale, exact also where ``H`` is not a multiple of ``s``, e.g. FPN's
stride-64 level of a 96-pixel batch: 2 cells, the second starting at row 64). Image-level
statistics (ICR pooling, the per-pixel domain losses, the mean image P(source), the SW-Faster
context pooling) average over that area only, so the padding of a batch never enters them.

The reference trains with one image per domain and step (no padding at all: megvii-research/
CR-DA-DET ``DA_Faster_ICR_CCR/.../faster_rcnn.py`` runs ``RCNN_base`` once per domain); a
masked mean over one image's valid area is its mean over that image.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor


def _stride(big: int, small: int) -> int:
    """The power-of-two stride of an ``small``-cell map of a ``big``-pixel input (a stride-s map
    has ``ceil(big / s)`` or ``floor(big / s)`` cells, so ``big / small`` is within a factor
    < 2 of s only when rounded in log scale)."""
    return 2 ** max(0, round(math.log2(big / small)))


def valid_sizes(img_hw: Sequence[Tuple[int, int]], input_hw: Tuple[int, int],
                feat_hw: Tuple[int, int]) -> Tensor:
    """(N, 2) long: valid rows and columns of each image on a ``feat_hw`` map of an input padded
    to ``input_hw``: ``ceil(h_i / s)`` with ``s`` the map's power-of-two stride (every backbone
    and neck here), clamped to ``[1, h]``; same for columns."""
    (big_h, big_w), (h, w) = (int(v) for v in input_hw), (int(v) for v in feat_hw)
    s_h, s_w = _stride(big_h, h), _stride(big_w, w)
    rows = [min(h, max(1, -(-int(ih) // s_h))) for ih, _ in img_hw]
    cols = [min(w, max(1, -(-int(iw) // s_w))) for _, iw in img_hw]
    return torch.tensor([rows, cols], dtype=torch.long).t().reshape(len(rows), 2)


def sizes_to_mask(sizes: Tensor, feat_hw: Tuple[int, int],
                  device: Optional[torch.device] = None) -> Tensor:
    """(N, h, w) bool mask of the top-left ``sizes[i] = (rows, cols)`` rectangle of each image."""
    h, w = (int(v) for v in feat_hw)
    sizes = sizes.to(device)
    rows = torch.arange(h, device=device).view(1, h, 1) < sizes[:, 0].view(-1, 1, 1)
    cols = torch.arange(w, device=device).view(1, 1, w) < sizes[:, 1].view(-1, 1, 1)
    return rows & cols


def valid_mask(img_hw: Sequence[Tuple[int, int]], input_hw: Tuple[int, int],
               feat_hw: Tuple[int, int], device: Optional[torch.device] = None
               ) -> Optional[Tensor]:
    """(N, h, w) bool mask of each image's valid area on a ``feat_hw`` map, or None when no image
    of the batch is padded (callers then take plain means, bit-equal to unmasked code)."""
    if all(int(ih) >= int(input_hw[0]) and int(iw) >= int(input_hw[1]) for ih, iw in img_hw):
        return None
    return sizes_to_mask(valid_sizes(img_hw, input_hw, feat_hw), feat_hw, device)


def rescale_valid_mask(valid: Optional[Tensor], feat_hw: Tuple[int, int]) -> Optional[Tensor]:
    """A top-left valid mask ``(N, h0, w0)`` carried to a coarser ``feat_hw`` map of the same
    images (``ceil(rows / s)``, ``s`` the power-of-two stride between the maps; e.g. after
    stride-2 convs)."""
    if valid is None:
        return None
    if tuple(valid.shape[-2:]) == tuple(int(v) for v in feat_hw):
        return valid
    rows = valid.any(2).sum(1)
    cols = valid.any(1).sum(1)
    sizes = valid_sizes(list(zip(rows.tolist(), cols.tolist())), valid.shape[-2:], feat_hw)
    return sizes_to_mask(sizes, feat_hw, valid.device)


def masked_mean(x: Tensor, valid: Optional[Tensor]) -> Tensor:
    """Per-image mean over the valid pixels: ``(N, C, h, w) -> (N, C)`` or ``(N, h, w) -> (N,)``.

    ``valid``: (N, h, w) bool, or None for the plain spatial mean. Padded positions are selected
    away (``torch.where``), so neither their values (even inf/nan) nor gradients reach the mean."""
    if valid is None:
        return x.mean(dim=(-2, -1))
    if valid.shape != (x.size(0), ) + tuple(x.shape[-2:]):
        raise ValueError(f'valid mask {tuple(valid.shape)} does not match the feature map '
                         f'{tuple(x.shape)}')
    m = valid if x.dim() == 3 else valid.unsqueeze(1)
    total = torch.where(m, x, x.new_zeros(())).sum(dim=(-2, -1))
    count = m.sum(dim=(-2, -1)).clamp(min=1).to(x.dtype)
    return total / count
