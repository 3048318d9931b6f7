"""Drives the training-progress schedules of the recognition heads from the runner's counter."""
from typing import Dict, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmdet.registry import HOOKS


@HOOKS.register_module()
class CumulativeAlphaHook(Hook):
    r"""Set ``alpha`` on every module with ``set_training_progress(p)``, p = t / T.

    BBN cumulative learning and Hybrid-SC/PSC use :math:`\alpha = 1 - (t/T)^2` (BBN
    ``combiner.py``: t = epoch - 1, T = max epochs); MDCS uses its warm-up ramp. With
    ``by_epoch=False`` (default) t is ``runner.iter`` (0-based) and T ``runner.max_iters``; with
    ``by_epoch=True`` t is ``runner.epoch`` and T ``runner.max_epochs``, updated per epoch.

    The value lives in each module's ``alpha`` buffer (saved with the model) and is also written to
    ``checkpoint['meta']['cumulative_alpha']``; on resume it is recomputed from the restored
    counter, so training continues on the same curve.
    """

    priority = 'NORMAL'

    def __init__(self, by_epoch: bool = False, total: Optional[int] = None) -> None:
        self.by_epoch = by_epoch
        self.total = total

    @staticmethod
    def _targets(runner) -> Dict[str, object]:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return {name: m for name, m in model.named_modules()
                if callable(getattr(m, 'set_training_progress', None))}

    def _progress(self, runner) -> float:
        if self.by_epoch:
            t, total = runner.epoch, self.total or runner.max_epochs
        else:
            t, total = runner.iter, self.total or runner.max_iters
        if not total:
            raise ValueError('CumulativeAlphaHook needs the run length: the train loop has no '
                             f"{'max_epochs' if self.by_epoch else 'max_iters'}; set `total`")
        return t / total

    def _update(self, runner) -> Dict[str, float]:
        p = self._progress(runner)
        return {n: m.set_training_progress(p) for n, m in self._targets(runner).items()}

    def before_train(self, runner) -> None:
        if not self._targets(runner):
            runner.logger.warning('CumulativeAlphaHook: no module with set_training_progress '
                                  'in the model; the hook does nothing')
        self._update(runner)

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._update(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not self.by_epoch:
            alphas = self._update(runner)
            for n, a in alphas.items():
                runner.message_hub.update_scalar(f'train/alpha_{n.split(".")[-1] or "model"}', a)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['cumulative_alpha'] = {
            n: float(m.alpha) for n, m in self._targets(runner).items() if hasattr(m, 'alpha')}
