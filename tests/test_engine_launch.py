import os.path as osp

import pytest

from conftest import ROOT
from hce_det.engine.launch import build_runner, scale_schedule

DEMO = osp.join(ROOT, 'configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py')


def test_scale_schedule_keeps_shape(load_cfg):
    cfg = load_cfg('configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    assert cfg.train_cfg.max_iters == 1000
    scale_schedule(cfg, 400)
    assert cfg.train_cfg.max_iters == 400 and cfg.train_cfg.val_interval == 400
    assert cfg.default_hooks.checkpoint.interval == 400
    warm, steps = cfg.param_scheduler
    assert steps.milestones == [300, 360] and steps.end == 400
    assert warm.end == 80  # warm-up kept within the first fifth


def test_missing_config_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match='nope.py'):
        build_runner('configs/nope.py')


def test_out_must_be_pickle(tmp_path):
    with pytest.raises(ValueError, match=r'--out must be a \.pkl'):
        build_runner(DEMO, work_dir=str(tmp_path), out='preds.json')
