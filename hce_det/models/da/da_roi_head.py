"""RoI heads that *return* what the instance-level DA terms read, for any two-stage detector.

DA-Faster's instance-level discriminator (Chen et al., CVPR 2018) reads each RoI's box-head
feature, i.e. the input of the box classifier (CR-DA-DET ``faster_rcnn.py``: ``pooled_feat``
after ``_head_to_tail``); CR-DA's CCR (Xu et al., CVPR 2020) reads the RoI's class probabilities;
DA-Faster's consistency term reads the image each RoI comes from. :class:`RoIOutputs` holds these
three (plus the SW-Faster context vectors of each RoI, if any).

* :class:`DARoIHeadMixin` (before any ``StandardRoIHead`` subclass in the bases) and
  :class:`DACascadeRoIHeadMixin` (before ``CascadeRoIHead``) run the box head split at the
  classifier input (:func:`box_head_forward`) and return the outputs of the sampled training RoIs
  from :meth:`~RoIOutputsMixin.loss_and_outputs`; :meth:`~RoIOutputsMixin.forward_rois` runs
  any other RoIs (the target proposals). Predictions are unchanged.
* :class:`DAStandardRoIHead` / :class:`DACascadeRoIHead`: the mixins over mmdet's heads
  (``DAFasterRCNN`` builds them where a config names the plain heads).

The upstream ``loss`` keeps its own code: ``bbox_loss`` adds the outputs to its ``loss_bbox``
dict under a key without "loss" in its name (as mmdet adds ``acc``), the upstream loop carries it
out (Cascade R-CNN prefixes it ``s<stage>.``), and ``loss_and_outputs`` pops it again.
"""
from typing import List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor, nn

from mmdet.models.roi_heads import CascadeRoIHead, StandardRoIHead
from mmdet.models.roi_heads.bbox_heads import BBoxHead, ConvFCBBoxHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor

from ..recognition.base import logits_of

OUTPUTS_KEY = 'da_roi_outputs'   # no 'loss' in it: upstream loops copy it unweighted


class RoIOutputs(NamedTuple):
    """Box-head outputs of one set of RoIs, as the instance-level DA terms read them."""
    rois: Tensor                      # (R, 5): image index in its domain batch, x1, y1, x2, y2
    cls_feats: Optional[Tensor]       # (R, C): classifier input (None: head cannot be split)
    cls_score: Tensor                 # (R, K + 1): class logits, background last
    context: Optional[Tensor] = None  # (R, C_ctx): SW-Faster context of each RoI's image


def splits_at_classifier(head: nn.Module) -> bool:
    """Whether :func:`box_head_forward` reproduces ``head.forward``: mmdet's ``BBoxHead`` (C4
    detectors) and ConvFC box heads (``Shared2FCBBoxHead``, ...) that keep their forward."""
    if isinstance(head, ConvFCBBoxHead):
        return type(head).forward is ConvFCBBoxHead.forward
    return isinstance(head, BBoxHead) and type(head).forward is BBoxHead.forward


def _linear(layer: nn.Module, x: Tensor, context: Optional[Tensor]) -> Tensor:
    # SW context layers (:class:`~.sw_context.ContextLinear`) take the context as an argument
    return layer(x, context) if getattr(layer, 'context_channels', 0) else layer(x)


def _branch(head: ConvFCBBoxHead, x: Tensor, convs, fcs) -> Tensor:
    for conv in convs:
        x = conv(x)
    if x.dim() > 2:
        if head.with_avg_pool:
            x = head.avg_pool(x)
        x = x.flatten(1)
    for fc in fcs:
        x = head.relu(fc(x))
    return x


def _trunk(head: BBoxHead, x: Tensor) -> Tuple[Tensor, Tensor]:
    """Classifier and regressor inputs: ``ConvFCBBoxHead`` / ``BBoxHead`` forward up to
    ``fc_cls`` / ``fc_reg`` (same layers, same order)."""
    if not isinstance(head, ConvFCBBoxHead):
        if head.with_avg_pool:    # BBoxHead: average pool (a mean for no RoIs), flatten
            x = head.avg_pool(x).flatten(1) if x.numel() > 0 else x.mean(dim=(-1, -2))
        return x, x
    for conv in head.shared_convs:
        x = conv(x)
    if head.num_shared_fcs > 0:
        x = (head.avg_pool(x) if head.with_avg_pool else x).flatten(1)
        for fc in head.shared_fcs:
            x = head.relu(fc(x))
    return (_branch(head, x, head.cls_convs, head.cls_fcs),
            _branch(head, x, head.reg_convs, head.reg_fcs))


def box_head_forward(head: BBoxHead, x: Tensor, context: Optional[Tensor] = None
                     ) -> Tuple[Optional[Tensor], Optional[Tensor], Tensor]:
    """The box head's forward returning ``(cls_score, bbox_pred, x_cls)``, ``x_cls`` being the
    classifier input; ``context`` (R, C_ctx) goes to the classifier/regressor layers that read
    SW context vectors. Needs :func:`splits_at_classifier`."""
    x_cls, x_reg = _trunk(head, x)
    cls_score = _linear(head.fc_cls, x_cls, context) if head.with_cls else None
    bbox_pred = _linear(head.fc_reg, x_reg, context) if head.with_reg else None
    return cls_score, bbox_pred, x_cls


def _outputs(results: dict) -> RoIOutputs:
    return RoIOutputs(results['rois'], results['cls_feats'], logits_of(results['cls_score']),
                      results['roi_context'])


class RoIOutputsMixin:
    """What both DA RoI-head mixins share: the box forward also returns the classifier input,
    the RoIs and each RoI's SW context vectors (see the module docstring). Adds no parameters;
    predictions are those of the base head."""

    # ---------------------------------------------------------------- public
    def stage_index(self, stage: int = -1) -> int:
        """Normalised box-head stage (a single-stage head accepts 0 and -1)."""
        n = getattr(self, 'num_stages', 1)
        if not -n <= stage < n:
            raise ValueError(f'stage {stage} of a RoI head with {n} box-head stage(s)')
        return stage % n

    def stage_bbox_head(self, stage: int = -1) -> nn.Module:
        stage, head = self.stage_index(stage), self.bbox_head
        return head[stage] if isinstance(head, nn.ModuleList) else head

    def loss_and_outputs(self, x: Tuple[Tensor], rpn_results_list: List, batch_data_samples,
                         stage: int = -1) -> Tuple[dict, Optional[RoIOutputs]]:
        """The upstream RoI-head losses and the :class:`RoIOutputs` of the sampled RoIs of
        box-head ``stage`` (None when that stage did not run: no RoIs at all)."""
        losses = super().loss(x, rpn_results_list, batch_data_samples)
        outputs = {}
        for key in [k for k in losses if k.endswith(OUTPUTS_KEY)]:
            outputs[int(key[1:key.index('.')]) if '.' in key else 0] = losses.pop(key)
        return losses, outputs.get(self.stage_index(stage))

    def loss(self, x: Tuple[Tensor], rpn_results_list: List, batch_data_samples) -> dict:
        """Upstream ``loss`` (usable in any detector)."""
        return self.loss_and_outputs(x, rpn_results_list, batch_data_samples)[0]

    def forward_rois(self, x: Tuple[Tensor], rois: Tensor, stage: int = -1,
                     batch_img_metas: Optional[List[dict]] = None) -> RoIOutputs:
        """:class:`RoIOutputs` of ``rois`` (no sampling, no loss), e.g. the target proposals."""
        raise NotImplementedError

    # ---------------------------------------------------------------- box forward
    def box_forward(self, x: Tuple[Tensor], rois: Tensor, extractor: nn.Module,
                    head: nn.Module, shared_head: Optional[nn.Module] = None) -> dict:
        """RoI features -> box head; ``x`` may carry SW context vectors (``image_context``)."""
        bbox_feats = extractor(x[:extractor.num_inputs], rois)
        if shared_head is not None:
            bbox_feats = shared_head(bbox_feats)
        ctx = getattr(x, 'image_context', None)
        roi_ctx = None if ctx is None else ctx[rois[:, 0].long()]
        if splits_at_classifier(head):
            cls_score, bbox_pred, cls_feats = box_head_forward(head, bbox_feats, roi_ctx)
        else:
            (cls_score, bbox_pred), cls_feats = head(bbox_feats), None
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=bbox_feats,
                    cls_feats=cls_feats, roi_context=roi_ctx, rois=rois)

    @staticmethod
    def with_outputs(bbox_results: dict) -> dict:
        bbox_results['loss_bbox'] = {**bbox_results['loss_bbox'],
                                     OUTPUTS_KEY: _outputs(bbox_results)}
        return bbox_results


class DARoIHeadMixin(RoIOutputsMixin):
    """Mixin for ``StandardRoIHead`` subclasses: ``class H(DARoIHeadMixin, MyRoIHead)``."""

    def forward_rois(self, x: Tuple[Tensor], rois: Tensor, stage: int = -1,
                     batch_img_metas: Optional[List[dict]] = None) -> RoIOutputs:
        self.stage_index(stage)
        return _outputs(self._bbox_forward(x, rois))

    def _bbox_forward(self, x: Tuple[Tensor], rois: Tensor) -> dict:
        shared = self.shared_head if self.with_shared_head else None
        return self.box_forward(x, rois, self.bbox_roi_extractor, self.bbox_head, shared)

    def bbox_loss(self, x: Tuple[Tensor], sampling_results: List) -> dict:
        return self.with_outputs(super().bbox_loss(x, sampling_results))


class DACascadeRoIHeadMixin(RoIOutputsMixin):
    """Mixin for ``CascadeRoIHead`` subclasses (every stage returns its outputs;
    :meth:`forward_rois` refines the RoIs through the stages before ``stage``)."""

    def _bbox_forward(self, stage: int, x: Tuple[Tensor], rois: Tensor) -> dict:
        return self.box_forward(x, rois, self.bbox_roi_extractor[stage], self.bbox_head[stage])

    def bbox_loss(self, stage: int, x: Tuple[Tensor], sampling_results: List) -> dict:
        return self.with_outputs(super().bbox_loss(stage, x, sampling_results))

    def forward_rois(self, x: Tuple[Tensor], rois: Tensor, stage: int = -1,
                     batch_img_metas: Optional[List[dict]] = None) -> RoIOutputs:
        """:class:`RoIOutputs` of stage ``stage`` for ``rois`` refined, without gradient, by the
        stages before it as at test time (class-wise boxes of each RoI's top foreground class;
        ``batch_img_metas`` give the clipping shapes)."""
        stage = self.stage_index(stage)
        if stage and batch_img_metas is None:
            raise ValueError('forward_rois of a later cascade stage needs batch_img_metas')
        with torch.no_grad():
            for s in range(stage):
                rois = self._refine(s, x, rois, batch_img_metas)
        return _outputs(self._bbox_forward(stage, x, rois))

    def _refine(self, stage: int, x: Tuple[Tensor], rois: Tensor, metas: List[dict]) -> Tensor:
        res = self._bbox_forward(stage, x, rois)
        head = self.bbox_head[stage]
        scores = logits_of(res['cls_score'])
        if head.custom_activation:
            scores = head.loss_cls.get_activation(scores)
        labels = scores[:, :-1].argmax(dim=1)
        refined = []
        for i, meta in enumerate(metas):
            keep = rois[:, 0] == i
            boxes = head.regress_by_class(rois[keep, 1:], labels[keep], res['bbox_pred'][keep],
                                          meta)
            refined.append(torch.cat([rois[keep, :1], get_box_tensor(boxes)], dim=1))
        return torch.cat(refined)


@MODELS.register_module()
class DAStandardRoIHead(DARoIHeadMixin, StandardRoIHead):
    """``StandardRoIHead`` returning :class:`RoIOutputs` (Faster / Mask R-CNN)."""


@MODELS.register_module()
class DACascadeRoIHead(DACascadeRoIHeadMixin, CascadeRoIHead):
    """``CascadeRoIHead`` returning :class:`RoIOutputs` of every stage (Cascade R-CNN)."""
