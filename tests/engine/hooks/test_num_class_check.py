"""ClassCountCheckHook: a head whose num_classes differs from the dataset's classes stops the run
before its first step, naming every mismatching head (each cascade stage)."""
import os.path as osp

import pytest

from conftest import ROOT
from hce_det.engine.launch import build_runner

APA = osp.join(ROOT, 'configs/lvis/apa_faster-rcnn_r18-thin_fpn_1k_synth-lt.py')


@pytest.mark.parametrize('loop', ['train', 'test'])
def test_wrong_num_classes_stops_before_the_first_step(loop, tiny_data, tmp_path):
    """APA head (no background logit), config without a check hook, num_classes 12 vs 10
    classes: error naming both counts and the fix before the first step (was: training ran to
    the end, then IndexError in results2json)."""
    from conftest import shrink_cfg
    from hce_det.engine.hooks import NumClassMismatchError
    runner = build_runner(APA, cfg_options={'model.roi_head.bbox_head.num_classes': 12},
                          cfg_hook=lambda c: shrink_cfg(c, tiny_data, tmp_path, max_iters=1))
    with pytest.raises(NumClassMismatchError,
                       match=r'roi_head\.bbox_head \(APABBoxHead\) num_classes=12.*'
                             rf'{loop} dataset SynthScenesDataset .*lt_\w+\.json\) has 10 classes'
                             r'.*Fix: set num_classes=10'):
        getattr(runner, loop)()
    assert runner.iter == 0


def test_class_count_check_names_every_cascade_stage(load_cfg):
    """Cascade heads are a list of bbox heads: each stage (and the HCE modules sized from them)
    is reported; RPN (1 class) is not."""
    from conftest import build_model
    from hce_det.engine.hooks.num_class_check import class_count_mismatches
    cfg = load_cfg('configs/hce/hce_cascade-rcnn_r50_fpn_1x_coco.py')
    for head in cfg.model.roi_head.bbox_head:
        head.num_classes = 5
    model = build_model(cfg.model)
    assert class_count_mismatches(model, 5) == []
    names = [name for name, _, n in class_count_mismatches(model, 80)]
    assert {'roi_head.bbox_head.0', 'roi_head.bbox_head.1', 'roi_head.bbox_head.2',
            'roi_head.context_embedding'} <= set(names)
    assert not any('rpn' in n for n in names)
