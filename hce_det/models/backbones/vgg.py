"""VGG16 backbone for single-level (stride-16) Faster R-CNN as in DA-Faster / SW-Faster / CR-DA
(conv5_3 without the last max-pool; conv1-conv2 frozen in the reference,
megvii-research/CR-DA-DET ``vgg16.py``).

Outputs are the *pre-pool* ReLU maps of the requested stages: stage 2 = conv3_3 (256 ch,
stride 4, the SW-Faster local-alignment feature), stage 4 = conv5_3 (512 ch, stride 16).
Layer names match torchvision's ``vgg16().features`` so ``torchvision://vgg16`` loads directly.
"""
from typing import Sequence, Tuple

from mmcv.cnn import VGG
from mmengine.runner import load_checkpoint
from torch import Tensor

from mmdet.registry import MODELS


@MODELS.register_module()
class DetVGG(VGG):
    """mmcv ``VGG`` returning pre-pool stage outputs, always as a tuple, with mmengine-style
    ``init_cfg=dict(type='Pretrained', checkpoint=...)`` support."""

    def __init__(self, depth: int = 16, out_indices: Sequence[int] = (4, ),
                 frozen_stages: int = -1, init_cfg=None, **kwargs) -> None:
        if not out_indices or max(out_indices) > 4 or min(out_indices) < 0:
            raise ValueError(f'DetVGG out_indices must be within 0..4, got {out_indices}')
        super().__init__(depth, out_indices=tuple(out_indices), frozen_stages=frozen_stages,
                         with_last_pool=False, **kwargs)
        self.init_cfg = init_cfg

    def init_weights(self) -> None:
        cfg = self.init_cfg or {}
        if cfg.get('type') == 'Pretrained':
            load_checkpoint(self, cfg['checkpoint'], map_location='cpu', strict=False)
        else:
            super().init_weights(None)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
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
