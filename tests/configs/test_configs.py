"""Checks over every shipped config (``configs/**``, bases excluded)."""
import glob
import os.path as osp
import re

import pytest

from conftest import ROOT

CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs/**/*.py'), recursive=True)
                 if '/_base_/' not in p)
# samplers whose iterator never ends (mmengine InfiniteSampler; mmdet's multi-source samplers
# draw from `while True` index streams)
INFINITE = ('InfiniteSampler', 'GroupMultiSourceSampler', 'MultiSourceSampler')


def test_configs_are_found():
    assert len(CONFIGS) >= 70


# configs/README.md: {method}_{detector}_{backbone}_{neck}_{schedule}_{dataset}.py, the method
# left out for a plain detector; iterations in thousands ("0.5k", "1k", "120k"), epochs as mmdet
# ("1x", "ms-2x", "sample1e-3_ms-1x")
WORD = r'[a-z0-9]+(?:-[a-z0-9]+)*'
NAME = re.compile(rf'(?:{WORD}_)?(?:faster|cascade|mask)-rcnn_{WORD}_(?:fpn|c4|c5)_'
                  rf'(?:\d+(?:\.\d+)?k|(?:sample1e-3_)?(?:ms-)?\d+x)_{WORD}\.py')


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_name_follows_the_naming_rule(path):
    assert NAME.fullmatch(osp.basename(path)), osp.relpath(path, ROOT)


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


# metrics on the reference engines (pycocotools, lvis-api): cross-checks in tests only
REFERENCE_METRICS = {'CocoMetric', 'LVISMetric', 'HceLVISMetric'}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_coco_and_lvis_evaluation_runs_on_faster_coco_eval(path, load_cfg):
    """Every COCO/LVIS evaluator of a shipped config is FasterCocoMetric / FasterLVISMetric
    (faster-coco-eval; same numbers, tests/evaluation/test_faster_coco_metric.py)."""
    cfg = load_cfg(osp.relpath(path, ROOT))
    for key in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(key)
        if ev is None:
            continue
        metrics = ev if isinstance(ev, list) else ev.get('metrics', ev)
        metrics = metrics if isinstance(metrics, list) else [metrics]
        types = [m['type'] for m in metrics]
        assert not REFERENCE_METRICS & set(types), (key, types)
        if 'coco' in osp.basename(path) or 'synth-context' in path:
            assert 'FasterCocoMetric' in types, (key, types)
        if 'lvis' in osp.basename(path):
            assert 'FasterLVISMetric' in types, (key, types)
