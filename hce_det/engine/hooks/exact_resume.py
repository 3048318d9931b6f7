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

Distributed runs: mmengine writes checkpoints on rank 0 only, so at every iteration/epoch where a
``CheckpointHook`` is about to save, every rank's state is gathered (a few KB; 8 ms with 2 gloo
processes) and the checkpoint holds one state per rank; on resume each rank restores its own
(same world size required; otherwise a warning says the resume is not bitwise exact and rank 0's
state is used everywhere). Checkpoints saved elsewhere (e.g. ``save_best``) carry rank 0's state.

Checkpoint content is limited to tensors and python ints/floats/tuples (numpy's MT19937 key is
stored as an int64 tensor), so torch's safe loader (``weights_only=True``) needs no extra globals.
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import IterBasedTrainLoop

from mmdet.registry import HOOKS

META_KEY = 'rng_state'
PER_RANK_KEY = 'rng_state_per_rank'


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
    """Save the global RNG state (of every rank) with each checkpoint; restore it on
    ``resume=True``.

    Together with mmengine's own resume (weights, optimizer, schedulers, counters, message hub)
    and a seeded deterministic sampler, the losses after resume equal the uninterrupted run's
    bit for bit on CPU, in one process (``tests/engine/hooks/test_exact_resume.py``) and with 2
    gloo processes (``tests/reliability/test_distributed.py``). ``load_from`` without ``resume``
    (fine-tuning) leaves the generators alone.
    """

    priority = 'VERY_HIGH'  # gather/restore before any other hook draws numbers or saves

    def __init__(self) -> None:
        self._loaded: Optional[dict] = None
        self._loaded_per_rank: Optional[list] = None
        self._gathered: Optional[list] = None
        self._applied = False

    @staticmethod
    def _checkpoint_due(runner, by_epoch: bool) -> bool:
        """Whether a CheckpointHook saves right after this iteration (epoch); the same answer
        on every rank, so the collective below is entered by all or none."""
        for h in runner.hooks:
            if not isinstance(h, CheckpointHook) or h.by_epoch != by_epoch:
                continue
            if by_epoch:
                due = h.every_n_epochs(runner, h.interval, h.save_begin) or (
                    h.save_last and h.is_last_train_epoch(runner))
            else:
                due = h.every_n_train_iters(runner, h.interval, h.save_begin) or (
                    h.save_last and h.is_last_train_iter(runner))
            if due:
                return True
        return False

    def _gather(self, runner, by_epoch: bool) -> None:
        """Every rank's state, collected on all ranks (only rank 0 saves the checkpoint)."""
        self._gathered = None
        if get_world_size() > 1 and self._checkpoint_due(runner, by_epoch):
            self._gathered = all_gather_object(capture_rng_state())

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._gather(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.setdefault('meta', {})
        meta[META_KEY] = capture_rng_state()
        if self._gathered is not None:
            meta[PER_RANK_KEY] = self._gathered
            meta[META_KEY] = self._gathered[0]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta', {})
        self._loaded = meta.get(META_KEY)
        self._loaded_per_rank = meta.get(PER_RANK_KEY)

    def _state_for_this_rank(self, runner) -> Optional[dict]:
        world, saved = get_world_size(), self._loaded_per_rank
        if saved is not None and len(saved) == world:
            return saved[get_rank()]
        if world > 1 or saved is not None:
            runner.logger.warning(
                f'ExactResumeHook: the checkpoint holds RNG states of '
                f'{len(saved) if saved else 1} process(es) but {world} are running; every rank '
                'restores rank 0\'s state, so losses after resume are not bitwise exact')
        return self._loaded

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
        state = self._state_for_this_rank(runner)
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop) and loop.iter > 0:
            loop.dataloader_iterator = _RestoreAfterSkip(loop, state, loop.iter)
            when = f'after the {loop.iter} replayed batches'
        else:  # epoch-based loops restart at an epoch boundary: nothing is replayed
            restore_rng_state(state)
            when = 'now'
        runner.logger.info(f'ExactResumeHook: RNG state of the checkpoint restored {when}')
