"""Pieces that let a plain Faster R-CNN config train on two-domain batches.

* :class:`DomainBatchPreprocessor` -- mmdet's ``MultiBranchDataPreprocessor`` that tolerates a
  branch with no image in the batch (it is dropped instead of crashing the stacker) and says
  clearly when a training batch is not multi-branch.
* :class:`SelectFeatureLevels` -- a neck that keeps some backbone outputs, so a single-level
  detector (VGG16 conv5_3) can expose a shallow map (conv3_3) to the SW-Faster local
  discriminator while RPN/RoI heads see only the deep one.
"""
from typing import Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor

from mmdet.models.data_preprocessors import MultiBranchDataPreprocessor
from mmdet.registry import MODELS


@MODELS.register_module()
class DomainBatchPreprocessor(MultiBranchDataPreprocessor):
    """Multi-branch preprocessing (branches ``source`` / ``target``) for DA training; test-time
    data goes through the wrapped preprocessor unchanged."""

    def forward(self, data: dict, training: bool = False) -> dict:
        if not training:
            return self.data_preprocessor(data, training)
        if not isinstance(data.get('inputs'), dict):
            raise TypeError('DA training expects MultiBranch-packed samples (branches "source" '
                            'and "target"); wrap PackDetInputs in MultiBranch as in '
                            'configs/_base_/datasets/synth_fog_da.py')
        kept = {}
        for key, branches in data.items():
            kept[key] = {b: [v for v in vals if v is not None] for b, vals in branches.items()}
            kept[key] = {b: vals for b, vals in kept[key].items() if len(vals)}
        return super().forward(kept, training)


@MODELS.register_module()
class SelectFeatureLevels(BaseModule):
    """Neck returning ``inputs[i] for i in indices`` (no parameters)."""

    def __init__(self, indices: Sequence[int] = (-1, ), init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.indices = tuple(indices)

    def forward(self, inputs: Tuple[Tensor]) -> Tuple[Tensor]:
        if isinstance(inputs, Tensor):
            inputs = (inputs, )
        return tuple(inputs[i] for i in self.indices)
