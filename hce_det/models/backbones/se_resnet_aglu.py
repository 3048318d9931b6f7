"""SE-ResNet with AGLU activations and an APA-gated squeeze-and-excitation (ECCV 2024 APA paper).

Reference layout (kostas1515/AGLU ``se_resnet.py``, read for facts): the stem ReLU and every
block ReLU become AGLU (λ~U(0,1), κ~U(1,1.3)); each block applies SE to the residual branch
after its last norm, SE = LayerNorm → FC(C→C/16, no bias) → ReLU → FC(C/16→C, no bias) →
Dropout(0.1) → APA gate (λ~U(0,1), κ~U(−1,0)).

Module names match mmdet's ``ResNet`` (conv1, bn1, layerX.Y.convZ, ...), so a ResNet ImageNet
checkpoint (e.g. ``init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')``)
loads; the SE and AGLU parameters are then reported as missing keys and keep their init.
The reference's SE-AGLU ImageNet checkpoints name them differently (``unirect1-3``,
``se.excitation.{0,2}``, ``se.uniact``): convert them with
``tools/model_converters/se_resnet_aglu_to_hce.py`` first, or nothing of SE/AGLU loads.

Frozen stages (``frozen_stages``) and SE/AGLU parameters: the reference freezes whole stages,
right for its own SE-AGLU checkpoint where every parameter is pretrained. From a plain ResNet
checkpoint the SE/AGLU parameters of those stages are random, and freezing them would keep them
random for the whole training. ``freeze_se_act=None`` (default) decides after loading: they are
frozen only if the ``Pretrained`` checkpoint holds every one of them, else they stay trainable
(with a warning); True / False force either.
"""
import copy
from typing import Dict, Optional

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer
from mmdet.models.backbones.resnet import BasicBlock, Bottleneck, ResNet
from mmdet.registry import MODELS
from mmengine.logging import print_log
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
        freeze_se_act: whether the SE and AGLU/APA parameters of the frozen stages (and the stem
            activation) are frozen with them: None = only if the pretrained checkpoint holds them
            (decided in ``init_weights``; frozen until then), True / False = always / never.
            Trainable ones still run in eval mode (SE dropout off), as the rest of the stage.
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
                 freeze_se_act: Optional[bool] = None, **kwargs) -> None:
        if freeze_se_act not in (None, True, False):
            raise ValueError(f'freeze_se_act must be None, True or False, got {freeze_se_act!r}')
        # read by _freeze_stages, which ResNet.__init__ already calls
        self.freeze_se_act = freeze_se_act
        self._se_act_pretrained: Optional[bool] = None
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

    def frozen_se_act_params(self) -> Dict[str, nn.Parameter]:
        """SE and AGLU/APA parameters inside the frozen part (stem + ``layer1..frozen_stages``)."""
        if self.frozen_stages < 0:
            return {}
        prefixes = ('stem.', ) + tuple(f'layer{i}.' for i in range(1, self.frozen_stages + 1))
        out = {}
        for name, m in self.named_modules():
            if isinstance(m, (APA, SEGate)) and (name == 'relu' or name.startswith(prefixes)):
                out.update((f'{name}.{k}', p) for k, p in m.named_parameters())
        return out

    def _freeze_se_act(self) -> bool:
        if self.freeze_se_act is not None:
            return self.freeze_se_act
        return self._se_act_pretrained is not False

    def _freeze_stages(self):
        super()._freeze_stages()
        if self.frozen_stages >= 0 and not self.deep_stem and hasattr(self, 'relu'):
            for p in self.relu.parameters():
                p.requires_grad = False
        if not self._freeze_se_act():
            for p in self.frozen_se_act_params().values():
                p.requires_grad = True

    def _checkpoint_keys(self) -> Optional[set]:
        """Parameter names in the ``Pretrained`` init checkpoint (None without one)."""
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            return None
        from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint_with_prefix
        if cfg.get('prefix'):
            state = _load_checkpoint_with_prefix(cfg['prefix'], cfg['checkpoint'], 'cpu')
        else:
            ckpt = CheckpointLoader.load_checkpoint(cfg['checkpoint'], map_location='cpu')
            state = ckpt.get('state_dict', ckpt)
        return {k[len('module.'):] if k.startswith('module.') else k for k in state}

    def init_weights(self):
        super().init_weights()
        if self.freeze_se_act is not None or self.frozen_stages < 0:
            return
        keys = self._checkpoint_keys()
        if keys is None:  # no pretrained weights at all: nothing to tell apart
            return
        missing = [k for k in self.frozen_se_act_params() if k not in keys]
        self._se_act_pretrained = not missing
        if missing:
            print_log(f'SEResNetAGLU: {len(missing)} SE/AGLU parameters of the frozen stages '
                      f'(frozen_stages={self.frozen_stages}, e.g. {missing[0]}) are not in '
                      f'{self.init_cfg["checkpoint"]}; they stay trainable (freeze_se_act=None). '
                      'A reference SE-AGLU checkpoint must be converted first: '
                      'tools/model_converters/se_resnet_aglu_to_hce.py',
                      logger='current', level=30)
        self._freeze_stages()
