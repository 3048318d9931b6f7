"""Categorical regularization of CR-DA (Xu et al., CVPR 2020; megvii-research/CR-DA-DET
``da_faster_rcnn_instance_weight/faster_rcnn.py``).

* ICR: image-level multi-label classifier (GAP -> 1x1 conv -> C logits), BCE against the
  multi-hot set of gt classes, **source images only**.
* CCR: per target RoI with predicted foreground class c, weight
  ``w = exp(lambda * |sigmoid(img_logit[c]) - p_ins[c]|)``; background RoIs get w = 1; detached.
"""
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet.registry import MODELS
from ..layers.image_labels import multi_hot_labels
from .valid_area import masked_mean


# ICR targets; the name kept from before the helper moved to ``models/layers/image_labels.py``
image_labels_from_gt = multi_hot_labels


@MODELS.register_module()
class ImageCategoryClassifier(BaseModule):
    """ICR head: AdaptiveAvgPool2d(1) -> 1x1 conv (C_in -> num_classes);
    loss = BCEWithLogits (mean) against multi-hot image labels.

    Args:
        init_std: N(0, std) weight and zero bias of the conv, as CR-DA-DET's DA-Faster code
            (``DA_Faster_ICR_CCR`` ``_init_weights``: ``conv_lst`` N(0, 0.01)); None keeps
            PyTorch's default init, as its SW-Faster code (``SW_Faster_ICR_CCR`` never
            re-initialises ``conv_lst``; set in the ``sw-faster*`` configs).
    """

    def __init__(self, in_channels: int, num_classes: int, loss_weight: float = 1.0,
                 init_std: Optional[float] = 0.01, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.loss_weight = float(loss_weight)
        self.conv = nn.Conv2d(in_channels, num_classes, 1)
        if init_std is not None:
            nn.init.normal_(self.conv.weight, 0, init_std)
            nn.init.zeros_(self.conv.bias)

    def forward(self, x: Tensor, valid: Optional[Tensor] = None) -> Tensor:
        """(N, C_in, H, W) -> (N, num_classes) logits; with ``valid`` (N, H, W) the global
        average covers each image's non-padded area only (:mod:`.valid_area`)."""
        if valid is None:
            return self.conv(F.adaptive_avg_pool2d(x, 1)).flatten(1)
        return self.conv(masked_mean(x, valid)[:, :, None, None]).flatten(1)

    def loss(self, logits: Tensor, gt_labels: List[Tensor]) -> Tensor:
        targets = multi_hot_labels(gt_labels, self.num_classes, owner='icr').to(logits)
        return F.binary_cross_entropy_with_logits(logits, targets)


def ccr_weights(img_logits: Tensor, roi_img_idx: Tensor, roi_probs: Tensor,
                lam: float = 1.0) -> Tensor:
    """CCR instance weights for target RoIs.

    Args:
        img_logits: (N, C) ICR logits of the target images.
        roi_img_idx: (R,) image index of each RoI.
        roi_probs: (R, C + 1) class probabilities of each RoI, background last (mmdet order).
        lam: the lambda of ``exp(lambda * |sigmoid(img_logit[c]) - p_ins[c]|)``.

    Returns:
        (R,) detached weights; 1 where the predicted class is background.
    """
    num_classes = img_logits.size(1)
    if roi_probs.size(1) != num_classes + 1:
        raise ValueError(f'CCR expects RoI probabilities with {num_classes} + 1 (background) '
                         f'columns, got {roi_probs.size(1)}')
    img_probs = torch.sigmoid(img_logits.detach())
    roi_probs = roi_probs.detach()
    pred = roi_probs.argmax(dim=1)
    fg = pred < num_classes
    weights = torch.ones_like(pred, dtype=roi_probs.dtype)
    if fg.any():
        c = pred[fg]
        p_img = img_probs[roi_img_idx[fg].long(), c]
        p_ins = roi_probs[fg, c]
        weights[fg] = torch.exp(lam * (p_img - p_ins).abs())
    return weights
