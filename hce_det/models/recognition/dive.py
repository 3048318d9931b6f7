"""DiVE: distill the virtual examples (He et al., ICCV 2021, arXiv:2103.15042; no official code).

DiVE trains a teacher first, then a student of the same architecture against the frozen
teacher's predictions. For a detector the teacher is a whole detector (its own backbone, neck and
RoI head) that scores the student's sampled RoIs on its own features:
:class:`TeacherTwoStageDetector` holds it and hands its RoI logits to :class:`DiVEBBoxHead`.
A teacher *bbox head alone* reading the student's RoI features (``DiVEBBoxHead(teacher=...)``)
only makes sense when the student's backbone starts from the teacher's weights (fine-tuning):
on a student trained from scratch it would score features it never saw.
"""
import copy
import inspect
import os.path as osp
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from mmdet.models.detectors import TwoStageDetector
from mmdet.registry import MODELS
from torch import Tensor

from ...compat import load_from_local
from .base import RecognitionBBoxHead, kl_to_target, weighted_ce


def flattened_teacher(teacher_logits: Tensor, tau: float, power: float) -> Tensor:
    """t~ = normalize(softmax(t / tau) ** p): power-normalized ("flattened") virtual examples."""
    p = F.softmax(teacher_logits / tau, dim=-1).pow(power)
    return p / p.sum(-1, keepdim=True)


def dive_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor, log_prior: Tensor,
              weights: Tensor, avg_factor: float, tau: float = 3.0, power: float = 0.5,
              alpha: float = 0.5) -> Dict[str, Tensor]:
    r""":math:`L = (1-\alpha)\,CE(s + \log\pi, y)
    + \alpha\,\tau^2\,KL(\tilde t\,\|\,softmax(s/\tau))`
    (DiVE, arXiv:2103.15042: KD loss with balanced-softmax CE and power-normalised teacher)."""
    bsce = weighted_ce(student_logits + log_prior, labels, weights, avg_factor)
    target = flattened_teacher(teacher_logits.detach(), tau, power)
    kd = kl_to_target(F.log_softmax(student_logits / tau, dim=-1), target, weights, avg_factor)
    return dict(loss_cls=(1 - alpha) * bsce, loss_distill=alpha * tau ** 2 * kd)


def _bbox_head_kwargs(head_cfg: dict, head_type: str) -> dict:
    """The keys of ``head_cfg`` that ``head_type``'s constructor takes (following **kwargs up
    the MRO), with ``type=head_type``: a plain head of the same sizes as a recognition head."""
    cls = MODELS.get(head_type)
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    out = {k: copy.deepcopy(v) for k, v in head_cfg.items() if k in names and k != 'self'}
    out['type'] = head_type
    return out


@MODELS.register_module()
class TeacherTwoStageDetector(TwoStageDetector):
    """A two-stage detector trained against a frozen teacher detector (DiVE).

    During training the teacher runs its backbone and neck on the same (preprocessed) images and
    scores, with its own RoI head, the RoIs the student's RoI head sampled; every module of the
    student's RoI head with ``set_teacher_scorer`` (e.g. :class:`DiVEBBoxHead`) receives that
    scorer for the step. Test time is the student alone.

    Args:
        teacher: ``dict(checkpoint=PATH, model=None, bbox_head='Shared2FCBBoxHead')``.
            ``model``: the teacher's model config (a dict, or a config file path whose ``model``
            is used); None = the student's own backbone / neck / RPN / RoI head with the bbox head
            replaced by a plain ``bbox_head`` type of the same sizes (the softmax baseline of the
            same config). Weights are read from ``checkpoint`` in :meth:`init_weights` (or at the
            first training step), every key must be there, and a teacher of another class count
            is an error naming the file. The teacher is kept outside the module tree: not trained,
            not in the student's state dict, always in eval mode.
        Other arguments: as mmdet's ``TwoStageDetector`` (``FasterRCNN``, ``MaskRCNN``).
    """

    def __init__(self, *args, teacher: dict = None, **kwargs) -> None:
        cfg_kwargs = copy.deepcopy(kwargs)
        super().__init__(*args, **kwargs)
        if not teacher or not teacher.get('checkpoint'):
            raise ValueError("TeacherTwoStageDetector needs teacher=dict(checkpoint='path/to/"
                             "teacher.pth') (a detector trained first on the same classes)")
        self.teacher_cfg = {**dict(model=None, bbox_head='Shared2FCBBoxHead'), **teacher}
        model_cfg = self.teacher_cfg['model']
        if model_cfg is None:
            model_cfg = self.derived_teacher_cfg(cfg_kwargs, self.teacher_cfg['bbox_head'])
        elif isinstance(model_cfg, str):
            from mmengine.config import Config
            model_cfg = Config.fromfile(model_cfg).model
        model_cfg = copy.deepcopy(model_cfg)
        model_cfg.pop('init_cfg', None)
        model_cfg.get('backbone', {}).pop('init_cfg', None)  # weights come from the checkpoint
        self.__dict__['teacher'] = MODELS.build(model_cfg).eval().requires_grad_(False)
        self.teacher_loaded = False

    @staticmethod
    def derived_teacher_cfg(kwargs: dict, head_type: str) -> dict:
        """The student's detector config with a plain ``head_type`` bbox head of the same sizes."""
        cfg = dict(type='TwoStageDetector', **{k: copy.deepcopy(v) for k, v in kwargs.items()
                                                 if k != 'init_cfg'})
        roi = cfg.get('roi_head')
        if not roi or 'bbox_head' not in roi:
            raise ValueError('TeacherTwoStageDetector: the student has no roi_head.bbox_head to '
                             'derive the teacher from; give teacher.model')
        roi['bbox_head'] = _bbox_head_kwargs(roi['bbox_head'], head_type)
        return cfg

    def load_teacher(self) -> None:
        """Load and freeze the teacher; missing keys or another class count are errors."""
        ckpt = self.teacher_cfg['checkpoint']
        if not osp.isfile(ckpt):
            raise FileNotFoundError(f'DiVE teacher checkpoint {ckpt!r} does not exist '
                                    '(model.teacher.checkpoint): train the teacher first')
        state = load_from_local(ckpt, map_location='cpu')
        state = state.get('state_dict', state)
        want = self.teacher.state_dict()
        cls_key = next((k for k in want if k.endswith('bbox_head.fc_cls.weight')), None)
        if cls_key in state and state[cls_key].shape != want[cls_key].shape:
            raise ValueError(
                f'DiVE teacher checkpoint {ckpt!r} classifies {state[cls_key].shape[0] - 1} '
                f'classes ({cls_key} has {state[cls_key].shape[0]} rows incl. background) but '
                f'the teacher model has {want[cls_key].shape[0] - 1}; use a teacher trained on '
                'the same classes')
        missing = [k for k in want if k not in state]
        if missing:
            raise KeyError(f'DiVE teacher checkpoint {ckpt!r} lacks {missing[:5]} '
                           f'({len(missing)} keys of the teacher model); is it a detector of the '
                           'same architecture (model.teacher.model)?')
        self.teacher.load_state_dict({k: state[k] for k in want}, strict=True)
        self.teacher.eval().requires_grad_(False)
        self.teacher_loaded = True

    def init_weights(self) -> None:
        super().init_weights()
        self.load_teacher()

    def _apply(self, fn, *args, **kwargs):
        self.__dict__['teacher'] = self.teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()
        return self

    def _scored_heads(self):
        return [m for m in self.roi_head.modules() if callable(getattr(m, 'set_teacher_scorer',
                                                                       None))]

    def teacher_scorer(self, batch_inputs: Tensor) -> Callable[[Tensor], Tensor]:
        """``rois -> teacher class logits`` on the teacher's own features of ``batch_inputs``."""
        if not self.teacher_loaded:
            self.load_teacher()
        self.teacher.eval()
        with torch.no_grad():
            feats = self.teacher.extract_feat(batch_inputs)

        def score(rois: Tensor) -> Tensor:
            with torch.no_grad():
                return self.teacher.roi_head._bbox_forward(feats, rois)['cls_score']
        return score

    def loss(self, batch_inputs: Tensor, batch_data_samples) -> dict:
        heads = self._scored_heads()
        if not heads:
            return super().loss(batch_inputs, batch_data_samples)
        scorer = self.teacher_scorer(batch_inputs)
        for h in heads:
            h.set_teacher_scorer(scorer)
        try:
            return super().loss(batch_inputs, batch_data_samples)
        finally:
            for h in heads:
                h.set_teacher_scorer(None)


@MODELS.register_module()
class DiVEBBoxHead(RecognitionBBoxHead):
    r"""Student RoI head trained with DiVE against a frozen teacher.

    .. math:: L = (1-\alpha)\,CE(s + \log\pi, y) + \alpha\,\tau^2\,
              KL\big(\mathrm{norm}(softmax(t/\tau)^p)\,\|\,softmax(s/\tau)\big)

    Teacher logits ``t`` of the sampled RoIs come from, in this order:

    * the detector: inside :class:`TeacherTwoStageDetector` the whole teacher detector scores the
      RoIs on its own features (``set_teacher_scorer``; the DiVE way, a student from scratch);
    * ``teacher = dict(checkpoint=PATH, prefix='roi_head.bbox_head.', head=None)``: a frozen bbox
      head (default: a ``Shared2FCBBoxHead`` with this head's sizes, or any bbox head config in
      ``head``) read from ``checkpoint`` under ``prefix`` in :meth:`init_weights`, scoring the
      student's RoI features: only for a student whose backbone starts from the teacher.

    Tau=3, p=0.5, alpha=0.5 are the paper's defaults (kept). Measured on the built-in long-tail
    split (``compare.py recognition``, 1500 iterations, 3 paired seeds; docs/results/
    recognition_1500): that target flattens the teacher's rare-vs-rare contrast (14-460x ->
    1.2-1.8x) and costs APr (49.0 vs softmax CE 62.1); ``tau=1, power=1`` (row ``dive-sharp``)
    gives APr 67.0 (+18.0 over the paper's target on 3/3 seeds, +4.9 over softmax on 2/3).
    Test: plain softmax over ``s``.
    """

    def __init__(self, *args, teacher: Optional[dict] = None, tau: float = 3.0,
                 power: float = 0.5, alpha: float = 0.5, **kwargs):
        super().__init__(*args, **kwargs)
        if teacher is not None and 'checkpoint' not in teacher:
            raise ValueError("DiVEBBoxHead teacher needs dict(checkpoint='path/to/teacher.pth')")
        self.tau, self.power, self.alpha = tau, power, alpha
        self._scorer: Optional[Callable] = None
        self.teacher_cfg = None
        self.teacher_loaded = False
        if teacher is not None:
            self.teacher_cfg = {**dict(prefix='roi_head.bbox_head.', head=None), **teacher}
            head = self.teacher_cfg['head'] or dict(
                type='Shared2FCBBoxHead', in_channels=self.in_channels,
                fc_out_channels=self.fc_out_channels, roi_feat_size=self.roi_feat_size,
                num_classes=self.num_classes, with_avg_pool=self.with_avg_pool)
            # kept outside the module tree: not trained, not in the student's checkpoint
            self.__dict__['teacher'] = MODELS.build(head).eval().requires_grad_(False)

    def set_teacher_scorer(self, scorer: Optional[Callable[[Tensor], Tensor]]) -> None:
        """Called by :class:`TeacherTwoStageDetector` around each training step."""
        self._scorer = scorer

    def load_teacher(self) -> None:
        """Load and freeze the head-only teacher; a class-count mismatch names the file."""
        ckpt = self.teacher_cfg['checkpoint']
        prefix = self.teacher_cfg['prefix']
        if not osp.isfile(ckpt):
            raise FileNotFoundError(f'DiVE teacher checkpoint {ckpt!r} does not exist '
                                    '(bbox_head.teacher.checkpoint)')
        state = load_from_local(ckpt, map_location='cpu')  # safe loader, explained refusals
        state = state.get('state_dict', state)
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not sub:
            raise KeyError(f'DiVE teacher checkpoint {ckpt!r} has no keys under prefix {prefix!r} '
                           '(bbox_head.teacher.prefix)')
        cls_w = sub.get('fc_cls.weight')
        if cls_w is not None and cls_w.shape[0] != self.num_classes + 1:
            raise ValueError(
                f'DiVE teacher checkpoint {ckpt!r} classifies {cls_w.shape[0] - 1} classes '
                f'({prefix}fc_cls.weight has {cls_w.shape[0]} rows incl. background) but the '
                f'student has num_classes={self.num_classes}; use a teacher trained on the same '
                'classes')
        missing, unexpected = self.teacher.load_state_dict(sub, strict=False)
        if missing:
            raise KeyError(f'DiVE teacher checkpoint {ckpt!r} lacks {missing[:5]} under {prefix!r}')
        self.teacher.eval().requires_grad_(False)
        self.teacher_loaded = True

    def init_weights(self) -> None:
        super().init_weights()
        if self.teacher_cfg is not None:
            self.load_teacher()

    def _apply(self, fn, *args, **kwargs):
        if self.teacher_cfg is not None:
            self.__dict__['teacher'] = self.teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def classify(self, feat: Tensor, roi_feats: Tensor) -> Tuple[Tensor, dict]:
        return self.fc_cls(feat), (dict(roi_feats=roi_feats) if self.training else {})

    def teacher_logits(self, extras: Optional[dict]) -> Tensor:
        """Teacher class logits of this step's RoIs (``extras['rois']``, or the head-only
        teacher on ``extras['roi_feats']``; see the class docstring)."""
        if self._scorer is not None:
            return self._scorer(self.extra(extras, 'rois')).detach()
        if self.teacher_cfg is None:
            raise RuntimeError(
                'DiVEBBoxHead has no teacher: use it inside '
                "model=dict(type='TeacherTwoStageDetector', teacher=dict(checkpoint=...)) or give "
                'the head teacher=dict(checkpoint=...) (head-only, for a student that starts from '
                "the teacher's weights)")
        if not self.teacher_loaded:
            self.load_teacher()
        self.teacher.eval()
        with torch.no_grad():
            t_logits, _ = self.teacher(self.extra(extras, 'roi_feats').detach())
        return t_logits

    def cls_loss(self, cls_score, labels, label_weights, avg_factor,
                 extras: Optional[dict] = None) -> Dict[str, Tensor]:
        t_logits = self.teacher_logits(extras)
        if t_logits.shape != cls_score.shape:
            raise ValueError(f'DiVE teacher logits have shape {tuple(t_logits.shape)}, the '
                             f'student\'s {tuple(cls_score.shape)}: the teacher must be a softmax '
                             'head of the same classes')
        return dive_loss(cls_score, t_logits, labels, self.log_prior(cls_score.device),
                         label_weights, avg_factor, self.tau, self.power, self.alpha)
