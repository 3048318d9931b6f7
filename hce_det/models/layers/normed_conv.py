"""Cosine-normalised conv with a learnable temperature, for the mask predictor of the AGLU
LVIS recipe (kostas1515/AGLU ``mmdetection_v3.2/mmdet/models/layers/normed_predictor.py``,
``NormedConv2d(learnable_temp=True)``: a scalar ``t`` initialised to 4.5, logits scaled by
``t**2``, i.e. 20.25 at the start). mmdet 3.3's ``NormedConv2d`` has a fixed temperature only.
"""
import torch
from mmdet.models.layers import NormedConv2d
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class NormedConv2dLearnableTemp(NormedConv2d):
    """mmdet ``NormedConv2d`` (input and weight l2-normalised over channels) whose scale is
    ``temperature ** 2`` with ``temperature`` a learnable scalar (init ``temperature_init``).
    Other arguments as ``NormedConv2d``; its fixed ``tempearture`` is unused."""

    def __init__(self, *args, temperature_init: float = 4.5, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.temperature = nn.Parameter(torch.tensor(float(temperature_init)))

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight
        if self.norm_over_kernel:
            norm = w.view(w.size(0), -1).norm(dim=1, keepdim=True)[..., None, None]
        else:
            norm = w.norm(dim=1, keepdim=True)
        w = w / (norm.pow(self.power) + self.eps)
        x = x / (x.norm(dim=1, keepdim=True).pow(self.power) + self.eps)
        return self._conv_forward(x * self.temperature.pow(2), w, self.bias)
