"""tools/analysis/browse_dataset.py draws both branches of a two-domain CR-DA dataset (issue 17:
mmdet's browse_dataset.py fails on them with "'dict' object has no attribute 'permute'")."""
import glob
import importlib.util
import os.path as osp

import numpy as np

from conftest import ROOT

DA_CFG = osp.join(ROOT, 'configs/cr_da/synth/da-faster_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py')


def _tool():
    path = osp.join(ROOT, 'tools/analysis/browse_dataset.py')
    spec = importlib.util.spec_from_file_location('browse_dataset', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_two_domain_dataset_writes_source_and_target_images(tiny_data, tmp_path):
    import mmcv
    out = tmp_path / 'browse'
    _tool().main([DA_CFG, '--output-dir', str(out), '--not-show', '--max-images', '2',
                  '--cfg-options', f'train_dataloader.dataset.datasets.0.data_root={tiny_data}',
                  f'train_dataloader.dataset.datasets.1.data_root={tiny_data}'])
    for branch in ('source', 'target'):
        files = sorted(glob.glob(str(out / branch / '*.png')))
        assert len(files) == 2, (branch, files)
        img = mmcv.imread(files[0])
        assert img.shape[:2] == (128, 128)
        # the branch label: a dark box with white text in the top-left corner
        corner = img[:8, :20].astype(int)
        assert (corner.max(-1) > 200).any() and (corner.max(-1) < 100).any(), branch
    assert sorted(p.name for p in out.iterdir()) == ['source', 'target']


def test_branches_unpacks_multibranch_items_and_passes_plain_ones():
    tool = _tool()
    item = {'inputs': {'source': 'x', 'target': None},
            'data_samples': {'source': 's', 'target': None}}
    assert list(tool.branches(item)) == [('source', 'x', 's')]
    assert list(tool.branches({'inputs': 'x', 'data_samples': 's'})) == [(None, 'x', 's')]


def test_draw_shows_the_ground_truth_of_a_branch():
    import torch
    from mmengine.structures import InstanceData

    from mmdet.structures import DetDataSample
    from mmdet.visualization import DetLocalVisualizer
    tool = _tool()
    vis = DetLocalVisualizer(name='test_browse_draw')
    vis.dataset_meta = dict(classes=('car',), palette=[(255, 0, 0)])
    sample = DetDataSample(metainfo=dict(img_path='a.png', img_shape=(64, 64)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10., 10., 50., 50.]]),
                                       labels=torch.tensor([0]))
    img = torch.full((3, 64, 64), 128, dtype=torch.uint8)
    out = tool.draw(vis, img, sample)
    assert out.shape == (64, 64, 3)
    assert np.abs(out[30, 9:12].astype(int) - 128).max() > 50  # left edge of the gt box
