"""HCE for Cascade R-CNN: one image-level embedding, context RoI features (and, if on, a context
classifier) at every stage. Stage losses get mmdet's ``s{i}.`` prefix and stage weight."""
from typing import List, Optional, Union

from torch import Tensor

from mmdet.models.roi_heads import CascadeRoIHead
from mmdet.registry import MODELS

from .hce_roi_head import HCEMixin


@MODELS.register_module()
class HCECascadeRoIHead(HCEMixin, CascadeRoIHead):
    """``CascadeRoIHead`` with HCE at every stage.

    ``context_roi`` / ``late_fusion`` accept one dict (copied per stage, separate weights) or a
    list with one entry per stage; see :class:`HCERoIHead` for the keys and defaults.
    """

    def __init__(self, context_embedding: dict = dict(),
                 context_roi: Union[dict, list] = dict(),
                 late_fusion: Optional[Union[dict, list]] = dict(), **kwargs) -> None:
        super().__init__(**kwargs)
        self._build_hce(context_embedding, context_roi, late_fusion,
                        list(self.bbox_head), list(self.bbox_roi_extractor))

    def _bbox_forward(self, stage: int, x, rois: Tensor) -> dict:
        return self._hce_bbox_forward(stage, x, rois, self.bbox_roi_extractor[stage],
                                      self.bbox_head[stage])

    def bbox_loss(self, stage: int, x, sampling_results: List) -> dict:
        bbox_results = super().bbox_loss(stage, x, sampling_results)
        if self.context_cls is not None:
            labels, label_weights = bbox_results['bbox_targets'][:2]
            bbox_results['loss_bbox'].update(
                self._context_cls_loss(stage, bbox_results, labels, label_weights))
        return bbox_results
