"""VGG16-style box head of the CR-DA / DA-Faster / SW-Faster reference code.

The reference (megvii-research/CR-DA-DET ``*/lib/model/*/vgg16.py``, after jwyang's
faster-rcnn.pytorch) uses VGG16's own classifier minus its last layer as the box head:
fc6 (25088 -> 4096), ReLU, Dropout(0.5), fc7 (4096 -> 4096), ReLU, Dropout(0.5), with fc6/fc7
initialised from the ImageNet checkpoint's ``classifier.0`` / ``classifier.3``. Its classifier
and regressor (and the instance-level domain discriminator) read the post-dropout fc7 feature.
"""
from typing import Optional, Sequence

import torch
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn

from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.registry import MODELS


@MODELS.register_module()
class Shared2FCDropoutBBoxHead(Shared2FCBBoxHead):
    """``Shared2FCBBoxHead`` with dropout after each shared FC's ReLU and an optional init of
    the shared FCs from a classification checkpoint.

    The dropout rides on ``self.relu`` (``Sequential(ReLU, Dropout)``), which ``ConvFCBBoxHead``
    applies after every FC, so ``forward`` stays mmdet's: code that splits the head at the
    classifier input (the instance-level DA terms) sees the post-dropout fc7 feature, as the
    reference's instance discriminator does. No parameters are added.

    Args:
        dropout: drop probability after each shared FC (reference: 0.5, torchvision's default).
        fc_init: ``dict(checkpoint=PATH_OR_URL, keys=('classifier.0', 'classifier.3'))``: after
            the usual init, ``shared_fcs[i]`` takes ``<keys[i]>.weight`` / ``.bias`` of the
            checkpoint (torchvision VGG16 and ``vgg16_caffe.pth`` both name fc6/fc7 so). The
            shapes must match (``in_channels * roi_feat_size**2`` -> ``fc_out_channels``).
    """

    def __init__(self, *args, dropout: float = 0.5, fc_init: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        self.dropout_p = float(dropout)
        if dropout > 0:
            self.relu = nn.Sequential(nn.ReLU(inplace=True), nn.Dropout(dropout))
        if fc_init is not None:
            keys: Sequence[str] = tuple(fc_init.get('keys', ('classifier.0', 'classifier.3')))
            if 'checkpoint' not in fc_init or len(keys) != len(self.shared_fcs):
                raise ValueError(f'fc_init needs checkpoint=... and one key per shared FC '
                                 f'({len(self.shared_fcs)}), got {fc_init}')
            fc_init = dict(checkpoint=fc_init['checkpoint'], keys=keys)
        self.fc_init = fc_init

    def init_weights(self) -> None:
        super().init_weights()
        if self.fc_init is None:
            return
        ckpt = CheckpointLoader.load_checkpoint(self.fc_init['checkpoint'], map_location='cpu')
        state = ckpt.get('state_dict', ckpt.get('model', ckpt))
        state = {k[len('module.'):] if k.startswith('module.') else k: v
                 for k, v in state.items()}
        with torch.no_grad():
            for fc, key in zip(self.shared_fcs, self.fc_init['keys']):
                for name in ('weight', 'bias'):
                    src = state.get(f'{key}.{name}')
                    if src is None:
                        raise KeyError(f'fc_init: {key}.{name} not in {self.fc_init["checkpoint"]}')
                    dst = getattr(fc, name)
                    if tuple(src.shape) != tuple(dst.shape):
                        raise ValueError(f'fc_init: {key}.{name} has shape {tuple(src.shape)}, '
                                         f'the head expects {tuple(dst.shape)}')
                    dst.copy_(src)
