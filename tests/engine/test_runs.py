"""Several Runners in one process (tools/demo.py, the proxies) log into their own work dirs.

mmengine hands every Runner the visualizer registered under the config's name ('visualizer'), so
the second run of ``make demo`` wrote its JSON log and scalars into the first run's vis_data/.
"""
import importlib.util
import json
import os
import os.path as osp

import pytest

from conftest import ROOT

CONFIGS = [osp.join(ROOT, 'configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py'),
           osp.join(ROOT, 'configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py')]


def _log_scalar(runner, value):
    """What LoggerHook does each logging step: scalars (+ the JSON log) via the visualizer."""
    runner.visualizer.add_scalars({'loss': value}, step=1, file_path=f'{runner.timestamp}.json')


def _read(runner, name):
    path = osp.join(runner.log_dir, 'vis_data', name)
    if not osp.isfile(path):
        return []
    with open(path) as f:
        return [json.loads(line)['loss'] for line in f if line.strip()]


def test_two_runners_write_their_own_vis_data(tmp_path):
    from hce_det.engine.launch import build_runner
    from hce_det.engine.runs import own_visualizer
    a, b = (build_runner(c, work_dir=str(tmp_path / f'run{i}'), cfg_hook=own_visualizer)
            for i, c in enumerate(CONFIGS))
    assert a.visualizer is not b.visualizer
    _log_scalar(a, 1.0)
    _log_scalar(b, 2.0)
    for runner, value in ((a, 1.0), (b, 2.0)):
        assert _read(runner, 'scalars.json') == [value]
        assert _read(runner, f'{runner.timestamp}.json') == [value]
    assert osp.dirname(a.log_dir) != osp.dirname(b.log_dir)


def test_without_it_the_second_runner_gets_the_first_visualizer(tmp_path):
    # the upstream behaviour own_visualizer works around (mmengine 0.10.7 + mmdet's runtime)
    from hce_det.engine.launch import build_runner
    a, b = (build_runner(c, work_dir=str(tmp_path / f'run{i}')) for i, c in enumerate(CONFIGS))
    assert b.visualizer is a.visualizer


def test_own_visualizer_names_are_unique_and_keep_the_rest():
    from mmengine.config import Config

    from hce_det.engine.runs import own_visualizer
    cfg = Config(dict(visualizer=dict(type='DetLocalVisualizer', name='visualizer')))
    names = {own_visualizer(cfg).visualizer.name for _ in range(3)}
    assert len(names) == 3 and all(n.startswith('visualizer#') for n in names)
    assert cfg.visualizer.type == 'DetLocalVisualizer'
    assert own_visualizer(Config(dict(a=1))).to_dict() == {'a': 1}  # Runner names it itself


def test_ladder_and_demo_runs_get_their_own_visualizer(tiny_data, tmp_path):
    """compare.py (which tools/demo.py runs through) names each run's visualizer itself."""
    from tools.analysis.compare import configure, load_config
    from tools.analysis.ladders import LADDERS
    ladder = LADDERS['hce']
    names = []
    for v in ('vanilla', 'gated'):
        variant = ladder.variant(v)
        cfg = configure(load_config(variant), ladder, variant, 0, 2, tiny_data,
                        str(tmp_path / v), None, {})
        names.append(cfg.visualizer.name)
    assert len(set(names)) == 2 and 'visualizer' not in names
