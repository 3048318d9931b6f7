"""Bitwise-exact resume: python / numpy / torch RNG state travels with the checkpoint.

mmengine 0.10.7 restores weights, optimizer, schedulers, counters and the message hub, but not
the global random generators, so after ``--resume`` the data augmentation (RandomFlip, ...) and
the RoI/anchor samplers draw different numbers than the uninterrupted run would have. This hook
stores the generators' state in ``checkpoint['meta']['rng_state']`` and restores it when training
resumes, at the exact point where the uninterrupted run would continue.

Pitfall handled: ``IterBasedTrainLoop.run`` re-reads (and re-augments) the first ``iter`` batches
after ``before_train_epoch`` to move the sampler forward, which consumes random numbers. The hook
therefore restores the state right after the ``iter``-th skipped batch, by putting a thin counting
wrapper around ``train_loop.dataloader_iterator``.

Checkpoint content is limited to tensors and python ints/floats/tuples (numpy's MT19937 key is
stored as an int64 tensor), so torch's safe loader (``weights_only=True``) needs no extra globals.
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop

from mmdet.registry import HOOKS

META_KEY = 'rng_state'


def capture_rng_state() -> dict:
    """State of python's, numpy's and torch's (CPU and, if present, CUDA) global generators,
    made only of tensors and python scalars/tuples (safe for ``weights_only=True`` loading)."""
    version, internal, gauss = random.getstate()
    name, key, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=(int(version), tuple(int(v) for v in internal), gauss),
        numpy=dict(name=str(name), key=torch.from_numpy(key.astype(np.int64)), pos=int(pos),
                   has_gauss=int(has_gauss), cached_gaussian=float(cached)),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    """Inverse of :func:`capture_rng_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    n = state['numpy']
    np.random.set_state((n['name'], n['key'].numpy().astype(np.uint32), n['pos'],
                         n['has_gauss'], n['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


class _RestoreAfterSkip:
    """Delegating iterator that restores the RNG state right after the ``skip``-th ``next()``,
    then puts the loop's original iterator back (later steps pay nothing)."""

    def __init__(self, loop, state: dict, skip: int) -> None:
        self.loop, self.state, self.remaining = loop, state, skip
        self.inner = loop.dataloader_iterator

    def __iter__(self):
        return self

    def __next__(self):
        data = next(self.inner)
        self.remaining -= 1
        if self.remaining <= 0:
            restore_rng_state(self.state)
            self.loop.dataloader_iterator = self.inner
        return data

    def __getattr__(self, name):  # e.g. ``_epoch`` of mmengine's infinite iterator
        return getattr(self.inner, name)


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Save the global RNG state with every checkpoint; restore it on ``resume=True``.

    Together with mmengine's own resume (weights, optimizer, schedulers, counters, message hub)
    and a seeded deterministic sampler, the losses after resume equal the uninterrupted run's
    bit for bit on CPU (``tests/test_reliability_resume.py``). ``load_from`` without ``resume``
    (fine-tuning) leaves the generators alone. Distributed runs save rank 0's state only
    (mmengine saves checkpoints on rank 0): rank 0 is restored, other ranks keep their seeded
    state and a warning says their resume is not bitwise exact.
    """

    priority = 'VERY_HIGH'  # restore before any other before_train_epoch hook draws numbers

    def __init__(self) -> None:
        self._loaded: Optional[dict] = None
        self._applied = False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[META_KEY] = capture_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get('meta', {}).get(META_KEY)

    def before_train_epoch(self, runner) -> None:
        if self._applied or not getattr(runner, '_resume', False):
            return
        self._applied = True
        if self._loaded is None:
            runner.logger.warning(
                'ExactResumeHook: the resumed checkpoint has no meta.rng_state (saved without '
                'this hook); training continues with freshly seeded generators, so losses after '
                'resume will differ from an uninterrupted run')
            return
        if get_world_size() > 1:
            runner.logger.warning('ExactResumeHook: distributed resume restores rank 0 RNG only; '
                                  'other ranks are not bitwise exact')
            if not is_main_process():
                return
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop) and loop.iter > 0:
            loop.dataloader_iterator = _RestoreAfterSkip(loop, self._loaded, loop.iter)
            when = f'after the {loop.iter} replayed batches'
        else:  # epoch-based loops restart at an epoch boundary: nothing is replayed
            restore_rng_state(self._loaded)
            when = 'now'
        runner.logger.info(f'ExactResumeHook: RNG state of the checkpoint restored {when}')
