"""Box heads with a sigmoid-family classifier for long-tailed detection (LVIS).

The classifier has one output per class (no background logit); its activation lives in the
classification loss and reaches mmdet's ``BBoxHead`` through ``custom_cls_channels`` /
``custom_activation`` / ``custom_accuracy``, so training and test use the same activation and a
zero background score is appended at test. Subclass :class:`LongTailBBoxHead` (e.g. change
``forward``) to build other RoI classifiers on the same wiring.
"""
import inspect
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS

__all__ = ['LongTailBBoxHead', 'APABBoxHead', 'GumbelBBoxHead', 'accepts_kwarg',
           'inference_class_probabilities']


def accepts_kwarg(cls: type, name: str) -> bool:
    """Whether ``cls(...)`` takes keyword ``name``, following ``**kwargs`` up the MRO."""
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        params = inspect.signature(init).parameters
        if name in params:
            return True
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return False
    return False


def inference_class_probabilities(bbox_head, roi_feats: torch.Tensor) -> torch.Tensor:
    """``(N, C + 1)`` class probabilities (background last) that ``bbox_head`` gives the RoI
    features ``roi_feats`` at test time: the loss's activation for heads with
    ``custom_cls_channels`` (sigmoid / Gumbel / APA ..., zero background column), softmax
    otherwise -- mmdet ``BBoxHead._predict_by_feat_single``'s rule. Eval mode, no grad; the
    head's train/eval mode is restored."""
    was_training = bbox_head.training
    bbox_head.eval()
    try:
        with torch.no_grad():
            cls_score = bbox_head(roi_feats)[0]
            if bbox_head.custom_cls_channels:
                return bbox_head.loss_cls.get_activation(cls_score)
            return F.softmax(cls_score, dim=-1)
    finally:
        bbox_head.train(was_training)


@MODELS.register_module()
class LongTailBBoxHead(Shared2FCBBoxHead):
    """``Shared2FCBBoxHead`` whose classifier is trained and scored by a sigmoid-family loss.

    Args:
        num_classes: C; passed on to ``loss_cls`` (and its activation) when they take it.
        loss_cls: a loss with ``custom_cls_channels`` (``LongTailBCELoss``, ``GumbelLoss``,
            ``DropLoss``, ``FederatedLoss``, ``EQLV2FixedLoss``, mmdet ``SeesawLoss``).
        cls_activation: score activation config put into ``loss_cls.activation``
            (subclasses give a default in ``default_activation``).
        cls_weight_init / cls_bias_init: constant init of ``fc_cls`` (reference Gumbel LVIS
            head: 0.001 / −2); None keeps mmdet's Normal(0, 0.01) / 0 init.
        Other arguments: as mmdet ``Shared2FCBBoxHead``.
    """

    default_activation: Optional[dict] = None

    def __init__(self,
                 *args,
                 num_classes: int = 80,
                 loss_cls: dict = dict(type='LongTailBCELoss'),
                 cls_activation: Optional[dict] = None,
                 cls_weight_init: Optional[float] = 0.001,
                 cls_bias_init: Optional[float] = -2.0,
                 **kwargs) -> None:
        loss_cls = self._prepare_loss_cfg(loss_cls, num_classes, cls_activation)
        super().__init__(*args, num_classes=num_classes, loss_cls=loss_cls, **kwargs)
        if not self.custom_cls_channels:
            raise ValueError(
                f'{type(self).__name__} needs a loss_cls with custom_cls_channels (e.g. '
                f'LongTailBCELoss, GumbelLoss, DropLoss, FederatedLoss, EQLV2FixedLoss, SeesawLoss); '
                f'got {type(self.loss_cls).__name__}. For softmax CE use Shared2FCBBoxHead.')
        self.cls_weight_init = cls_weight_init
        self.cls_bias_init = cls_bias_init

    @classmethod
    def _prepare_loss_cfg(cls, loss_cls: dict, num_classes: int,
                          cls_activation: Optional[dict]) -> dict:
        cfg = loss_cls.copy()
        loss_type = MODELS.get(cfg.get('type'))
        if loss_type is None:
            raise KeyError(f'loss_cls type {cfg.get("type")!r} is not registered (import hce_det?)')
        if accepts_kwarg(loss_type, 'num_classes'):
            cfg.setdefault('num_classes', num_classes)
        activation = cls_activation if cls_activation is not None else cls.default_activation
        if activation is None:
            return cfg
        if not accepts_kwarg(loss_type, 'activation'):
            if cls_activation is None:  # class default only: keep the loss's own scoring
                return cfg
            raise ValueError(f'cls_activation needs a loss_cls that takes an activation '
                             f'(LongTailBCELoss, GumbelLoss, DropLoss, FederatedLoss); '
                             f'{cfg["type"]} does not')
        if cls_activation is not None and 'activation' in cfg and \
                dict(cfg['activation']) != dict(cls_activation):
            raise ValueError(f'both cls_activation={dict(cls_activation)} and '
                             f'loss_cls.activation={dict(cfg["activation"])} are set; keep one')
        cfg['activation'] = dict(activation)
        return cfg

    @property
    def cls_activation(self) -> Optional[nn.Module]:
        """The score activation module (shared by loss and test), if the loss has one."""
        return getattr(self.loss_cls, 'activation', None)

    def init_weights(self) -> None:
        super().init_weights()
        if not self.with_cls:
            return
        if self.cls_weight_init is not None and getattr(self.fc_cls, 'weight', None) is not None:
            nn.init.constant_(self.fc_cls.weight, self.cls_weight_init)
        if self.cls_bias_init is not None and getattr(self.fc_cls, 'bias', None) is not None:
            nn.init.constant_(self.fc_cls.bias, self.cls_bias_init)


@MODELS.register_module()
class APABBoxHead(LongTailBBoxHead):
    """Box head with a learnable APA classifier p = (λe^(−κz) + 1)^(−1/λ) (ECCV 2024 APA).

    Default loss: BCE through the APA (``LongTailBCELoss``); use ``loss_cls=dict(type='DropLoss',
    ...)`` for APA + DropLoss. ``cls_activation`` overrides the APA settings (e.g. per_class).
    """

    default_activation = dict(type='APAClsAct')


@MODELS.register_module()
class GumbelBBoxHead(LongTailBBoxHead):
    """Box head with the fixed Gumbel classifier p = exp(−e^(−z)) (GOL, ECCV 2022).

    Follows the released AGLU LVIS head (kostas1515/AGLU ``mmdetection_v3.2``: C outputs, logits
    clamped to ±10, ``fc_cls`` init 0.001 / −2, trained with DropLoss). GOL's own ``gumbel_ce``
    head (C + 1 outputs with a trained background logit, logits clamped to [−4, 10], loss clamped
    to [0, 20]): ``loss_cls=dict(type='GumbelLoss', variant='gol')``.

    Training: a positive's loss −log p has gradient −e^(−z), up to e^10 at the clamp. At a high LR
    right after a short warm-up this kills the shared fcs (built-in long-tail split, LR 0.04 for
    8 images, 100-iteration warm-up: 4 of 9 Gumbel-family runs collapsed); the same LR after a
    500-iteration warm-up trained 9 of 9 (``compare.py long_tail`` rows ``*-warmup500``,
    docs/results/long_tail_1500.notes.md). Give it a warm-up, or the reference's LR.
    """

    default_activation = dict(type='GumbelClsAct')
