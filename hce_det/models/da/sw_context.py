"""SW-Faster context vectors (Saito et al., CVPR 2019, Sec. 3.3 "context-vector based
regularization"): the 128-d pooled features of the local and the global domain discriminator,
computed on *detached* backbone features (no gradient reversal), are concatenated to every RoI
feature in front of the box classifier and regressor, and (CR-DA-DET ``--da_use_contex``)
detached to the input of the instance-level discriminator.

Facts: VisionLearningGroup/DA_Detection ``faster_rcnn_global_local.py`` and CR-DA-DET
``SW_Faster_ICR_CCR/lib/model/da_faster_rcnn_instance_da_weight/faster_rcnn.py``; the box-head
input is ``[ctx_1, ..., ctx_k, roi_feat]``, so the detection loss also trains the discriminators'
context branches (not the backbone, whose features are detached).

Unlike plain DA-Faster, the test-time detector with context vectors is no longer a stock
Faster R-CNN: the discriminators' context branches run at test time too (as in the reference).
"""
from typing import Optional

import torch
from torch import Tensor, nn

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.registry import MODELS


class ImageContextFeatures(tuple):
    """Neck features (a plain tuple to mmdet code) plus per-image context vectors ``(N, C)``."""

    def __new__(cls, feats, image_context: Tensor):
        obj = super().__new__(cls, feats)
        obj.image_context = image_context
        return obj


class ContextLinear(nn.Linear):
    """``Linear(cat([context, x], 1))`` with ``context`` (one row per input row) set by
    :class:`SWContextRoIHead` for the duration of one box-head call. State-dict keys are those of
    the ``nn.Linear`` it replaces (``weight`` of shape ``(out, context + in)``)."""

    def __init__(self, in_features: int, context_channels: int, out_features: int,
                 bias: bool = True) -> None:
        super().__init__(context_channels + in_features, out_features, bias=bias)
        self.context_channels = context_channels
        self.context: Optional[Tensor] = None

    def forward(self, x: Tensor) -> Tensor:
        ctx = self.context
        if ctx is None:
            raise RuntimeError('ContextLinear called without context vectors: run the box head '
                               'through SWContextRoIHead with features from '
                               'DAFasterRCNN(sw_context=...)')
        if ctx.shape != (x.size(0), self.context_channels):
            raise ValueError(f'context of shape {tuple(ctx.shape)} for {x.size(0)} RoIs; '
                             f'expected ({x.size(0)}, {self.context_channels})')
        return super().forward(torch.cat([ctx.to(x.dtype), x], dim=1))


@MODELS.register_module()
class SWContextRoIHead(StandardRoIHead):
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
        self.context_layers = []
        for name in ('fc_cls', 'fc_reg'):
            fc = getattr(head, name, None)
            if fc is None:
                continue
            if type(fc) is not nn.Linear:
                raise TypeError(f'SWContextRoIHead widens bbox_head.{name}, which must be a plain '
                                f'nn.Linear (got {type(fc).__name__}); use a ConvFCBBoxHead '
                                'without custom classifier layers')
            wide = ContextLinear(fc.in_features, self.context_channels, fc.out_features,
                                 bias=fc.bias is not None)
            setattr(head, name, wide)
            self.context_layers.append(name)
        if not self.context_layers:
            raise TypeError(f'{type(head).__name__} has neither fc_cls nor fc_reg to widen')

    def _bbox_forward(self, x, rois: Tensor) -> dict:
        ctx = getattr(x, 'image_context', None)
        if ctx is None:
            raise RuntimeError('SWContextRoIHead needs image context vectors: use it inside '
                               'DAFasterRCNN with sw_context=dict(sources=[...])')
        roi_ctx = ctx[rois[:, 0].long()]
        layers = [getattr(self.bbox_head, n) for n in self.context_layers]
        for fc in layers:
            fc.context = roi_ctx
        try:
            return super()._bbox_forward(x, rois)
        finally:
            for fc in layers:
                fc.context = None
