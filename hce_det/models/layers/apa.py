"""APA (Adaptive Parametric Activation) and AGLU (Adaptive Gumbel Linear Unit).

APA(z; λ, κ) = (λ·e^(−κz) + 1)^(−1/λ) and AGLU(z) = z·APA(z)  (Alexandridis et al., ECCV 2024,
"Adaptive Parametric Activation"; reference code github kostas1515/AGLU).

Special cases: λ = κ = 1 gives sigmoid / SiLU; λ → 0 gives the Gumbel CDF exp(−e^(−κz)).

Both are registered into mmengine's root ``MODELS`` (what ``mmcv.cnn.build_activation_layer``
uses) and into mmdet's ``MODELS``, so ``act_cfg=dict(type='AGLU')`` works in any mmcv/mmdet
module that builds activations (``ConvModule``, ``SELayer``, ...).
"""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.registry import MODELS as MMENGINE_MODELS

InitSpec = Union[float, Sequence[float]]

__all__ = ['APA', 'AGLU', 'apa', 'aglu', 'apa_log_prob', 'log1mexp']


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float16/bfloat16 are computed in float32 (exp/softplus ranges); float64 stays float64."""
    return torch.promote_types(dtype, torch.float32)


def apa_log_prob(z: torch.Tensor, lam: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
    """log APA(z) = −(1/λ)·softplus(ln λ − κz), the stable form of −(1/λ)·log(1 + λe^(−κz)).

    (Stable form as in DESIGN.md §3 / kostas1515/AGLU.) ``lam`` must already be > 0.
    """
    return -F.softplus(torch.log(lam) - kappa * z) / lam


def log1mexp(log_p: torch.Tensor) -> torch.Tensor:
    """log(1 − e^a) for a ≤ 0, stable on both ends (Mächler 2012: expm1 branch above −ln 2).

    ``a`` is clamped just below 0 so that a probability of exactly 1 gives a large finite value.
    """
    tiny = torch.finfo(log_p.dtype).tiny
    a = log_p.clamp(max=-tiny)
    return torch.where(a > -math.log(2.0), torch.log(-torch.expm1(a)),
                       torch.log1p(-torch.exp(a)))


def apa(z: torch.Tensor, lam: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
    """APA(z; λ, κ) = exp(log APA); half/bfloat16 inputs are computed in float32, returned in
    the input dtype (finite values and gradients for |z| up to 1e4)."""
    ct = _compute_dtype(z.dtype)
    return torch.exp(apa_log_prob(z.to(ct), lam.to(ct), kappa.to(ct))).to(z.dtype)


def aglu(z: torch.Tensor, lam: torch.Tensor, kappa: torch.Tensor) -> torch.Tensor:
    """AGLU(z) = z·APA(z; λ, κ) (ECCV 2024 AGLU paper)."""
    ct = _compute_dtype(z.dtype)
    zc = z.to(ct)
    return (zc * torch.exp(apa_log_prob(zc, lam.to(ct), kappa.to(ct)))).to(z.dtype)


def _init_param(spec: InitSpec, n: int, name: str) -> torch.Tensor:
    """A float -> constant; a (low, high) pair -> uniform in [low, high)."""
    if isinstance(spec, (int, float)):
        return torch.full((n, ), float(spec))
    if isinstance(spec, Sequence) and len(spec) == 2 and spec[0] <= spec[1]:
        return torch.empty(n).uniform_(float(spec[0]), float(spec[1]))
    raise ValueError(f'{name} must be a float or a (low, high) pair with low <= high, got {spec!r}')


class APA(nn.Module):
    """Adaptive Parametric Activation, APA(z) = (λe^(−κz) + 1)^(−1/λ) (ECCV 2024 eq. of APA).

    Args:
        num_parameters: 1 (one λ and one κ for the layer, as in the reference) or the number
            of channels (one pair per channel, broadcast along ``channel_dim``).
        lambda_init / kappa_init: a constant, or a (low, high) pair for a uniform init.
            Reference inits: backbone AGLU λ~U(0,1), κ~U(1,1.3); SE-gate APA λ~U(0,1), κ~U(−1,0).
            The defaults here (1, 1) start as a plain sigmoid.
        lambda_min: λ is clamped to ≥ this in the forward (reference 1e-4).
        kappa_range: optional (min, max) clamp for κ.
        learnable: if False, λ and κ are fixed buffers (e.g. a fixed Gumbel with small λ).
        channel_dim: the channel axis when ``num_parameters > 1``.
        inplace: accepted for mmcv ``ConvModule`` compatibility; ignored (never in place).
    """

    def __init__(self,
                 num_parameters: int = 1,
                 lambda_init: InitSpec = 1.0,
                 kappa_init: InitSpec = 1.0,
                 lambda_min: float = 1e-4,
                 kappa_range: Optional[Tuple[float, float]] = None,
                 learnable: bool = True,
                 channel_dim: int = 1,
                 inplace: bool = False) -> None:
        super().__init__()
        if num_parameters < 1:
            raise ValueError(f'num_parameters must be >= 1, got {num_parameters}')
        if lambda_min <= 0:
            raise ValueError(f'lambda_min must be > 0 (λ appears in 1/λ and ln λ), got {lambda_min}')
        self.num_parameters = num_parameters
        self.lambda_min = float(lambda_min)
        self.kappa_range = tuple(kappa_range) if kappa_range is not None else None
        self.channel_dim = channel_dim
        self.learnable = learnable
        lam = _init_param(lambda_init, num_parameters, 'lambda_init')
        kappa = _init_param(kappa_init, num_parameters, 'kappa_init')
        if learnable:
            self.lambda_param = nn.Parameter(lam)
            self.kappa_param = nn.Parameter(kappa)
        else:
            self.register_buffer('lambda_param', lam)
            self.register_buffer('kappa_param', kappa)

    def extra_repr(self) -> str:
        return (f'num_parameters={self.num_parameters}, lambda_min={self.lambda_min}, '
                f'kappa_range={self.kappa_range}, learnable={self.learnable}')

    def params_for(self, z: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Clamped (λ, κ), shaped to broadcast against ``z``."""
        lam = self.lambda_param.clamp(min=self.lambda_min)
        kappa = self.kappa_param
        if self.kappa_range is not None:
            kappa = kappa.clamp(*self.kappa_range)
        if self.num_parameters > 1:
            dim = self.channel_dim % z.dim()
            if z.shape[dim] != self.num_parameters:
                raise ValueError(f'{type(self).__name__}: input has {z.shape[dim]} channels on '
                                 f'dim {dim} but num_parameters={self.num_parameters}')
            shape = [1] * z.dim()
            shape[dim] = self.num_parameters
            lam, kappa = lam.view(shape), kappa.view(shape)
        return lam, kappa

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log APA(z), computed in at least float32."""
        lam, kappa = self.params_for(z)
        ct = _compute_dtype(z.dtype)
        return apa_log_prob(z.to(ct), lam.to(ct), kappa.to(ct))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return apa(z, *self.params_for(z))


class AGLU(APA):
    """Adaptive Gumbel Linear Unit, AGLU(z) = z·APA(z) (ECCV 2024); λ = κ = 1 gives SiLU.

    Same arguments as :class:`APA`; defaults are the reference backbone inits λ~U(0,1),
    κ~U(1,1.3) (kostas1515/AGLU ``UniRect``).
    """

    def __init__(self,
                 num_parameters: int = 1,
                 lambda_init: InitSpec = (0.0, 1.0),
                 kappa_init: InitSpec = (1.0, 1.3),
                 **kwargs) -> None:
        super().__init__(num_parameters, lambda_init, kappa_init, **kwargs)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return aglu(z, *self.params_for(z))


for _registry in (MMENGINE_MODELS, MMDET_MODELS):
    for _cls in (APA, AGLU):
        if _cls.__name__ not in _registry.module_dict:
            _registry.register_module(module=_cls)
