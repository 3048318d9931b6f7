"""Cityscapes -> COCO DA converter on a tiny Cityscapes-shaped tree generated here."""
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))
import cityscapes_to_coco_da as conv  # noqa: E402


def _make_tree(root, split='train', city='aachen', stem='aachen_000000_000019', foggy=True):
    ids = np.zeros((20, 30), np.uint16)
    ids[:, :] = 7                      # road (no instances)
    ids[2:6, 3:10] = 26001             # car #1: x 3..9, y 2..5
    ids[10:12, 20:22] = 24             # person group (crowd, id < 1000): skipped
    ids[16:18, 0:4] = 24000            # person instance #0 (Cityscapes counts from 0)
    ids[8:15, 12:13] = 33002           # bicycle L-shape: x 12..16, y 8..14
    ids[14, 12:17] = 33002
    ids[0:3, 25:30] = 20005            # traffic sign id*1000: not one of the 8 classes
    for sub, name, arr in (('gtFine', f'{stem}_gtFine_instanceIds.png', ids),
                           ('leftImg8bit', f'{stem}_leftImg8bit.png',
                            np.zeros((20, 30, 3), np.uint8))):
        d = osp.join(root, sub, split, city)
        os.makedirs(d, exist_ok=True)
        cv2.imwrite(osp.join(d, name), arr)
    if foggy:
        d = osp.join(root, 'leftImg8bit_foggy', split, city)
        os.makedirs(d, exist_ok=True)
        cv2.imwrite(osp.join(d, f'{stem}_leftImg8bit_foggy_beta_0.02.png'),
                    np.zeros((20, 30, 3), np.uint8))
    return ids


def test_instance_boxes_are_tight():
    m = np.zeros((20, 30), np.int32)
    m[2:6, 3:10] = 26001
    m[8:15, 12] = 33002
    m[14, 12:17] = 33002
    boxes = sorted(conv.instance_boxes(m), key=lambda b: b['category_id'])
    assert [b['category_id'] for b in boxes] == [3, 8]   # car, bicycle
    assert boxes[0]['bbox'] == [3, 2, 7, 4] and boxes[0]['area'] == 28
    assert boxes[1]['bbox'] == [12, 8, 5, 7] and boxes[1]['area'] == 7 + 4


def test_convert_split_and_foggy_mapping(tmp_path):
    root = str(tmp_path)
    _make_tree(root)
    res = conv.convert_split(root, 'train', beta=0.02, check_foggy=True, progress=False)
    city, fog = res['cityscapes'], res['foggy']
    assert [c['name'] for c in city['categories']] == [
        'person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle']
    assert city['images'][0]['file_name'] == \
        'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png'
    assert fog['images'][0]['file_name'] == \
        'leftImg8bit_foggy/train/aachen/aachen_000000_000019_leftImg8bit_foggy_beta_0.02.png'
    assert (city['images'][0]['width'], city['images'][0]['height']) == (30, 20)
    assert fog['annotations'] == city['annotations']
    assert sorted(a['bbox'] for a in city['annotations']) == [[0, 16, 4, 2], [3, 2, 7, 4],
                                                              [12, 8, 5, 7]]
    assert sorted(a['category_id'] for a in city['annotations']) == [1, 3, 8]
    for name in [i['file_name'] for i in city['images'] + fog['images']]:
        assert osp.isfile(osp.join(root, name))


def test_main_writes_four_files(tmp_path, capsys):
    root = str(tmp_path)
    _make_tree(root, 'train')
    _make_tree(root, 'val', city='lindau', stem='lindau_000000_000019')
    assert conv.main([root, '--no-progress']) == 0
    for prefix in ('cityscapes_da', 'foggy_cityscapes_da'):
        for split in ('train', 'val'):
            with open(osp.join(root, 'annotations', f'{prefix}_{split}.json')) as f:
                assert len(json.load(f)['annotations']) == 3


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='gtFine split directory'):
        conv.convert_split(str(tmp_path), 'train', progress=False)
    root = str(tmp_path / 'cs')
    _make_tree(root, foggy=False)
    with pytest.raises(FileNotFoundError, match='Foggy Cityscapes images missing'):
        conv.convert_split(root, 'train', check_foggy=True, progress=False)
    # malformed: an RGB PNG where an instance-id map is expected
    bad = osp.join(root, 'gtFine', 'train', 'aachen', 'aachen_000000_000019_gtFine_instanceIds.png')
    cv2.imwrite(bad, np.zeros((20, 30, 3), np.uint8))
    with pytest.raises(ValueError, match='instance-id PNG'):
        conv.convert_split(root, 'train', progress=False)
    empty = str(tmp_path / 'empty')
    os.makedirs(osp.join(empty, 'gtFine', 'train'))
    os.makedirs(osp.join(empty, 'leftImg8bit', 'train'))
    with pytest.raises(FileNotFoundError, match='no \\*_gtFine_instanceIds.png'):
        conv.convert_split(empty, 'train', progress=False)
    with pytest.raises(ValueError, match='leftImg8bit'):
        conv.foggy_name('gtFine/train/a/x.png', 0.02)
