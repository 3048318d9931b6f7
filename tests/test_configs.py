"""Checks over every shipped config (``configs/**``, bases excluded)."""
import glob
import os.path as osp

import pytest

from conftest import ROOT

CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs/**/*.py'), recursive=True)
                 if '/_base_/' not in p)
# samplers whose iterator never ends (mmengine InfiniteSampler; mmdet's multi-source samplers
# draw from `while True` index streams)
INFINITE = ('InfiniteSampler', 'GroupMultiSourceSampler', 'MultiSourceSampler')


def test_configs_are_found():
    assert len(CONFIGS) >= 70


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_train_sampler_is_infinite_exactly_when_the_schedule_counts_iterations(path, load_cfg):
    """Iteration-based schedules need an infinite sampler (a finite one ends every pass with
    mmengine's "Reach the end of the dataloader ... use InfiniteSampler" warning, and the
    aspect-ratio batcher emits a partial batch there); epoch-based ones a finite sampler (an
    infinite one would never end the epoch)."""
    cfg = load_cfg(osp.relpath(path, ROOT))
    by_iter = cfg.train_cfg.get('type') == 'IterBasedTrainLoop' or 'max_iters' in cfg.train_cfg
    sampler = cfg.train_dataloader.sampler.type
    assert (sampler in INFINITE) == by_iter, (sampler, cfg.train_cfg)
