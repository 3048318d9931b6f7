"""configs/hce and configs/demo: the COCO configs and the ablations build, the demo's HCE twin
differs from the plain detector only in its RoI head and trains."""
import copy

import pytest
from mmdet.registry import MODELS

import hce_det  # noqa: F401

SYNTH_HCE = 'configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'


@pytest.mark.parametrize('path', [
    'configs/hce/hce_faster-rcnn_r50_fpn_1x_coco.py',
    'configs/hce/hce_faster-rcnn_r101_fpn_1x_coco.py',
    'configs/hce/hce_cascade-rcnn_r50_fpn_1x_coco.py',
    'configs/hce/hce_mask-rcnn_r50_fpn_1x_coco.py',
])
def test_coco_configs_build(load_cfg, path):
    cfg = load_cfg(path)
    model = MODELS.build(cfg.model)
    assert model.roi_head.context_embedding.num_classes == 80
    assert 'HCE' in type(model.roi_head).__name__


@pytest.mark.parametrize('variant', ['embloss', 'early', 'early-concat', 'late', 'both'])
def test_ablation_configs_build(load_cfg, variant):
    cfg = load_cfg(f'configs/hce/hce-{variant}_faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    head = MODELS.build(cfg.model).roi_head
    early = {'embloss': None, 'early': 'sum', 'early-concat': 'concat', 'late': None,
             'both': 'sum'}[variant]
    assert head.context_roi[0].early_fusion == early
    assert (head.context_cls is not None) == (variant in ('late', 'both'))


def test_demo_twin_differs_only_in_roi_head(load_cfg):
    a = load_cfg('configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    b = load_cfg(SYNTH_HCE)
    for key in ('train_dataloader', 'val_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'randomness'):
        assert a[key] == b[key], key
    ma, mb = copy.deepcopy(a.model), copy.deepcopy(b.model)
    ma.pop('roi_head'), mb.pop('roi_head')
    assert ma == mb


@pytest.mark.slow
def test_runner_trains_and_evaluates_hce_demo(load_cfg, tiny_data, tmp_path):
    from mmengine.runner import Runner

    from conftest import shrink_cfg
    cfg = shrink_cfg(load_cfg(SYNTH_HCE), tiny_data, tmp_path, max_iters=3)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val()
    assert 'coco/bbox_mAP' in metrics
