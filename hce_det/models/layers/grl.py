"""Gradient reversal layer (Ganin & Lempitsky, ICML 2015, eq. 13): identity forward, -lambda*grad
backward. Used by the CR-DA discriminators (coefficient 0.1 in DA-Faster, 1.0 in SW-Faster;
megvii-research/CR-DA-DET ``DA.py`` / ``net_utils.py``)."""
import torch
from torch import Tensor, nn


class _GradReverse(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: Tensor, coeff: float) -> Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad.neg() * ctx.coeff, None


def grad_reverse(x: Tensor, coeff: float = 1.0) -> Tensor:
    """``y = x`` in the forward pass; ``dL/dx = -coeff * dL/dy`` in the backward pass."""
    return _GradReverse.apply(x, float(coeff))


class GradientReversal(nn.Module):
    """Module form of :func:`grad_reverse`. ``coeff`` may be changed during training (e.g. by
    :class:`hce_det.engine.hooks.GRLScheduleHook`)."""

    def __init__(self, coeff: float = 1.0) -> None:
        super().__init__()
        if coeff < 0:
            raise ValueError(f'GradientReversal coeff must be >= 0, got {coeff}')
        self.coeff = float(coeff)

    def forward(self, x: Tensor) -> Tensor:
        return grad_reverse(x, self.coeff)

    def extra_repr(self) -> str:
        return f'coeff={self.coeff}'
