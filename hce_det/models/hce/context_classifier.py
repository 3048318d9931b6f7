"""Late fusion of HCE (arXiv:2008.01338, Sec. 3.3): a context classifier on ``x_context`` with its
own cross-entropy, whose class probabilities are combined with the detector's at test time.

Sigmoid-family box heads (a ``loss_cls`` with ``custom_cls_channels``: APA, Gumbel, DropLoss,
EQLv2, Federated, Seesaw ...): the context classifier gets the head's output channels and a loss of
the head's type (so its own activation, e.g. its own APA λ, κ); fusion combines the per-class
scores each branch's activation gives (no softmax background), see :func:`fuse_activated_scores`.
"""
from typing import Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.models.losses import accuracy
from mmdet.registry import MODELS
from ..long_tail.score_inverse import logits_for_scores

FUSIONS = ('mean', 'weighted', 'geometric', 'logit_sum')
POOLS = ('avg', 'flatten')
TEST_BRANCHES = ('both', 'det', 'context')


def fuse_class_probs(det_logits: Tensor, ctx_logits: Tensor, mode: str = 'mean',
                     det_weight: float = 0.5) -> Tensor:
    """Combined class probabilities (R, K+1), rows sum to 1.

    ``mean``: (p_det + p_ctx) / 2; ``weighted``: w p_det + (1-w) p_ctx;
    ``geometric``: p_det^w p_ctx^(1-w), renormalised (= softmax(w s_det + (1-w) s_ctx));
    ``logit_sum``: softmax(s_det + s_ctx), the rule trained end to end by ``fusion='logit_sum'``.
    """
    if mode == 'logit_sum':
        return F.softmax(det_logits + ctx_logits, dim=-1)
    if mode == 'geometric':
        return F.softmax(det_weight * det_logits + (1 - det_weight) * ctx_logits, dim=-1)
    w = 0.5 if mode == 'mean' else det_weight
    return w * F.softmax(det_logits, dim=-1) + (1 - w) * F.softmax(ctx_logits, dim=-1)


def fuse_activated_scores(p_det: Tensor, p_ctx: Tensor, mode: str = 'mean',
                          det_weight: float = 0.5) -> Tensor:
    """Sigmoid-family heads: per-class scores (R, C+1) combined class by class, each branch's
    scores taken after its own activation (``loss_cls.get_activation``).

    ``mean``: (p_det + p_ctx) / 2; ``weighted``: w p_det + (1-w) p_ctx; ``geometric``:
    p_det^w p_ctx^(1-w) (not renormalised: classes are independent). ``logit_sum`` is not a
    score rule here: the head's activation of s_det + s_ctx (:meth:`ContextClassifier.test_scores`).
    """
    if mode == 'logit_sum':
        raise ValueError('logit_sum fuses logits (the head activation of s_det + s_ctx), '
                         'not scores')
    if mode == 'geometric':
        return p_det.pow(det_weight) * p_ctx.pow(1 - det_weight)
    w = 0.5 if mode == 'mean' else det_weight
    return w * p_det + (1 - w) * p_ctx


@MODELS.register_module()
class ContextClassifier(BaseModule):
    """Class scores from ``x_context`` (GAP -> ``num_fcs`` x [FC, ReLU] -> FC to K+1, or to
    ``loss_cls.get_cls_channels(K)`` for a sigmoid-family loss).

    Args:
        in_channels: channels of ``x_context``.
        num_classes: foreground classes K (the RoI head fills it from the bbox head).
        num_fcs / fc_channels: hidden layers (default 1 x 256; the paper leaves the design open,
            we keep it small for speed).
        loss_cls: its cross-entropy (``loss_ctx_cls``), default weight 1.0. A loss with
            ``custom_cls_channels`` (config or built module; the HCE RoI head passes a copy of a
            sigmoid-family box head's ``loss_cls``) makes this a sigmoid-family classifier: its
            channels, activation, accuracy and test-time scores follow that loss.
        fusion: ``'mean'`` (default), ``'weighted'`` or ``'geometric'``, see
            :func:`fuse_class_probs`; ``det_weight`` w is used by the last two (default 0.5).
            ``'logit_sum'`` is *trained* late fusion: the box head's classification loss is
            applied to ``s_det + s_ctx`` during training too (the same rule at test time), and
            ``fc_cls`` starts at zero, so HCE starts with the detector's own scores.
        test_branch: ``'both'`` (default), or ``'det'`` / ``'context'`` to score with one branch
            only at test time (``'det'`` skips the context classifier).
        pool: ``'avg'`` (default: GAP of ``x_context``) or ``'flatten'`` (the S x S map
            flattened, as the box head's shared FCs read the RoI feature: keeps where in the RoI
            the context responds).
        bias_init: constant init of ``fc_cls.bias`` unless ``logit_sum`` (default 0; the HCE RoI
            head passes a sigmoid-family box head's ``cls_bias_init``, e.g. −2).
    """

    def __init__(self, in_channels: int, num_classes: int, num_fcs: int = 1,
                 fc_channels: int = 256,
                 loss_cls: Union[dict, nn.Module] = dict(type='CrossEntropyLoss',
                                                         use_sigmoid=False, loss_weight=1.0),
                 fusion: str = 'mean', det_weight: float = 0.5, test_branch: str = 'both',
                 pool: str = 'avg', roi_size: int = 7, bias_init: float = 0.0,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pool not in POOLS:
            raise ValueError(f'late_fusion.pool={pool!r}; choose one of {POOLS}')
        if fusion not in FUSIONS:
            raise ValueError(f'late_fusion.fusion={fusion!r}; choose one of {FUSIONS}')
        if test_branch not in TEST_BRANCHES:
            raise ValueError(f'late_fusion.test_branch={test_branch!r}; choose one of '
                             f'{TEST_BRANCHES}')
        if not 0.0 <= det_weight <= 1.0:
            raise ValueError(f'late_fusion.det_weight={det_weight} must be in [0, 1]')
        self.num_classes = num_classes
        self.fusion = fusion
        self.det_weight = det_weight
        self.test_branch = test_branch
        self.pool = pool
        self.trained_fusion = fusion == 'logit_sum'
        layers, c = [], in_channels * (roi_size ** 2 if pool == 'flatten' else 1)
        for _ in range(num_fcs):
            layers += [nn.Linear(c, fc_channels), nn.ReLU(inplace=True)]
            c = fc_channels
        self.fcs = nn.Sequential(*layers)
        self.loss_cls = loss_cls if isinstance(loss_cls, nn.Module) else MODELS.build(loss_cls)
        self.custom = bool(getattr(self.loss_cls, 'custom_cls_channels', False))
        out = self.loss_cls.get_cls_channels(num_classes) if self.custom else num_classes + 1
        self.fc_cls = nn.Linear(c, out)
        self.bias_init = float(bias_init)

    def init_weights(self) -> None:
        super().init_weights()
        if self.trained_fusion:  # s_det + 0: starts exactly as the detector alone
            nn.init.zeros_(self.fc_cls.weight)
        else:
            nn.init.normal_(self.fc_cls.weight, std=0.01)
        nn.init.constant_(self.fc_cls.bias, 0.0 if self.trained_fusion else self.bias_init)

    def pool_features(self, x_context: Tensor) -> Tensor:
        """The classifier's input from ``x_context`` (R, C, S, S): GAP (R, C) or flattened."""
        if self.pool == 'flatten':
            return x_context.flatten(1)
        # GAP as sum / (S*S): mean()'s values, and its backward is a broadcast view
        return x_context.sum(dim=(2, 3)) / (x_context.shape[2] * x_context.shape[3])

    def forward(self, x_context: Optional[Tensor], pooled: Optional[Tensor] = None) -> Tensor:
        """Class logits (R, K+1) from ``x_context``, or from ``pooled`` = what
        :meth:`pool_features` returns, computed elsewhere (the GAP that
        ``HierarchicalContextRoI(..., fuse_into=...)`` returns)."""
        x = self.pool_features(x_context) if pooled is None else pooled
        return self.fc_cls(self.fcs(x))

    def train_scores(self, det_logits: Tensor, x_context: Tensor,
                     ctx_logits: Optional[Tensor] = None) -> Tensor:
        """Scores the box head's loss sees: ``s_det + s_ctx`` for trained fusion, else
        ``s_det`` (the context classifier then learns from its own loss only).
        ``ctx_logits``: ``self(x_context)`` when already computed."""
        if not self.trained_fusion:
            return det_logits
        return det_logits + (self(x_context) if ctx_logits is None else ctx_logits)

    def loss(self, ctx_logits: Tensor, labels: Tensor, label_weights: Tensor) -> dict:
        """``loss_ctx_cls`` (CE over the sampled RoIs, as the box head's) and ``acc_ctx``; a
        loss returning a dict (Seesaw) gives ``loss_ctx_cls_*``; a custom accuracy
        (``get_accuracy``) gives ``<its key>_ctx``."""
        avg = max(float(torch.sum(label_weights > 0).item()), 1.0)
        loss = self.loss_cls(ctx_logits, labels, label_weights, avg_factor=avg)
        if isinstance(loss, dict):
            out = {k.replace('loss_cls', 'loss_ctx_cls') if 'loss_cls' in k else
                   f'loss_ctx_{k}': v for k, v in loss.items()}
        else:
            out = dict(loss_ctx_cls=loss)
        if getattr(self.loss_cls, 'custom_accuracy', False):
            out.update({f'{k}_ctx': v for k, v in
                        self.loss_cls.get_accuracy(ctx_logits, labels).items()})
        else:
            out['acc_ctx'] = accuracy(ctx_logits, labels)
        return out

    def test_scores(self, det_logits: Tensor, x_context: Optional[Tensor],
                    pooled: Optional[Tensor] = None,
                    head_loss: Optional[nn.Module] = None) -> Tensor:
        """Scores for ``bbox_head.predict_by_feat``: log of the fused probabilities, so that its
        softmax returns them exactly; ``test_branch='det'`` returns the detector's logits.
        ``pooled``: see :meth:`forward`.

        Sigmoid-family heads (``head_loss`` = the box head's ``loss_cls``, needed then): the
        logits whose ``head_loss.get_activation`` gives the fused scores
        (:func:`~hce_det.models.long_tail.logits_for_scores`); ``logit_sum`` returns
        s_det + s_ctx, which the head's activation scores."""
        if self.test_branch == 'det':
            return det_logits
        ctx_logits = self(x_context, pooled)
        if not self.custom:
            if self.test_branch == 'context':
                return ctx_logits
            if self.trained_fusion:
                return det_logits + ctx_logits
            probs = fuse_class_probs(det_logits, ctx_logits, self.fusion, self.det_weight)
            return probs.clamp(min=1e-12).log()
        if head_loss is None:
            raise ValueError('a sigmoid-family context classifier needs head_loss (the box '
                             "head's loss_cls) to score")
        if self.trained_fusion and self.test_branch == 'both':
            return det_logits + ctx_logits
        p_ctx = self.loss_cls.get_activation(ctx_logits)
        if self.test_branch == 'both':
            p_ctx = fuse_activated_scores(head_loss.get_activation(det_logits), p_ctx,
                                          self.fusion, self.det_weight)
        return logits_for_scores(head_loss, p_ctx).to(det_logits.dtype)
