"""VGG16 backbone for single-level (stride-16) Faster R-CNN as in DA-Faster / SW-Faster / CR-DA
(conv5_3 without the last max-pool; conv1-conv2 frozen in the reference,
megvii-research/CR-DA-DET ``vgg16.py``).

Outputs are the *pre-pool* ReLU maps of the requested stages: stage 2 = conv3_3 (256 ch,
stride 4), stage 4 = conv5_3 (512 ch, stride 16). ``out_layers`` instead names the outputs the
reference way, as slices of ``features``: ``k`` returns ``features[:k](x)``, e.g. ``(14, 30)`` =
ReLU(conv3_2) (the SW-Faster local-alignment input, ``RCNN_base1 = features[:14]`` in CR-DA-DET
``SW_Faster_ICR_CCR/lib/model/da_faster_rcnn_instance_da_weight/vgg16.py``) and ReLU(conv5_3).
Layer names match torchvision's ``vgg16().features`` so ``torchvision://vgg16`` loads directly,
and so does the reference's ``vgg16_caffe.pth`` (the reference loads it by name into
``torchvision.models.vgg16``, so its keys are torchvision's; its preprocessing is caffe-style:
BGR, mean subtraction only).
"""
import os.path as osp
from typing import Optional, Sequence, Tuple

from mmcv.cnn import VGG
from mmengine.runner import load_checkpoint
from torch import Tensor

from mmdet.registry import MODELS


@MODELS.register_module()
class DetVGG(VGG):
    """mmcv ``VGG`` returning pre-pool stage outputs, always as a tuple, with mmengine-style
    ``init_cfg=dict(type='Pretrained', checkpoint=...)`` support.

    Args:
        out_indices: stages whose pre-pool output is returned (ignored with ``out_layers``).
        out_layers: ascending ``k`` values; output ``i`` is ``features[:k_i](x)`` (1 <= k <= 30
            for VGG16 without the last pool).
    """

    def __init__(self, depth: int = 16, out_indices: Sequence[int] = (4, ),
                 frozen_stages: int = -1, out_layers: Optional[Sequence[int]] = None,
                 init_cfg=None, **kwargs) -> None:
        if not out_indices or max(out_indices) > 4 or min(out_indices) < 0:
            raise ValueError(f'DetVGG out_indices must be within 0..4, got {out_indices}')
        super().__init__(depth, out_indices=tuple(out_indices), frozen_stages=frozen_stages,
                         with_last_pool=False, **kwargs)
        if out_layers is not None:
            out_layers = tuple(int(k) for k in out_layers)
            n = len(getattr(self, self.module_name))
            if (not out_layers or list(out_layers) != sorted(set(out_layers))
                    or out_layers[0] < 1 or out_layers[-1] > n):
                raise ValueError(f'DetVGG out_layers must be strictly ascending within 1..{n} '
                                 f'(k = features[:k]), got {out_layers}')
        self.out_layers = out_layers
        self.init_cfg = init_cfg

    def init_weights(self) -> None:
        cfg = self.init_cfg or {}
        if cfg.get('type') == 'Pretrained':
            ckpt = cfg['checkpoint']
            if '://' not in ckpt and not osp.isfile(ckpt):
                raise FileNotFoundError(
                    f'DetVGG: pretrained weights {ckpt!r} not found. The CR-DA recipe uses the '
                    'caffe VGG16 of faster-rcnn.pytorch (vgg16_caffe.pth, torchvision key names, '
                    'loads as is); or set init_cfg.checkpoint=torchvision://vgg16 together with '
                    'the torchvision RGB mean/std preprocessing (docs/RECIPES.md)')
            load_checkpoint(self, ckpt, map_location='cpu', strict=False)
        else:
            super().init_weights(None)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        if self.out_layers is not None:
            layers, outs = getattr(self, self.module_name), []
            for j in range(self.out_layers[-1]):
                x = layers[j](x)
                if j + 1 in self.out_layers:
                    outs.append(x)
            return tuple(outs)
        outs = []
        layers = getattr(self, self.module_name)
        for i, (start, end) in enumerate(self.range_sub_modules):
            for j in range(start, end):
                layer = layers[j]
                if j == end - 1 and layer.__class__.__name__ == 'MaxPool2d':
                    if i in self.out_indices:
                        outs.append(x)
                    x = layer(x)
                    break
                x = layer(x)
            else:
                if i in self.out_indices:
                    outs.append(x)
        return tuple(outs)
