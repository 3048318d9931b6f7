"""Domain-adaptive two-stage detector: DA-Faster / SW-Faster alignment plus CR-DA's ICR and CCR
as config switches, trained on two-domain batches of any size and source:target ratio, over
Faster R-CNN, Mask R-CNN or Cascade R-CNN.

Facts (module sizes, loss weights, label conventions) follow megvii-research/CR-DA-DET
(``DA_Faster_ICR_CCR/lib/model/da_faster_rcnn_instance_weight/faster_rcnn.py`` and
``SW_Faster_ICR_CCR/da_train_net.py``); see ``shared/DESIGN.md`` section 2.

Training batches come from the ``MultiBranch`` pipelines of ``configs/_base_/datasets/*_da.py``
with branches ``source`` (labelled) and ``target`` (unlabelled). :meth:`DAFasterRCNN.loss` reads
top-down: backbone passes -> detection losses on the source -> one method per alignment family.
The RoI head returns what the instance terms read (:mod:`.da_roi_head`). Outside ``loss``,
``predict`` / ``_forward`` are those of the base detector, except with the optional SW-Faster
``sw_context``, whose context vectors feed the box head at test time too
(:meth:`DAFasterRCNN.extract_feat`; ``predict`` / ``_forward`` only pass it each image's size so
that its pooling skips the padding).

``domain_forward`` (issue 14, item 7): ``'separate'`` (default, the reference: CR-DA-DET and
DA_Detection run one backbone forward per domain) or ``'joint'`` (one zero-padded batch of both
domains); in both modes every image-level statistic covers each image's valid area only
(``img_shape``; :mod:`.valid_area`). See the ``domain_forward`` argument.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from torch import Tensor, nn

from mmdet.models.detectors import FasterRCNN
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from ..hce.hce_roi_head import HCEMixin
from ..layers.image_labels import multi_hot_labels
from .categorical_reg import ccr_weights
from .da_roi_head import RoIOutputs, RoIOutputsMixin, splits_at_classifier
from .domain_passes import (DOMAIN_FORWARDS, DomainPass, class_agnostic, image_sizes,
                            parse_feats, pass_groups, slice_out, split_domains)
from .hce_da_roi_head import DA_HCE_ROI_HEADS
from .sw_context import ImageContextFeatures, SWContextRoIHead
from .valid_area import valid_mask

SOURCE, TARGET = 1, 0  # domain labels used by every discriminator
SUFFIX = {'source': 's', 'target': 't'}
DOMAIN_LABEL = {'source': SOURCE, 'target': TARGET}
# RPN test settings train_cfg.target_proposal may override (mmdet RPNHead.predict_by_feat)
TARGET_PROPOSAL_KEYS = {'nms_pre', 'max_per_img', 'nms', 'min_bbox_size'}
# plain mmdet / HCE RoI heads and the DA twin DAFasterRCNN builds in their place
DA_ROI_HEADS = {'StandardRoIHead': 'DAStandardRoIHead', 'CascadeRoIHead': 'DACascadeRoIHead',
                **DA_HCE_ROI_HEADS}


def _level_mean(vals: List[Tensor]) -> Tensor:
    return torch.stack(vals).mean(0)


def _with_da_roi_head(cfg: Optional[dict]) -> Optional[dict]:
    """``roi_head`` config naming mmdet's ``StandardRoIHead`` / ``CascadeRoIHead`` -> its DA twin
    (same modules, same predictions; it also returns :class:`~.da_roi_head.RoIOutputs`)."""
    if cfg is None:
        return cfg
    name = cfg.get('type')
    name = name.split('.')[-1] if isinstance(name, str) else getattr(name, '__name__', name)
    return dict(cfg, type=DA_ROI_HEADS[name]) if name in DA_ROI_HEADS else cfg


@MODELS.register_module()
class DAFasterRCNN(FasterRCNN):
    """Two-stage detector with domain alignment and categorical regularization (training only).

    Every component is optional; a ``None`` switches it off. Each discriminator/ICR config takes
    an extra key ``feats`` naming the feature maps it reads (``'backbone.<i>'`` = backbone output
    i, before the neck; ``'neck.<i>'`` = neck output i; a list averages the loss over levels).
    ``roi_head``: any mmdet RoI head config; ``StandardRoIHead`` (Faster / Mask R-CNN) and
    ``CascadeRoIHead`` are built as ``DAStandardRoIHead`` / ``DACascadeRoIHead`` (same parameters
    and predictions). ``ins_da`` needs such a DA head (:mod:`.da_roi_head`).

    Args:
        img_da: DA-Faster image-level discriminator (``ImageDomainDiscriminator``).
        ins_da: instance-level discriminator on the bbox head's classifier input
            (``InstanceDomainDiscriminator``; ``in_channels`` = bbox head fc width).
        ins_da_stage: the box-head stage whose RoIs, classifier inputs and class scores the
            instance discriminator and CCR read (Cascade R-CNN; one-stage heads: 0 or -1).
            Default -1, the last stage: its classifier and boxes give the final detections and its
            RoIs are the best localised, so alignment and CCR act on the features the detector's
            output comes from. Source RoIs are that stage's sampled RoIs; target RoIs are the RPN
            proposals refined without gradient by the earlier stages, as at test time. Stage 0
            reads raw RPN proposals, as DA-Faster does on Faster R-CNN (and needs no refinement).
        consistency: ``dict(loss_weight=0.1)``: sum-MSE between each RoI's instance P(source) and
            the detached mean image-level P(source) of its image, averaged over images (needs
            ``img_da`` and ``ins_da``). ``reference_channels=True`` uses CR-DA-DET's channels
            instead: target RoIs are compared with the image-level P(target) (see
            :meth:`_consistency`).
        local_da / global_da: SW-Faster strong local (least squares) and weak global (focal)
            discriminators.
        icr: ``ImageCategoryClassifier`` trained on source images only. With an HCE RoI head
            ICR by default *shares* HCE's categorical embedding instead of building its own
            classifier: ``icr=dict(loss_weight=1.0)`` (``share_hce_embedding``, see
            :meth:`_shared_icr`).
        ccr: ``dict(lam=1.0)``: weights the target instance loss per RoI (needs ``icr``, ``ins_da``).
        sw_context: SW-Faster context vectors, ``dict(sources=['local_da', 'global_da'],
            ins_da=True)``: the listed discriminators' 128-d context vectors (detached input, no
            GRL) are concatenated to every RoI feature before the box classifier/regressor
            (needs ``roi_head.type='SWContextRoIHead'`` with ``context_channels`` = their total
            width) and, with ``ins_da=True``, detached to the instance discriminator's input
            (``ins_da.in_channels`` = box-head width + context width). Test time then runs the
            context branches too; see :mod:`.sw_context`.
        grl_scale: multiplies every discriminator's GRL coefficient (a hook may schedule it).
        train_cfg.target_proposal: optional overrides of ``test_cfg.rpn`` for the target
            proposals the instance terms read (default: none, the RPN in test mode as the
            reference), e.g. ``dict(max_per_img=150)``; see :meth:`target_proposal_cfg`.
        data_preprocessor: a plain detection preprocessor is wrapped in
            ``DomainBatchPreprocessor`` (two-domain training batches; test batches go through
            the plain one).
        domain_forward: ``'separate'`` (default; reference): one backbone + neck forward per
            domain, so BatchNorm statistics, RPN/RoI features and every alignment term of a domain
            come from that domain's images alone (padded only among themselves); ``'joint'``:
            one forward of both domains zero-padded to a common size (BatchNorm normalises over
            both domains). Padding is excluded from image-level statistics in both modes.
            Note: with 'separate' a BatchNorm inside a discriminator (SW global) also sees one
            domain per forward; on small inputs (128-px proxy: 1x1 final map) that leaves it
            2 values per channel with 2 images per domain (chance-level domain accuracy,
            measured; see ``configs/cr_da/README.md``) and none with 1 (it raises).
    """

    def __init__(self, *args, img_da: Optional[dict] = None, ins_da: Optional[dict] = None,
                 ins_da_stage: int = -1, consistency: Optional[dict] = None,
                 local_da: Optional[dict] = None, global_da: Optional[dict] = None,
                 icr: Optional[dict] = None, ccr: Optional[dict] = None,
                 sw_context: Optional[dict] = None, grl_scale: float = 1.0,
                 domain_forward: str = 'separate', data_preprocessor: Optional[dict] = None,
                 **kwargs) -> None:
        if data_preprocessor is not None and data_preprocessor.get('type') not in (
                'DomainBatchPreprocessor', 'MultiBranchDataPreprocessor'):
            data_preprocessor = dict(type='DomainBatchPreprocessor',
                                     data_preprocessor=data_preprocessor)
        kwargs['roi_head'] = _with_da_roi_head(kwargs.get('roi_head'))
        super().__init__(*args, data_preprocessor=data_preprocessor, **kwargs)
        if domain_forward not in DOMAIN_FORWARDS:
            raise ValueError(f'domain_forward={domain_forward!r}; use one of {DOMAIN_FORWARDS}')
        self.domain_forward = domain_forward
        self.ins_da_stage = int(ins_da_stage)
        self.da_feats: Dict[str, List[Tuple[str, int]]] = {}
        self.icr_shared = self._shared_icr(icr)
        if icr is not None:
            icr = {k: v for k, v in dict(icr).items() if k != 'share_hce_embedding'}
        for name, cfg in (('img_da', img_da), ('ins_da', ins_da), ('local_da', local_da),
                          ('global_da', global_da),
                          ('icr', None if self.icr_shared is not None else icr)):
            if cfg is None:
                setattr(self, name, None)
                continue
            cfg = dict(cfg)
            feats = cfg.pop('feats', None)
            if name != 'ins_da':
                if feats is None:
                    raise ValueError(f"{name} needs 'feats', e.g. feats='neck.0' or 'backbone.3'")
                self.da_feats[name] = parse_feats(feats)
            setattr(self, name, MODELS.build(cfg))
        head = self.da_bbox_head()
        if self.icr is not None and self.icr.num_classes != head.num_classes:
            raise ValueError(f'icr.num_classes={self.icr.num_classes} but '
                             f'roi_head.bbox_head.num_classes={head.num_classes}; make them equal')
        if consistency is not None and (img_da is None or ins_da is None):
            raise ValueError('consistency needs both img_da and ins_da')
        if ccr is not None and (icr is None or ins_da is None):
            raise ValueError('ccr needs icr (image-level class scores) and ins_da')
        self.consistency = dict(consistency) if consistency is not None else None
        if self.consistency is not None:
            unknown = set(self.consistency) - {'loss_weight', 'reference_channels'}
            if unknown:
                raise ValueError(f'unknown consistency keys {sorted(unknown)}; use loss_weight, '
                                 'reference_channels')
        self.ccr = dict(ccr) if ccr is not None else None
        self.sw_context = self._check_sw_context(sw_context)
        if self.ins_da is not None:
            self._check_ins_da(head)
        self.set_grl_scale(grl_scale)
        self._check_target_proposal()

    def _shared_icr(self, icr: Optional[dict]) -> Optional[dict]:
        """``icr.share_hce_embedding`` (default: True when the RoI head is an HCE head): ICR is
        then HCE's image-level categorical embedding (HCE and ICR are both multi-label image
        classifiers): ``loss_icr`` is CR-DA's BCE on the source images' HCE image logits (GAP +
        GMP of the class maps of the neck level HCE reads), CCR reads the target images' ones,
        and no separate ICR classifier is built. HCE's own ``loss_img_cls`` stays, so the shared
        classifier gets both BCE terms (total weight ``icr.loss_weight`` + HCE's
        ``loss_img_cls`` weight). Returns ``dict(loss_weight=...)`` when shared, else None."""
        if icr is None:
            return None
        cfg = dict(icr)
        share = cfg.pop('share_hce_embedding', None)
        has_hce = hasattr(self.roi_head, 'context_embedding')
        if share is None:
            share = has_hce
        if not share:
            return None
        if not has_hce:
            raise ValueError('icr.share_hce_embedding=True needs an HCE RoI head (roi_head.type='
                             f"'HCERoIHead', ...); got {type(self.roi_head).__name__}")
        extra = sorted(set(cfg) - {'loss_weight'})
        if extra:
            raise ValueError(
                f'icr keys {extra}: with an HCE RoI head ICR shares HCE\'s categorical embedding '
                f'(icr.share_hce_embedding, the default there) and takes only loss_weight; drop '
                f'them (icr=dict(_delete_=True, loss_weight=1.0) in a config), or set '
                f'icr.share_hce_embedding=False for a separate ICR classifier')
        return dict(loss_weight=float(cfg.get('loss_weight', 1.0)))

    def _check_target_proposal(self) -> None:
        extra = (self.train_cfg or {}).get('target_proposal', None) or {}
        unknown = set(extra) - TARGET_PROPOSAL_KEYS
        if unknown:
            raise ValueError(f'unknown train_cfg.target_proposal keys {sorted(unknown)}; use '
                             f'{sorted(TARGET_PROPOSAL_KEYS)} (they override test_cfg.rpn)')

    def da_bbox_head(self) -> nn.Module:
        """The box head (stage ``ins_da_stage``) whose outputs the instance terms read."""
        if isinstance(self.roi_head, RoIOutputsMixin):
            return self.roi_head.stage_bbox_head(self.ins_da_stage)
        head = self.roi_head.bbox_head
        return head[self.ins_da_stage] if isinstance(head, nn.ModuleList) else head

    def _check_ins_da(self, head: nn.Module) -> None:
        if not isinstance(self.roi_head, RoIOutputsMixin) or not splits_at_classifier(head):
            raise ValueError(
                'ins_da reads the box classifier input that a DA RoI head (DAStandardRoIHead, '
                'DACascadeRoIHead, SWContextRoIHead; DARoIHeadMixin) returns for an mmdet '
                f'BBoxHead / ConvFC head; got {type(self.roi_head).__name__} with '
                f'{type(head).__name__}')
        fc = head.fc_cls
        width = fc.in_features - getattr(fc, 'context_channels', 0)
        what = f'box-head width {width}'
        if self.sw_context is not None and self.sw_context['ins_da']:
            width += self.sw_context['channels']
            what += f" + context width {self.sw_context['channels']}"
        if self.ins_da.in_channels != width:
            raise ValueError(f'ins_da.in_channels={self.ins_da.in_channels} but the instance '
                             f'discriminator reads {what}; set ins_da.in_channels={width}')

    def _check_sw_context(self, cfg: Optional[dict]) -> Optional[dict]:
        if cfg is None:
            if isinstance(self.roi_head, SWContextRoIHead):
                raise ValueError('roi_head SWContextRoIHead needs sw_context=dict(sources=[...])')
            return None
        cfg = dict(cfg)
        sources = list(cfg.pop('sources', ('local_da', 'global_da')))
        use_in_ins_da = bool(cfg.pop('ins_da', True))
        if cfg:
            raise ValueError(f'unknown sw_context keys {sorted(cfg)}; use sources, ins_da')
        if not sources:
            raise ValueError('sw_context.sources is empty; list local_da and/or global_da')
        for name in sources:
            if name not in ('local_da', 'global_da') or getattr(self, name) is None:
                raise ValueError(f'sw_context source {name!r} must be a configured local_da or '
                                 'global_da discriminator')
        channels = sum(getattr(self, n).context_channels for n in sources)
        if not isinstance(self.roi_head, SWContextRoIHead):
            raise ValueError('sw_context needs roi_head.type=\'SWContextRoIHead\' '
                             f'(context_channels={channels}); got {type(self.roi_head).__name__}')
        if self.roi_head.context_channels != channels:
            raise ValueError(f'roi_head.context_channels={self.roi_head.context_channels} but '
                             f'sw_context sources {sources} give {channels}; make them equal')
        if use_in_ins_da and self.ins_da is None:
            raise ValueError('sw_context.ins_da=True needs ins_da')
        return dict(sources=sources, ins_da=use_in_ins_da, channels=channels)

    @property
    def discriminators(self):
        return [m for m in (self.img_da, self.ins_da, self.local_da, self.global_da)
                if m is not None]

    def set_grl_scale(self, scale: float) -> None:
        """Scale every GRL coefficient (``coeff = grl_coeff * scale``)."""
        self.grl_scale = float(scale)
        for m in self.discriminators:
            m.set_grl_scale(scale)

    # ------------------------------------------------------------------ features
    def _gather(self, name: str, feats: Tuple[Tensor], x: Tuple[Tensor]) -> List[Tensor]:
        return [(feats if where == 'backbone' else x)[i] for where, i in self.da_feats[name]]

    def _image_context(self, feats: Tuple[Tensor], x: Tuple[Tensor],
                       img_hw: Optional[Sequence[Tuple[int, int]]] = None,
                       input_hw: Optional[Tuple[int, int]] = None) -> Tensor:
        """SW-Faster context ``[ctx_src1, ctx_src2, ...]`` (N, C): each discriminator's pooled
        128-d feature on the detached input without GRL, averaged over its listed levels; with
        ``img_hw`` (each image's size inside the ``input_hw`` padded input) the pooling covers
        each image's valid area only."""
        out = []
        for name in self.sw_context['sources']:
            disc = getattr(self, name)
            levels = self._gather(name, feats, x)
            ctx = []
            for f in levels:
                valid = None if img_hw is None else valid_mask(img_hw, input_hw, f.shape[-2:],
                                                               f.device)
                ctx.append(disc(f.detach(), reverse=False, valid=valid)[1])
            out.append(torch.stack(ctx).mean(0))
        return torch.cat(out, dim=1)

    def features(self, batch_inputs: Tensor, samples: Optional[SampleList] = None
                 ) -> Tuple[Tensor]:
        """Backbone + neck; with ``sw_context`` the features also carry the context vectors,
        pooled over each image's valid area (its ``img_shape`` in ``samples``; the whole padded
        input without them)."""
        feats = self.backbone(batch_inputs)
        x = self.neck(feats) if self.with_neck else feats
        if self.sw_context is None:
            return x
        input_hw = tuple(batch_inputs.shape[-2:])
        img_hw = None if samples is None else image_sizes(samples, input_hw)
        return ImageContextFeatures(x, self._image_context(feats, x, img_hw, input_hw))

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor]:
        """:meth:`features` without the images' sizes (mmdet's signature)."""
        return self.features(batch_inputs)

    def _proposals(self, x: Tuple[Tensor], samples: SampleList) -> list:
        """The RPN's proposals, or the samples' own (``proposals``), as mmdet's detectors."""
        if samples[0].get('proposals', None) is None:
            return self.rpn_head.predict(x, samples, rescale=False)
        return [s.proposals for s in samples]

    def predict(self, batch_inputs: Tensor, batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """mmdet's two-stage ``predict`` top-down on :meth:`features` of the samples' sizes
        (the SW context pooling skips padding)."""
        x = self.features(batch_inputs, batch_data_samples)
        results = self.roi_head.predict(x, self._proposals(x, batch_data_samples),
                                        batch_data_samples, rescale=rescale)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _forward(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> tuple:
        """Tensor mode, as :meth:`predict` without post-processing."""
        x = self.features(batch_inputs, batch_data_samples)
        return (self.roi_head.forward(x, self._proposals(x, batch_data_samples),
                                      batch_data_samples), )

    def domain_passes(self, batch) -> List[DomainPass]:
        """Backbone + neck over the domains: one joint padded pass or one pass per domain."""
        passes = []
        for imgs, domains, samples in pass_groups(batch, self.domain_forward):
            feats = self.backbone(imgs)
            x = self.neck(feats) if self.with_neck else feats
            input_hw = tuple(imgs.shape[-2:])
            passes.append(DomainPass(feats, x, domains, image_sizes(samples, input_hw), input_hw))
        return passes

    def roi_features(self, passes: List[DomainPass]) -> Dict[str, Tuple[Tensor]]:
        """Each domain's neck features for the RPN and RoI head (+ its SW context vectors)."""
        out = {}
        for p in passes:
            ctx = None if self.sw_context is None else \
                self._image_context(p.feats, p.x, p.img_hw, p.input_hw)
            for dom, sl in p.slices():
                x = tuple(lvl[sl] for lvl in p.x)
                out[dom] = x if ctx is None else ImageContextFeatures(x, ctx[sl])
        return out

    def _run(self, name: str, passes: List[DomainPass], fn,
             domains: Sequence[str] = ('source', 'target')) -> Dict[str, list]:
        """``fn(feature, valid)`` on each level listed for ``name`` in every pass holding one of
        ``domains``, split by domain: ``{domain: [(output, valid) per level]}`` (``valid`` None
        where that domain's images fill the whole map)."""
        res: Dict[str, list] = {}
        for p in passes:
            if not any(dom in domains for dom, _ in p.domains):
                continue
            for f in self._gather(name, p.feats, p.x):
                valid = valid_mask(p.img_hw, p.input_hw, f.shape[-2:], f.device)
                out = fn(f, valid)
                for dom, sl in p.slices():
                    v = None if valid is None or bool(valid[sl].all()) else valid[sl]
                    res.setdefault(dom, []).append((slice_out(out, sl), v))
        return res

    # ------------------------------------------------------------------ training
    def loss(self, multi_batch_inputs: Dict[str, Tensor],
             multi_batch_data_samples: Dict[str, SampleList]) -> dict:
        """Detection losses on ``source``; alignment losses on both domains; target annotations
        are removed before anything runs. A batch without target images gives the source terms
        only; one without source images raises."""
        batch = split_domains(multi_batch_inputs, multi_batch_data_samples)
        n_img = {'source': len(batch.src_samples), 'target': len(batch.tgt_samples)}
        passes = self.domain_passes(batch)                  # backbone + neck
        x = self.roi_features(passes)                       # per domain, + SW context vectors
        if isinstance(self.roi_head, HCEMixin):  # HCE's image context once per domain
            samples = {'source': batch.src_samples, 'target': batch.tgt_samples}
            x = {d: self.roi_head.with_context(v, samples[d]) for d, v in x.items()}
        losses, rois_s = self.detection_loss(x['source'], batch.src_samples)
        rois = {'source': rois_s, 'target': self.target_rois(x.get('target'), batch.tgt_samples)}
        # one method per alignment family (in this order: dropout draws follow it)
        img_losses, img_p_src = self.image_alignment(passes)
        losses.update(img_losses)
        losses.update(self.local_global_alignment(passes))
        icr_losses, icr_logits = self.category_regularization(passes, batch.src_samples, x)
        losses.update(icr_losses)
        losses.update(self.instance_alignment(rois, img_p_src, icr_logits, n_img))
        return losses

    def detection_loss(self, x: Tuple[Tensor], samples: SampleList
                       ) -> Tuple[dict, Optional[RoIOutputs]]:
        """RPN + RoI-head losses on the labelled images, and the RoI head's outputs of stage
        ``ins_da_stage`` (None when the RoI head does not return them)."""
        proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.rpn)
        rpn_losses, proposals = self.rpn_head.loss_and_predict(
            x, class_agnostic(samples), proposal_cfg=proposal_cfg)
        losses = {f'rpn_{k}' if 'loss' in k and 'rpn' not in k else k: v
                  for k, v in rpn_losses.items()}   # as TwoStageDetector: no clash with RoI keys
        if not isinstance(self.roi_head, RoIOutputsMixin):
            return {**losses, **self.roi_head.loss(x, proposals, samples)}, None
        roi_losses, outputs = self.roi_head.loss_and_outputs(x, proposals, samples,
                                                             self.ins_da_stage)
        return {**losses, **roi_losses}, outputs

    def target_proposal_cfg(self) -> ConfigDict:
        """RPN settings of the target proposals: ``test_cfg.rpn`` (the RPN in test mode, as
        DA-Faster / CR-DA-DET) updated with ``train_cfg.target_proposal`` when given (e.g.
        ``dict(max_per_img=150)``: fewer target RoIs per image)."""
        cfg = ConfigDict(copy.deepcopy(self.test_cfg.rpn))
        cfg.update(self.train_cfg.get('target_proposal', None) or {})
        return cfg

    def target_rois(self, x: Optional[Tuple[Tensor]], samples: SampleList
                    ) -> Optional[RoIOutputs]:
        """RoI-head outputs of the target proposals (RPN in test mode, DA-Faster; see
        :meth:`target_proposal_cfg`), when the instance terms need them."""
        if x is None or self.ins_da is None:
            return None
        metas = [s.metainfo for s in samples]
        with torch.no_grad():
            proposals = self.rpn_head.predict_by_feat(
                *self.rpn_head(x), batch_img_metas=metas, cfg=self.target_proposal_cfg(),
                rescale=False)
        rois = bbox2roi([p.bboxes.detach() for p in proposals])
        return self.roi_head.forward_rois(x, rois, self.ins_da_stage, metas)

    def image_alignment(self, passes: List[DomainPass]) -> Tuple[dict, Optional[dict]]:
        """DA-Faster image level: per-pixel 2-way CE over each image's valid pixels, averaged
        over images and the listed levels; also each image's detached mean P(source) (for the
        consistency term)."""
        if self.img_da is None:
            return {}, None
        out = self._run('img_da', passes, lambda f, v: self.img_da(f))
        losses = {f'loss_img_da_{SUFFIX[d]}': self.img_da.loss_weight * _level_mean(
            [self.img_da.loss(o, DOMAIN_LABEL[d], v) for o, v in lv]) for d, lv in out.items()}
        p_src = {d: _level_mean([self.img_da.source_prob_per_image(o, v) for o, v in lv]).detach()
                 for d, lv in out.items()}
        return losses, p_src

    def local_global_alignment(self, passes: List[DomainPass]) -> dict:
        """SW-Faster strong local (least squares, valid pixels) and weak global (focal)."""
        losses = {}
        for name, label in (('local_da', 'local'), ('global_da', 'global')):
            disc = getattr(self, name)
            if disc is None:
                continue
            out = self._run(name, passes, lambda f, v, disc=disc: disc(f, valid=v)[0])
            for d, lv in out.items():
                losses[f'loss_{label}_da_{SUFFIX[d]}'] = disc.loss_weight * _level_mean(
                    [self._disc_loss(disc, o, DOMAIN_LABEL[d], v) for o, v in lv])
        return losses

    def category_regularization(self, passes: List[DomainPass], src_samples: SampleList,
                                x: Optional[Dict[str, Tuple[Tensor]]] = None
                                ) -> Tuple[dict, Optional[dict]]:
        """CR-DA ICR: image-level multi-label BCE on the source images (pooled over the
        valid area); also the image logits of each domain CCR reads. With a shared HCE
        embedding (:meth:`_shared_icr`) the logits are the RoI head's ``image_logits`` of each
        domain's neck features ``x`` (HCE's pooling, padding included)."""
        domains = ('source', 'target') if self.ccr is not None else ('source', )
        gt = [s.gt_instances.labels for s in src_samples]
        if self.icr_shared is not None:
            logits = {d: self.roi_head.image_logits(x[d]) for d in domains if d in x}
            targets = multi_hot_labels(gt, logits['source'].size(1), owner='icr')
            loss = F.binary_cross_entropy_with_logits(logits['source'], targets.to(
                logits['source']))
            return {'loss_icr': self.icr_shared['loss_weight'] * loss}, logits
        if self.icr is None:
            return {}, None
        out = self._run('icr', passes, lambda f, v: self.icr(f, v), domains)
        logits = {d: _level_mean([o for o, _ in lv]) for d, lv in out.items()}
        return {'loss_icr': self.icr.loss_weight * self.icr.loss(logits['source'], gt)}, logits

    def instance_alignment(self, rois: Dict[str, Optional[RoIOutputs]],
                           img_p_src: Optional[dict], icr_logits: Optional[dict],
                           n_img: Dict[str, int]) -> dict:
        """DA-Faster instance level (BCE on each RoI's classifier input; CCR weights on the
        target RoIs, CR-DA CCR) and the DA-Faster consistency term."""
        losses = {}
        for dom in ('source', 'target'):
            out = rois[dom]
            if self.ins_da is None or out is None:
                continue
            logits = self.ins_da(self._ins_da_input(out))
            weight = None
            if dom == 'target' and self.ccr is not None:
                weight = ccr_weights(icr_logits['target'], out.rois[:, 0],
                                     self._roi_probs(out.cls_score), self.ccr.get('lam', 1.0))
            losses[f'loss_ins_da_{SUFFIX[dom]}'] = self.ins_da.loss_weight * self.ins_da.loss(
                logits, DOMAIN_LABEL[dom], weight)
            if self.consistency is not None:
                img_p = img_p_src[dom]
                if dom == 'target' and self.consistency.get('reference_channels', False):
                    img_p = 1 - img_p  # mean P(target) = 1 - mean P(source), per image
                losses[f'loss_cst_{SUFFIX[dom]}'] = self.consistency.get('loss_weight', 0.1) * \
                    self._consistency(logits, out.rois[:, 0], img_p, n_img[dom])
        return losses

    # ------------------------------------------------------------------ loss pieces
    @staticmethod
    def _disc_loss(disc, out: Tensor, domain: int, valid: Optional[Tensor]) -> Tensor:
        """Per-pixel discriminators take the valid mask; image-level ones (global) do not."""
        if out.dim() == 4:
            return disc.loss(out, domain, valid)
        return disc.loss(out, domain)

    def _ins_da_input(self, out: RoIOutputs) -> Tensor:
        """Box classifier input, preceded by the detached context vectors of each RoI's image
        when ``sw_context.ins_da`` (CR-DA-DET ``--da_use_contex``)."""
        if out.context is None or not self.sw_context['ins_da']:
            return out.cls_feats
        return torch.cat([out.context.detach(), out.cls_feats], dim=1)

    def _roi_probs(self, cls_score: Tensor) -> Tensor:
        """Detached class probabilities (background last), honouring custom activations."""
        head = self.da_bbox_head()
        cls_score = cls_score.detach()
        if getattr(head, 'custom_activation', False):
            return head.loss_cls.get_activation(cls_score)
        return F.softmax(cls_score, dim=-1)

    @staticmethod
    def _consistency(ins_logits: Tensor, roi_img: Tensor, img_p: Tensor, n_img: int) -> Tensor:
        """DA-Faster consistency: ``sum_r (sigmoid(ins_r) - p_img[b(r)])^2 / n_img`` with the
        image term detached (CR-DA-DET uses MSE with sum reduction, batch size 1).

        Default: both terms are P(source) in both domains (instance sigmoid = P(label 1 =
        source), image channel 1 = P(source)). CR-DA-DET (``DA_Faster_ICR_CCR``
        ``faster_rcnn.py``) compares the *target* instance P(source) with the mean image channel
        0, i.e. P(target), which pulls the two discriminators towards opposite answers on the
        target; we keep our choice as the default (a kept departure, see
        ``configs/cr_da/README.md``) and offer theirs as ``consistency.reference_channels``."""
        if ins_logits.numel() == 0:
            return ins_logits.sum() * 0
        p_img = img_p[roi_img.long()].detach()
        return (torch.sigmoid(ins_logits) - p_img).pow(2).sum() / max(n_img, 1)
