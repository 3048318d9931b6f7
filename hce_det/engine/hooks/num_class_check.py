"""Check every head's ``num_classes`` against the dataset before the first train/val/test step.

A config whose ``num_classes`` differs from its dataset's class count trains to the end and
fails only in evaluation (``IndexError`` in ``CocoMetric.results2json``). mmdet's
``NumClassCheckHook`` catches it, but only where a config lists it, with a bare ``assert`` (gone
under ``python -O``), without naming the fix, and not before ``tools/test.py``'s test loop.
:func:`hce_det.engine.launch.build_runner` adds this subclass to every config it runs (issue 17).
"""
from mmcv.cnn import VGG
from mmdet.engine.hooks import NumClassCheckHook
from mmdet.models.roi_heads.mask_heads import FusedSemanticHead
from mmdet.registry import HOOKS
from mmengine.model import is_model_wrapper


class NumClassMismatchError(ValueError):
    """The model's ``num_classes`` and the dataset's classes differ; names both and the fix."""


def class_count_mismatches(model, num_classes: int) -> list:
    """``[(module name, type name, num_classes)]`` of the modules whose ``num_classes`` is not
    ``num_classes``: the modules mmdet's ``NumClassCheckHook`` checks (not ``*rpn_head``, VGG, the
    semantic head), skipping unset values (``None``, negative)."""
    if is_model_wrapper(model):
        model = model.module
    bad = []
    for name, module in model.named_modules():
        n = getattr(module, 'num_classes', None)
        if (not isinstance(n, int) or n < 0 or name.endswith('rpn_head')
                or isinstance(module, (VGG, FusedSemanticHead))):
            continue
        if n != num_classes:
            bad.append((name, type(module).__name__, n))
    return bad


def _ann_file(dataset):
    while dataset is not None and not hasattr(dataset, 'ann_file'):  # RFS / Concat wrappers
        dataset = getattr(dataset, 'dataset', None) or (getattr(dataset, 'datasets', None)
                                                        or [None])[0]
    return getattr(dataset, 'ann_file', None)


@HOOKS.register_module()
class ClassCountCheckHook(NumClassCheckHook):
    """mmdet's ``NumClassCheckHook`` (same modules checked, before training and validation) that
    also checks before testing and raises :class:`NumClassMismatchError` naming every mismatched
    head, both counts and the fix."""

    def _check_head(self, runner, mode: str) -> None:
        dataset = getattr(runner, f'{mode}_dataloader').dataset
        classes = dataset.metainfo.get('classes')
        if classes is None:
            runner.logger.warning(f'{type(dataset).__name__} has no `classes` in its metainfo; '
                                  "the heads' num_classes is not checked against it.")
            return
        if isinstance(classes, str):
            raise NumClassMismatchError(f'dataset classes must be a tuple of names, got the '
                                        f'string {classes!r}; write classes=({classes!r}, )')
        bad = class_count_mismatches(runner.model, len(classes))
        if not bad:
            return
        heads = ', '.join(f'{name} ({kind}) num_classes={n}' for name, kind, n in bad[:6])
        more = f' and {len(bad) - 6} more' if len(bad) > 6 else ''
        ann = _ann_file(dataset)
        raise NumClassMismatchError(
            f'num_classes mismatch: the model config has {heads}{more}, but the {mode} dataset '
            f'{type(dataset).__name__}{f" ({ann})" if ann else ""} has {len(classes)} classes. '
            f'Fix: set num_classes={len(classes)} in every head of the model config (e.g. '
            'model.roi_head.bbox_head.num_classes; a cascade has one per stage, Mask R-CNN also '
            'mask_head), or give the dataset metainfo=dict(classes=...) with the classes the '
            f'model was configured for. (Checked by {type(self).__name__} before the first '
            f'{mode} step; unchecked, the run would fail only at evaluation.)')

    def before_test_epoch(self, runner) -> None:
        self._check_head(runner, 'test')
