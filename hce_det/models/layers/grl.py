"""Gradient reversal layer (Ganin & Lempitsky, ICML 2015, eq. 13): identity forward, -lambda*grad
backward. Used by the CR-DA discriminators (coefficient 0.1 in DA-Faster, 1.0 in SW-Faster;
megvii-research/CR-DA-DET ``DA.py`` / ``net_utils.py``). :func:`grad_scale` is the same layer with
a non-negative factor (HCE's ``context_embedding.input_grad_scale``)."""
import torch
from torch import Tensor, nn


class _ScaleGrad(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: Tensor, factor: float) -> Tensor:
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad * ctx.factor, None


def grad_reverse(x: Tensor, coeff: float = 1.0) -> Tensor:
    """``y = x`` in the forward pass; ``dL/dx = -coeff * dL/dy`` in the backward pass."""
    return _ScaleGrad.apply(x, -float(coeff))


def grad_scale(x: Tensor, factor: float) -> Tensor:
    """``y = x`` in the forward pass; ``dL/dx = factor * dL/dy`` in the backward pass."""
    return _ScaleGrad.apply(x, float(factor))


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
