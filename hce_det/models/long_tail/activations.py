"""Sigmoid-family score activations for a box classifier with one output per class.

Each activation maps logits z (N, C) to per-class probabilities p and also returns
(log p, log(1 − p)) in a numerically stable form, which the BCE losses of this package use.
Classes: sigmoid, fixed Gumbel (GOL, Alexandridis et al. ECCV 2022, p = exp(−e^(−z))), and
a learnable APA (ECCV 2024, p = (λe^(−κz) + 1)^(−1/λ)).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS

from ..layers.apa import APA, log1mexp

__all__ = ['ClsActivation', 'SigmoidClsAct', 'GumbelClsAct', 'APAClsAct']


class ClsActivation(nn.Module):
    """Base: subclasses implement :meth:`log_probs`; ``forward`` returns probabilities.

    Args:
        clamp_logits: if set, logits are clamped to [−c, c] before the activation, at train and
            test time alike (reference Gumbel classifier uses 10).
    """

    def __init__(self, clamp_logits: Optional[float] = None) -> None:
        super().__init__()
        if clamp_logits is not None and clamp_logits <= 0:
            raise ValueError(f'clamp_logits must be > 0 or None, got {clamp_logits}')
        self.clamp_logits = clamp_logits

    def _clamp(self, z: torch.Tensor) -> torch.Tensor:
        z = z.float() if z.dtype in (torch.float16, torch.bfloat16) else z
        return z if self.clamp_logits is None else z.clamp(-self.clamp_logits, self.clamp_logits)

    def log_probs(self, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(log p, log(1 − p)) of the same shape as ``z``."""
        raise NotImplementedError

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.log_probs(z)[0].exp()

    def inverse(self, p: torch.Tensor) -> torch.Tensor:
        """Logits z with ``forward(z) = p`` (p clamped to [tiny, 1 − eps] of its dtype; exact
        while z stays inside ``clamp_logits``)."""
        raise NotImplementedError(f'{type(self).__name__} has no inverse')

    @staticmethod
    def _open_unit(p: torch.Tensor) -> torch.Tensor:
        p = p.float() if p.dtype in (torch.float16, torch.bfloat16) else p
        info = torch.finfo(p.dtype)
        return p.clamp(info.tiny, 1 - info.eps)


@MODELS.register_module()
class SigmoidClsAct(ClsActivation):
    """p = σ(z); log p = −softplus(−z), log(1 − p) = −softplus(z)."""

    def log_probs(self, z):
        z = self._clamp(z)
        return -F.softplus(-z), -F.softplus(z)

    def inverse(self, p):
        """z = log p − log(1 − p)."""
        p = self._open_unit(p)
        return torch.log(p) - torch.log1p(-p)


@MODELS.register_module()
class GumbelClsAct(ClsActivation):
    """Gumbel CDF p = exp(−e^(−z)) (GOL, ECCV 2022; kostas1515/GOL): log p = −e^(−z).

    Logits are clamped to [−10, 10] by default, which keeps e^(−z) finite (as the AGLU LVIS
    release, kostas1515/AGLU ``mmdetection_v3.2`` ``droploss.py``; GOL's ``gumbel_ce`` clamps to
    [−4, 10] in the loss instead: ``GumbelLoss(variant='gol')``).
    """

    def __init__(self, clamp_logits: Optional[float] = 10.0) -> None:
        super().__init__(clamp_logits)

    def log_probs(self, z):
        log_p = -torch.exp(-self._clamp(z))
        return log_p, log1mexp(log_p)

    def inverse(self, p):
        """z = −log(−log p)."""
        return -torch.log(-torch.log(self._open_unit(p)))


@MODELS.register_module()
class APAClsAct(ClsActivation):
    """APA classifier activation p = (λe^(−κz) + 1)^(−1/λ), learnable λ, κ (ECCV 2024 APA).

    Args:
        num_classes: only needed with ``per_class=True`` (one λ, κ per class).
        per_class: one (λ, κ) pair per class instead of one for the layer.
        learnable: learn λ, κ (False: a fixed APA).
        lambda_init, kappa_init, lambda_min, kappa_range: see :class:`~hce_det.models.layers.APA`.
            Defaults start at the sigmoid (λ = κ = 1).
        clamp_logits: clamp for z before the activation (default 10, as for Gumbel).
    """

    def __init__(self,
                 num_classes: Optional[int] = None,
                 per_class: bool = False,
                 learnable: bool = True,
                 lambda_init=1.0,
                 kappa_init=1.0,
                 lambda_min: float = 1e-4,
                 kappa_range=(0.05, 20.0),
                 clamp_logits: Optional[float] = 10.0) -> None:
        super().__init__(clamp_logits)
        if per_class and not num_classes:
            raise ValueError('APAClsAct(per_class=True) needs num_classes (the head passes it '
                             'when the activation is given through the head/loss config)')
        self.apa = APA(num_classes if per_class else 1, lambda_init=lambda_init,
                       kappa_init=kappa_init, lambda_min=lambda_min, kappa_range=kappa_range,
                       learnable=learnable, channel_dim=-1)

    def log_probs(self, z):
        log_p = self.apa.log_prob(self._clamp(z))
        return log_p, log1mexp(log_p)

    def inverse(self, p):
        """z = (ln λ − ln(p^(−λ) − 1)) / κ, the APA solved for z."""
        p = self._open_unit(p)
        lam, kappa = self.apa.params_for(p)
        lam, kappa = lam.to(p.dtype), kappa.to(p.dtype)
        return (torch.log(lam) - torch.log(torch.expm1(-lam * torch.log(p)))) / kappa
