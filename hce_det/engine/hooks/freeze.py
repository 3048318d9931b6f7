"""Train only some parameters of a loaded model (a second training stage, e.g. RIDE's router)."""
from typing import List, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.registry import HOOKS


def freeze_except(model, trainable: Sequence[str]) -> List[str]:
    """``requires_grad`` only for parameters whose name starts with one of ``trainable``;
    returns the names left trainable."""
    kept = []
    for name, p in model.named_parameters():
        p.requires_grad_(any(name.startswith(t) for t in trainable))
        if p.requires_grad:
            kept.append(name)
    return kept


def frozen_norms_to_eval(model) -> int:
    """Put every BatchNorm whose parameters are all frozen in eval mode (running statistics
    fixed, as RIDE's ``_hook_before_iter``); returns how many."""
    n = 0
    for m in model.modules():
        if isinstance(m, _BatchNorm) and not any(p.requires_grad for p in m.parameters()):
            m.eval()
            n += 1
    return n


@HOOKS.register_module()
class FreezeExceptHook(Hook):
    """Before training, freeze every parameter except those under ``trainable`` (name prefixes
    of the unwrapped model, e.g. ``['roi_head.bbox_head.router_']``); before every iteration,
    frozen BatchNorm layers go back to eval mode (the train loop's ``model.train()`` would
    otherwise update their statistics). A prefix matching nothing is an error."""

    priority = 'VERY_HIGH'

    def __init__(self, trainable: Sequence[str]) -> None:
        if isinstance(trainable, str):
            trainable = [trainable]
        if not trainable:
            raise ValueError('FreezeExceptHook needs at least one trainable name prefix')
        self.trainable = list(trainable)

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        kept = freeze_except(model, self.trainable)
        unmatched = [t for t in self.trainable if not any(k.startswith(t) for k in kept)]
        if unmatched:
            raise ValueError(f'FreezeExceptHook: no parameter starts with {unmatched}; the model '
                             'has e.g. ' + ', '.join(n for n, _ in
                                                     list(model.named_parameters())[:5]))
        runner.logger.info(f'FreezeExceptHook: training {len(kept)} parameter tensors '
                           f'({", ".join(self.trainable)}), the rest frozen')
        frozen_norms_to_eval(model)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        frozen_norms_to_eval(self._model(runner))
