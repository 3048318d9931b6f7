"""Image-level labels from box annotations: the multi-hot targets of the image classifiers of
HCE (categorical embedding, BCE on image logits) and CR-DA (ICR, Xu et al. CVPR 2020)."""
from typing import Optional, Sequence

import torch
from torch import Tensor


def multi_hot_labels(gt_labels: Sequence[Optional[Tensor]], num_classes: int, device=None,
                     owner: str = 'the model') -> Tensor:
    """``(N, num_classes)`` float: 1 where image i holds a gt box of the class, else 0 (an image
    without boxes, or ``None``, is all 0). A label outside ``[0, num_classes)`` raises, naming
    ``owner``'s ``num_classes`` (it must equal the dataset's class count)."""
    out = torch.zeros(len(gt_labels), num_classes, device=device)
    for i, labels in enumerate(gt_labels):
        if labels is None or labels.numel() == 0:
            continue
        labels = labels.to(out.device).long()
        if labels.min() < 0 or labels.max() >= num_classes:
            bad = int(labels.max() if labels.max() >= num_classes else labels.min())
            raise ValueError(f'gt label {bad} outside [0, {num_classes}) in image {i}: '
                             f'{owner} num_classes must equal the dataset class count (and the '
                             f'box head num_classes)')
        out[i, labels] = 1.0
    return out
