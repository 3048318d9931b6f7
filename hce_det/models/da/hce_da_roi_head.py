"""DA x HCE RoI heads: an HCE RoI head (``families.py``) that also returns the
:class:`~.da_roi_head.RoIOutputs` the instance-level DA terms and CCR read.

``DA<HCE name>`` = ``(HCERoIOutputsMixin, <DA mixin>, <HCE head>)`` is generated for each HCE head
over a base that has a DA mixin (``StandardRoIHead`` -> ``DAHCERoIHead``, ``CascadeRoIHead`` ->
``DAHCECascadeRoIHead``) and registered; ``DAFasterRCNN`` builds it where a config names the HCE
head. The box forward is HCE's (:meth:`HCEMixin._hce_bbox_forward`, context branch included): the
DA mixin's plain ``box_forward`` is bypassed, and the box head is split at the classifier input
(:func:`~.da_roi_head.box_head_forward`) so the instance discriminator reads the classifier input
HCE feeds (its early-fused RoI feature through the shared FCs). ``cls_score`` in the outputs is
HCE's training score (s_det + s_ctx with trained ``logit_sum`` late fusion, else s_det), which
CCR turns into probabilities. SW-Faster context vectors are not supported with HCE.
"""
from typing import List, Optional, Tuple

from torch import Tensor

from mmdet.registry import MODELS
from ..hce.families import HCE_HEADS, SUPPORTED
from ..hce.hce_roi_head import HCEFeatures, HCEMixin
from .da_roi_head import (DACascadeRoIHeadMixin, DARoIHeadMixin, RoIOutputs, box_head_forward,
                          splits_at_classifier)

# base of the HCE head -> DA mixin for it
DA_MIXINS = {'StandardRoIHead': DARoIHeadMixin, 'CascadeRoIHead': DACascadeRoIHeadMixin}


class HCERoIOutputsMixin:
    """Put first: ``(HCERoIOutputsMixin, DA mixin, HCE head)``. Routes the DA mixin's box
    forward through HCE and returns the DA fields (``rois``, ``cls_feats``, ``roi_context``)."""

    def _bbox_forward(self, *args, **kwargs) -> dict:
        return HCEMixin._bbox_forward(self, *args, **kwargs)

    def _box_head_outputs(self, bbox_head, head_in: Tensor, roi_extractor, x,
                          rois: Tensor) -> dict:
        if splits_at_classifier(bbox_head) and getattr(self, 'reg_roi_scale_factor', None) is None:
            cls_score, bbox_pred, cls_feats = box_head_forward(bbox_head, head_in)
        else:  # the instance discriminator then refuses at build (DAFasterRCNN._check_ins_da)
            out = HCEMixin._box_head_outputs(self, bbox_head, head_in, roi_extractor, x, rois)
            cls_score, bbox_pred, cls_feats = out['cls_score'], out['bbox_pred'], None
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, cls_feats=cls_feats,
                    roi_context=None, rois=rois)

    def forward_rois(self, x: Tuple[Tensor], rois: Tensor, stage: int = -1,
                     batch_img_metas: Optional[List[dict]] = None) -> RoIOutputs:
        """The DA mixin's ``forward_rois`` on ``x`` with HCE's image context of ``x`` (the one
        ``x`` carries from :meth:`~HCEMixin.with_context`, else computed here with the global
        context over the image sizes; training scores)."""
        if not isinstance(x, HCEFeatures):
            shapes = None if batch_img_metas is None else [m['img_shape']
                                                           for m in batch_img_metas]
            x = HCEFeatures(x, self.image_context(x, shapes, fuse_scores=False))
        return super().forward_rois(x, rois, stage, batch_img_metas)


def da_hce_head_class(hce_cls: type, da_mixin: type) -> type:
    """``class DA<hce name>(HCERoIOutputsMixin, da_mixin, hce_cls)``."""
    name = f'DA{hce_cls.__name__}'
    doc = (f'``{hce_cls.__name__}`` returning the RoI outputs of ``{da_mixin.__name__}`` '
           f'(generated, see :mod:`{__name__}`).')
    return type(name, (HCERoIOutputsMixin, da_mixin, hce_cls),
                dict(__doc__=doc, __module__=__name__))


# HCE head name -> its DA twin (DAFasterRCNN builds the twin where a config names the HCE head)
DA_HCE_ROI_HEADS = {}
for _base, _mixin in DA_MIXINS.items():
    _hce = HCE_HEADS[SUPPORTED[_base]]
    _cls = MODELS.register_module(module=da_hce_head_class(_hce, _mixin))
    globals()[_cls.__name__] = _cls  # importable (and picklable) by name
    DA_HCE_ROI_HEADS[_hce.__name__] = _cls.__name__
