"""Point the frequency-aware losses at the training dataset's own annotation file.

A config that writes the LVIS train json path into a loss (``ann_file='data/lvis_v1/...'``)
keeps reading that path after the train dataloader's ``data_root`` or ``ann_file`` is
overridden (issue 18, item 9). With ``ann_file='train_dataset'`` the loss instead reads the file
of the dataset it trains on: this hook fills it in before the first step (the counts are read
lazily on the first loss call, see :mod:`hce_det.models.long_tail.class_freq`).
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet.registry import HOOKS

from ...models.long_tail.class_freq import TRAIN_DATASET, ClassImageCounts
from .num_class_check import _ann_file


def resolve_train_ann_files(model, ann_file: str) -> list:
    """Set every ``ClassImageCounts`` with ``ann_file='train_dataset'`` to ``ann_file``; returns
    the names of the modules changed."""
    if is_model_wrapper(model):
        model = model.module
    changed = []
    for name, module in model.named_modules():
        stats = getattr(module, 'stats', None)
        if isinstance(stats, ClassImageCounts) and stats.ann_file == TRAIN_DATASET:
            stats.ann_file = ann_file
            changed.append(name)
    return changed


@HOOKS.register_module()
class TrainAnnFileHook(Hook):
    """Before training, replace ``ann_file='train_dataset'`` in the class-statistics of every
    loss by the training dataset's annotation file (through RFS / Concat wrappers: the first
    dataset's)."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        ann = _ann_file(runner.train_dataloader.dataset)
        if ann is None:
            raise ValueError('TrainAnnFileHook: the training dataset has no ann_file; give the '
                             "losses' ann_file explicitly")
        for name in resolve_train_ann_files(runner.model, ann):
            runner.logger.info(f'{name}: class statistics from {ann}')
