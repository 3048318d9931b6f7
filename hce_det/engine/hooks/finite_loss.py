"""Stop (or explicitly skip) a training step whose loss is NaN/Inf, naming the loss term.

mmengine/mmdet back-propagate a NaN loss silently: the weights become NaN and every later loss is
NaN, long after the term that caused it. This hook checks every loss term *before* the backward
pass (it wraps the model's ``parse_losses``), so the weights are never touched by a non-finite
loss and the error names the term(s) and the iteration.
"""
import math
from typing import Dict

import torch
import torch.distributed as dist
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A loss term was NaN or Inf; the message names the term(s), their values and the iteration."""


def non_finite_terms(log_vars: Dict[str, torch.Tensor]) -> Dict[str, float]:
    """``{name: value}`` of the loss terms (keys containing 'loss') that are NaN or +-Inf."""
    bad = {}
    for name, value in log_vars.items():
        if 'loss' in name and name != 'loss':
            v = float(value.detach().float().sum()) if torch.is_tensor(value) else float(value)
            if not math.isfinite(v):
                bad[name] = v
    return bad


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Check each loss term for NaN/Inf before backward.

    Args:
        policy: ``'raise'`` (default): stop training with :class:`NonFiniteLossError` naming the
            term(s). ``'skip'``: log a warning naming the term(s) and skip the update of that
            iteration (no gradient reaches any parameter, so SGD momentum and weight decay are not
            applied either); after ``max_skips`` skipped iterations it raises. ``'skip'`` is
            single-process only (under DDP a rank without gradients would desynchronise the
            all-reduce), so it raises at start-up when ``world_size > 1``.
        max_skips: total skipped iterations tolerated by ``'skip'``.

    Under DDP the verdict is all-reduced, so every rank raises (or none does) instead of the
    others hanging in the gradient all-reduce.
    """

    priority = 'VERY_HIGH'

    def __init__(self, policy: str = 'raise', max_skips: int = 10) -> None:
        if policy not in ('raise', 'skip'):
            raise ValueError(f"FiniteLossHook policy must be 'raise' or 'skip', got {policy!r}")
        self.policy, self.max_skips = policy, max_skips
        self.num_skipped = 0
        self._model = None

    def before_train(self, runner) -> None:
        if self.policy == 'skip' and get_world_size() > 1:
            raise ValueError("FiniteLossHook(policy='skip') is single-process only; use "
                             "policy='raise' for distributed training")
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        original = model.parse_losses

        def checked_parse_losses(losses):
            loss, log_vars = original(losses)
            bad = non_finite_terms(log_vars)
            if get_world_size() > 1 and dist.is_initialized():
                flag = torch.tensor([float(bool(bad))], device=loss.device)
                dist.all_reduce(flag)
                if flag.item() and not bad:
                    bad = {'(another rank)': float('nan')}
            if not bad:
                return loss, log_vars
            terms = ', '.join(f'{k}={v}' for k, v in bad.items())
            where = f'iteration {runner.iter + 1}'
            if self.policy == 'raise':
                raise NonFiniteLossError(
                    f'non-finite loss at {where}: {terms}. Training stopped before the update '
                    '(weights are still finite; the last checkpoint is usable). Lower the learning '
                    "rate, check the data of this step, or set FiniteLossHook(policy='skip').")
            self.num_skipped += 1
            if self.num_skipped > self.max_skips:
                raise NonFiniteLossError(f'non-finite loss at {where}: {terms}; more than '
                                         f'max_skips={self.max_skips} iterations skipped')
            runner.logger.warning(f'FiniteLossHook: skipping the update of {where} '
                                  f'({self.num_skipped}/{self.max_skips}): non-finite {terms}')
            runner.message_hub.update_info('train/num_skipped_nonfinite', self.num_skipped)
            # a fresh leaf: backward reaches no parameter, so the optimizer step is a no-op
            zero = torch.zeros((), device=loss.device, requires_grad=True)
            return zero, {k: (v if k not in bad and k != 'loss' else zero.detach())
                          for k, v in log_vars.items()}

        model.parse_losses = checked_parse_losses
        self._model = model

    def after_train(self, runner) -> None:
        if self._model is not None:
            self._model.__dict__.pop('parse_losses', None)
            self._model = None
