"""Every config on the built-in long-tailed split (configs/lvis and configs/recognition) evaluates
with the LVIS test settings -- score_thr 1e-4, up to 300 detections per image -- and the LVIS
metric with the r/c/f groups of lt_train.json, so thresholding cannot hide rare classes."""
import glob
import os.path as osp

import pytest

from conftest import ROOT

CFGS = sorted(glob.glob(osp.join(ROOT, 'configs/lvis/*synth-lt*.py')) +
              glob.glob(osp.join(ROOT, 'configs/recognition/*synth-lt*.py')))


def test_both_ladders_have_configs():
    assert sum('/lvis/' in p for p in CFGS) >= 10
    assert sum('/recognition/' in p for p in CFGS) >= 8


@pytest.mark.parametrize('path', CFGS, ids=[osp.basename(p) for p in CFGS])
def test_lvis_test_settings(path, load_cfg):
    cfg = load_cfg(osp.relpath(path, ROOT))
    rcnn = cfg.model.test_cfg.rcnn
    assert rcnn.score_thr == pytest.approx(1e-4) and rcnn.max_per_img == 300
    for ev in (cfg.val_evaluator, cfg.test_evaluator):
        assert ev['type'] == 'FasterLVISMetric'
        assert ev['frequency_ann_file'].endswith('annotations/lt_train.json')
        assert ev['ann_file'].endswith('annotations/lt_val.json')
