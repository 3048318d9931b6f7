"""SW-Faster context vectors (Saito et al., CVPR 2019, Sec. 3.3 "context-vector based
regularization"): the 128-d pooled features of the local and the global domain discriminator,
computed on *detached* backbone features (no gradient reversal), are concatenated to every RoI
feature in front of the box classifier and regressor, and (CR-DA-DET ``--da_use_contex``)
detached to the input of the instance-level discriminator.

Facts: VisionLearningGroup/DA_Detection ``faster_rcnn_global_local.py`` and CR-DA-DET
``SW_Faster_ICR_CCR/lib/model/da_faster_rcnn_instance_da_weight/faster_rcnn.py``; the box-head
input is ``[ctx_1, ..., ctx_k, roi_feat]``, so the detection loss also trains the discriminators'
context branches (not the backbone, whose features are detached).

Data flow: the detector returns its features as :class:`ImageContextFeatures` (the neck levels
plus one context row per image); the RoI head picks each RoI's row and passes it as an argument
to the box head (:func:`~.da_roi_head.box_head_forward`), whose widened layers
(:class:`ContextLinear`) take it as a second input. Nothing is stored on the layers.

Unlike plain DA-Faster, the test-time detector with context vectors is no longer a stock
Faster R-CNN: the discriminators' context branches run at test time too (as in the reference).
"""
from typing import Optional

import torch
from torch import Tensor, nn

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.registry import MODELS
from .da_roi_head import DARoIHeadMixin, splits_at_classifier


class ImageContextFeatures(tuple):
    """Neck features (a plain tuple to mmdet code) plus per-image context vectors ``(N, C)``."""

    def __new__(cls, feats, image_context: Tensor):
        obj = super().__new__(cls, feats)
        obj.image_context = image_context
        return obj


class ContextLinear(nn.Linear):
    """``Linear(cat([context, x], 1))``, ``context`` holding one row per row of ``x`` (an
    argument of each call). State-dict keys are those of the ``nn.Linear`` it replaces
    (``weight`` of shape ``(out, context + in)``)."""

    def __init__(self, in_features: int, context_channels: int, out_features: int,
                 bias: bool = True) -> None:
        super().__init__(context_channels + in_features, out_features, bias=bias)
        self.context_channels = context_channels

    def forward(self, x: Tensor, context: Optional[Tensor] = None) -> Tensor:
        if context is None:
            raise RuntimeError('ContextLinear called without context vectors: run the box head '
                               'through SWContextRoIHead with features from '
                               'DAFasterRCNN(sw_context=...)')
        if context.shape != (x.size(0), self.context_channels):
            raise ValueError(f'context of shape {tuple(context.shape)} for {x.size(0)} RoIs; '
                             f'expected ({x.size(0)}, {self.context_channels})')
        return super().forward(torch.cat([context.to(x.dtype), x], dim=1))


@MODELS.register_module()
class SWContextRoIHead(DARoIHeadMixin, StandardRoIHead):
    """``StandardRoIHead`` whose box classifier and regressor also read the image's context
    vectors: ``fc_cls`` / ``fc_reg`` of the bbox head become :class:`ContextLinear` layers widened
    by ``context_channels`` (128 per discriminator in SW-Faster).

    Args:
        context_channels: total width of the concatenated context vectors; must match the
            ``sw_context`` sources of :class:`DAFasterRCNN` (checked at build time).
    """

    def __init__(self, *args, context_channels: int = 256, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if context_channels <= 0:
            raise ValueError(f'context_channels must be positive, got {context_channels}')
        self.context_channels = int(context_channels)
        head = self.bbox_head
        if not splits_at_classifier(head):
            raise TypeError(f'SWContextRoIHead needs an mmdet BBoxHead / ConvFC box head that '
                            f'keeps its forward (e.g. Shared2FCBBoxHead), got '
                            f'{type(head).__name__}')
        widened = []
        for name in ('fc_cls', 'fc_reg'):
            fc = getattr(head, name, None)
            if fc is None:
                continue
            if type(fc) is not nn.Linear:
                raise TypeError(f'SWContextRoIHead widens bbox_head.{name}, which must be a plain '
                                f'nn.Linear (got {type(fc).__name__}); use a ConvFCBBoxHead '
                                'without custom classifier layers')
            setattr(head, name, ContextLinear(fc.in_features, self.context_channels,
                                              fc.out_features, bias=fc.bias is not None))
            widened.append(name)
        if not widened:
            raise TypeError(f'{type(head).__name__} has neither fc_cls nor fc_reg to widen')
