"""configs/lvis: LVIS v1 configs build; synth-LT variants train and print LVIS metrics."""
import glob
import os.path as osp

import pytest
import torch

from conftest import ROOT, shrink_cfg

LVIS_CFGS = sorted(glob.glob(osp.join(ROOT, 'configs/lvis/*_lvis-v1.py')))
SYNTH_CFGS = sorted(glob.glob(osp.join(ROOT, 'configs/lvis/*_synth-lt.py')))
CLS_CHANNELS = {'softmax-ce': 1204, 'sigmoid-bce': 1203, 'gumbel-droploss': 1203,
                'apa-droploss': 1203, 'seesaw': 1205, 'eqlv2': 1204, 'federated': 1203}
# mask predictors of the reference recipes that differ from the normalised conv of the others
# (values checked against their sources in tests/configs/test_config_recipes.py)
PREDICTOR = {'eqlv2_mask-rcnn_r50_fpn_ms-1x_lvis-v1.py': 'Conv',
             'gumbel-droploss_mask-rcnn_se-r50-aglu_fpn_sample1e-3_ms-2x_lvis-v1.py':
             'NormedConv2dLearnableTemp'}


def test_config_sets_are_present():
    assert len(LVIS_CFGS) >= 12 and len(SYNTH_CFGS) >= 8


@pytest.mark.parametrize('path', LVIS_CFGS, ids=osp.basename)
def test_lvis_v1_config_builds(path, load_cfg):
    from mmdet.registry import MODELS
    cfg = load_cfg(osp.relpath(path, ROOT))
    ds = cfg.train_dataloader.dataset
    # RFS, except the EQLv2 reference recipe (the wrapper with oversample_thr=0: no repeats)
    rfs = 1e-3 if '_sample1e-3_' in path else 0.0
    assert ds.type == 'ClassBalancedDataset' and ds.oversample_thr == rfs
    assert cfg.model.test_cfg.rcnn.score_thr == 1e-4 and cfg.model.test_cfg.rcnn.max_per_img == 300
    assert cfg.model.roi_head.mask_head.predictor_cfg.type == PREDICTOR.get(osp.basename(path),
                                                                            'NormedConv2d')
    assert cfg.val_evaluator.type == 'FasterLVISMetric'
    assert cfg.val_evaluator.metric == ['bbox', 'segm']
    assert cfg.train_cfg.max_epochs == (12 if '_ms-1x_' in path else 24)
    model = MODELS.build(cfg.model)
    method = osp.basename(path).split('_')[0]
    assert model.roi_head.bbox_head.fc_cls.out_features == CLS_CHANNELS[method]
    assert model.roi_head.mask_head.num_classes == 1203
    if 'se-r' in path:
        assert type(model.backbone).__name__ == 'SEResNetAGLU'


def _point_at(cfg, data_root):
    """shrink_cfg remaps the evaluator ann_file; also remap our training-statistics files."""
    def remap(p):
        return osp.join(data_root, osp.relpath(p, 'data/hce_synth'))
    for ev in (cfg.val_evaluator, cfg.test_evaluator):
        if ev.get('frequency_ann_file'):
            ev.frequency_ann_file = remap(ev.frequency_ann_file)
    loss = cfg.model.roi_head.bbox_head.loss_cls
    if loss.get('ann_file'):
        loss.ann_file = remap(loss.ann_file)
    return cfg


@pytest.mark.parametrize('path', SYNTH_CFGS, ids=osp.basename)
def test_synth_lt_config_builds_and_takes_a_loss_step(path, load_cfg, tiny_data):
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    cfg = _point_at(load_cfg(osp.relpath(path, ROOT)), tiny_data)
    assert cfg.val_evaluator.type == 'FasterLVISMetric' and cfg.val_evaluator.frequency_ann_file
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    data = model.data_preprocessor(demo_mm_inputs(1, [[3, 96, 96]], num_items=[3]), True)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k and torch.is_tensor(v))
    assert torch.isfinite(total)
    total.backward()
    assert model.roi_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0


@pytest.mark.slow
def test_synth_lt_gol_trains_and_reports_lvis_groups(load_cfg, tiny_data, tmp_path):
    from mmengine.runner import Runner
    path = 'configs/lvis/gumbel-droploss_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
    cfg = _point_at(shrink_cfg(load_cfg(path), tiny_data, tmp_path, max_iters=2), tiny_data)
    cfg.model.test_cfg.rcnn.max_per_img = 50  # keep the untrained model's evaluation short
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    for k in ('AP', 'APr', 'APc', 'APf'):
        v = metrics[f'lvis/bbox_{k}']
        assert v == -1.0 or 0.0 <= v <= 1.0
