"""Hook scheduling the gradient-reversal coefficient of :class:`DAFasterRCNN`.

``'dann'``: ``scale = 2 / (1 + exp(-gamma * p)) - 1`` with training progress ``p`` in [0, 1]
(Ganin & Lempitsky, ICML 2015, sec. 5, gamma = 10); ``'constant'``: ``scale = 1``. The model's
per-discriminator coefficients (0.1 DA-Faster, 1.0 SW-Faster) are multiplied by ``scale``.
"""
import math

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet.registry import HOOKS


def grl_scale(progress: float, mode: str = 'dann', gamma: float = 10.0) -> float:
    """GRL multiplier at training progress ``progress`` (clipped to [0, 1])."""
    p = min(max(progress, 0.0), 1.0)
    if mode == 'dann':
        return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0
    if mode == 'constant':
        return 1.0
    raise ValueError(f"GRLScheduleHook mode must be 'dann' or 'constant', got {mode!r}")


@HOOKS.register_module()
class GRLScheduleHook(Hook):
    """Before each training iteration set ``model.set_grl_scale(grl_scale(iter / max_iters))``."""
    priority = 'NORMAL'

    def __init__(self, mode: str = 'dann', gamma: float = 10.0) -> None:
        grl_scale(0.0, mode, gamma)  # validates mode
        self.mode, self.gamma = mode, gamma

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'set_grl_scale'):
            raise TypeError(f'GRLScheduleHook needs a model with set_grl_scale (DAFasterRCNN), '
                            f'got {type(model).__name__}')
        model.set_grl_scale(grl_scale(runner.iter / max(runner.max_iters, 1), self.mode,
                                      self.gamma))
