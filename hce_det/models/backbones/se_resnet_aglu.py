"""SE-ResNet with AGLU activations and an APA-gated squeeze-and-excitation (ECCV 2024 APA paper).

Reference layout (kostas1515/AGLU ``se_resnet.py``, read for facts): the stem ReLU and every
block ReLU become AGLU (λ~U(0,1), κ~U(1,1.3)); each block applies SE to the residual branch
after its last norm, SE = LayerNorm → FC(C→C/16, no bias) → ReLU → FC(C/16→C, no bias) →
Dropout(0.1) → APA gate (λ~U(0,1), κ~U(−1,0)).

Module names match mmdet's ``ResNet`` (conv1, bn1, layerX.Y.convZ, ...), so a ResNet ImageNet
checkpoint (e.g. ``init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')``)
loads; the SE and AGLU parameters are then reported as missing keys and keep their init.
"""
import copy
from typing import Optional

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer
from mmdet.models.backbones.resnet import BasicBlock, Bottleneck, ResNet
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from ..layers.apa import AGLU, APA  # noqa: F401  (registers AGLU/APA)

__all__ = ['SEGate', 'SEBasicBlockAGLU', 'SEBottleneckAGLU', 'SEResNetAGLU']

DEFAULT_ACT = dict(type='AGLU', lambda_init=(0.0, 1.0), kappa_init=(1.0, 1.3))
DEFAULT_GATE = dict(type='APA', lambda_init=(0.0, 1.0), kappa_init=(-1.0, 0.0))


class SEGate(BaseModule):
    """Squeeze-and-excitation x·g(FC2(ReLU(FC1(LN(avgpool x))))) with a configurable gate.

    Args:
        channels: C. ratio: reduction (hidden = C // ratio, at least 1).
        gate_cfg: activation config of the gate (APA by default, ``Sigmoid`` = classic SE).
        use_norm: LayerNorm on the pooled vector (reference APA variant). dropout: after FC2.
    """

    def __init__(self, channels: int, ratio: int = 16, gate_cfg: dict = DEFAULT_GATE,
                 use_norm: bool = True, dropout: float = 0.1, init_cfg=None) -> None:
        super().__init__(init_cfg)
        hidden = max(channels // ratio, 1)
        self.norm = nn.LayerNorm(channels) if use_norm else nn.Identity()
        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, channels, bias=False)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.gate = build_activation_layer(copy.deepcopy(dict(gate_cfg)))

    def forward(self, x):
        y = self.norm(x.mean(dim=(2, 3)))
        y = self.drop(self.fc2(self.act(self.fc1(y))))
        return x * self.gate(y)[:, :, None, None]


class _SEActMixin:
    """Shared setup: replace the block's single ReLU by ``num_acts`` separate activations and add
    an optional SE gate on the residual branch."""

    def _setup_se_act(self, num_acts: int, se_channels: int, act_cfg: dict, se_ratio: Optional[int],
                      se_gate_cfg: dict, se_norm: bool, se_dropout: float) -> None:
        del self.relu
        for i in range(1, num_acts + 1):
            self.add_module(f'act{i}', build_activation_layer(copy.deepcopy(dict(act_cfg))))
        self.se = SEGate(se_channels, se_ratio, se_gate_cfg, se_norm, se_dropout) \
            if se_ratio else None

    def _residual(self, x, inner):
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(inner, x, use_reentrant=False)
        return inner(x)


class SEBasicBlockAGLU(_SEActMixin, BasicBlock):
    """mmdet ``BasicBlock`` with AGLU after norm1 and after the addition, SE before the addition."""

    def __init__(self, *args, act_cfg: dict = DEFAULT_ACT, se_ratio: Optional[int] = 16,
                 se_gate_cfg: dict = DEFAULT_GATE, se_norm: bool = True, se_dropout: float = 0.1,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._setup_se_act(2, self.conv2.out_channels, act_cfg, se_ratio, se_gate_cfg, se_norm,
                           se_dropout)

    def forward(self, x):

        def inner(x):
            out = self.act1(self.norm1(self.conv1(x)))
            out = self.norm2(self.conv2(out))
            if self.se is not None:
                out = self.se(out)
            identity = x if self.downsample is None else self.downsample(x)
            return out + identity

        return self.act2(self._residual(x, inner))


class SEBottleneckAGLU(_SEActMixin, Bottleneck):
    """mmdet ``Bottleneck`` with AGLU after norm1, norm2 and the addition, SE after norm3."""

    def __init__(self, *args, act_cfg: dict = DEFAULT_ACT, se_ratio: Optional[int] = 16,
                 se_gate_cfg: dict = DEFAULT_GATE, se_norm: bool = True, se_dropout: float = 0.1,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._setup_se_act(3, self.planes * self.expansion, act_cfg, se_ratio, se_gate_cfg,
                           se_norm, se_dropout)

    def forward(self, x):

        def inner(x):
            out = self.act1(self.norm1(self.conv1(x)))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv1_plugin_names)
            out = self.act2(self.norm2(self.conv2(out)))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv2_plugin_names)
            out = self.norm3(self.conv3(out))
            if self.with_plugins:
                out = self.forward_plugin(out, self.after_conv3_plugin_names)
            if self.se is not None:
                out = self.se(out)
            identity = x if self.downsample is None else self.downsample(x)
            return out + identity

        return self.act3(self._residual(x, inner))


@MODELS.register_module()
class SEResNetAGLU(ResNet):
    """mmdet ``ResNet`` with AGLU activations and APA-gated SE blocks (ECCV 2024 APA paper).

    Args:
        act_cfg: activation replacing every ReLU (stem and blocks); ``dict(type='ReLU')``
            gives a plain SE-ResNet.
        se_ratio: SE reduction ratio (None/0 disables SE).
        se_gate_cfg / se_norm / se_dropout: see :class:`SEGate`.
        Other arguments: as mmdet ``ResNet`` (``init_cfg`` for ImageNet ResNet checkpoints).
    """

    arch_settings = {
        18: (SEBasicBlockAGLU, (2, 2, 2, 2)),
        34: (SEBasicBlockAGLU, (3, 4, 6, 3)),
        50: (SEBottleneckAGLU, (3, 4, 6, 3)),
        101: (SEBottleneckAGLU, (3, 4, 23, 3)),
        152: (SEBottleneckAGLU, (3, 8, 36, 3)),
    }

    def __init__(self, depth: int, act_cfg: dict = DEFAULT_ACT, se_ratio: Optional[int] = 16,
                 se_gate_cfg: dict = DEFAULT_GATE, se_norm: bool = True, se_dropout: float = 0.1,
                 **kwargs) -> None:
        # read by make_res_layer during ResNet.__init__
        self._block_extra = dict(act_cfg=act_cfg, se_ratio=se_ratio, se_gate_cfg=se_gate_cfg,
                                 se_norm=se_norm, se_dropout=se_dropout)
        self._zero_init_blocks = (kwargs.get('zero_init_residual', True)
                                  and kwargs.get('init_cfg') is None
                                  and kwargs.get('pretrained') is None)
        super().__init__(depth, **kwargs)
        if self.deep_stem:
            for i, m in enumerate(self.stem):
                if isinstance(m, nn.ReLU):
                    self.stem[i] = build_activation_layer(copy.deepcopy(dict(act_cfg)))
        else:
            self.relu = build_activation_layer(copy.deepcopy(dict(act_cfg)))
        self._freeze_stages()

    def make_res_layer(self, **kwargs):
        kwargs.update(self._block_extra)
        if self._zero_init_blocks and kwargs.get('init_cfg') is None:
            last_norm = 'norm3' if kwargs['block'] is SEBottleneckAGLU else 'norm2'
            kwargs['init_cfg'] = dict(type='Constant', val=0, override=dict(name=last_norm))
        return super().make_res_layer(**kwargs)

    def _freeze_stages(self):
        super()._freeze_stages()
        if self.frozen_stages >= 0 and not self.deep_stem and hasattr(self, 'relu'):
            for p in self.relu.parameters():
                p.requires_grad = False
