"""Bad input to the dataset gives a clear error naming the file and problem, or a logged skip."""
import json
import logging
import os.path as osp

import numpy as np
import pytest

from hce_det.datasets import DatasetError, LoadImageChecked, SynthScenesDataset
from hce_det.datasets.synthetic import SplitSpec, generate_split


@pytest.fixture
def split(tmp_path):
    data = generate_split(SplitSpec('s', 4, seed=7), str(tmp_path))
    return tmp_path, data


def _write(root, data, name='bad.json'):
    path = osp.join(root, 'annotations', name)
    with open(path, 'w') as f:
        json.dump(data, f)
    return path


def _build(root, ann, **kw):
    return SynthScenesDataset(data_root=str(root), ann_file=ann, data_prefix=dict(img=''),
                              pipeline=[], **kw)


def test_clean_split_loads_every_box(split):
    root, data = split
    ds = _build(root, 'annotations/s.json')
    assert len(ds) == len(data['images'])
    n = sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds)))
    assert n == len(data['annotations'])
    assert ds.metainfo['classes'][0] == 'boat'


def test_missing_annotation_file(tmp_path):
    with pytest.raises(DatasetError, match=r'nothere\.json.*make_dataset'):
        _build(tmp_path, 'nothere.json')


def test_malformed_json(split):
    root, _ = split
    path = osp.join(root, 'annotations', 'trunc.json')
    text = open(osp.join(root, 'annotations', 's.json')).read()
    open(path, 'w').write(text[:len(text) // 2])
    with pytest.raises(DatasetError, match=r'trunc\.json.*not valid JSON'):
        _build(root, 'annotations/trunc.json')


def test_missing_image_file(split):
    root, data = split
    missing = data['images'][1]['file_name']
    (root / missing).unlink()
    with pytest.raises(DatasetError, match=rf'{missing}.*missing'):
        _build(root, 'annotations/s.json')


def test_unknown_category(split):
    root, data = split
    data['annotations'][0]['category_id'] = 99
    _write(root, data)
    with pytest.raises(DatasetError, match=r'bad\.json.*annotation id 1 .*category_id 99'):
        _build(root, 'annotations/bad.json')


@pytest.mark.parametrize('bbox,problem', [([10, 10, 0, 5], 'degenerate'),
                                          ([10, 10, -3, 5], 'degenerate'),
                                          ([120, 10, 30, 5], 'outside')])
def test_bad_box_error_names_annotation(split, bbox, problem):
    root, data = split
    data['annotations'][2]['bbox'] = bbox
    _write(root, data)
    with pytest.raises(DatasetError, match=rf"bad\.json.*{data['images'][data['annotations'][2]['image_id'] - 1]['file_name']}.*annotation id 3.*{problem}"):
        _build(root, 'annotations/bad.json')


def test_bad_box_skip_and_clip_are_logged(split, caplog):
    root, data = split
    n_before = len(data['annotations'])
    data['annotations'][0]['bbox'] = [5, 5, 0, 0]           # degenerate -> dropped
    data['annotations'][1]['bbox'] = [120, 10, 30, 5]       # outside -> clipped to w=8
    _write(root, data)
    with caplog.at_level(logging.WARNING):
        skip = _build(root, 'annotations/bad.json', bad_box_policy='skip')
    n_skip = sum(len(skip.get_data_info(i)['instances']) for i in range(len(skip)))
    assert n_skip == n_before - 2 and skip.num_bad_boxes == 2
    clip = _build(root, 'annotations/bad.json', bad_box_policy='clip')
    boxes = np.concatenate([[inst['bbox'] for inst in clip.get_data_info(i)['instances']]
                            for i in range(len(clip))])
    assert len(boxes) == n_before - 1
    assert [120, 10, 128, 15] in boxes.tolist()
    with pytest.raises(ValueError, match='bad_box_policy'):
        _build(root, 'annotations/bad.json', bad_box_policy='ignore')


def test_image_without_annotations_is_kept_in_test_mode_and_filter_is_logged(split, caplog):
    root, data = split
    data['annotations'] = [a for a in data['annotations'] if a['image_id'] != 1]
    _write(root, data)
    assert len(_build(root, 'annotations/bad.json', test_mode=True)) == len(data['images'])
    with caplog.at_level(logging.INFO):
        ds = _build(root, 'annotations/bad.json', filter_cfg=dict(filter_empty_gt=True))
    assert len(ds) == len(data['images']) - 1


def test_corrupt_image_names_file(split):
    root, data = split
    path = root / data['images'][0]['file_name']
    path.write_bytes(b'not a png at all')
    load = LoadImageChecked()
    with pytest.raises(DatasetError, match=rf'{path.name}.*cannot be decoded'):
        load(dict(img_path=str(path)))
    missing = root / 'images' / 'gone.png'
    with pytest.raises(DatasetError, match='gone.png'):
        load(dict(img_path=str(missing)))
    ok = load(dict(img_path=str(root / data['images'][1]['file_name'])))
    assert ok['img'].shape == (128, 128, 3)


def _logged(fn):
    """(result of ``fn()``, messages it logged to mmengine's current logger)."""
    from mmengine.logging import MMLogger
    logger, messages = MMLogger.get_current_instance(), []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        return fn(), '\n'.join(messages)
    finally:
        logger.removeHandler(handler)


def test_numeric_strings_in_bbox_are_converted_and_logged(split):
    root, data = split
    data['annotations'][0]['bbox'] = [str(v) for v in data['annotations'][0]['bbox']]
    data['annotations'][0]['area'] = str(data['annotations'][0]['area'])
    expected = [float(v) for v in data['annotations'][0]['bbox']]
    _write(root, data)
    ds, logs = _logged(lambda: _build(root, 'annotations/bad.json'))
    assert ds.num_converted_strings == 1
    assert 'bad.json: 1 annotations give bbox/area values as strings' in logs
    assert "annotation id 1 {'bbox': ['" in logs
    boxes = [inst['bbox'] for i in range(len(ds)) for inst in ds.get_data_info(i)['instances']]
    x, y, w, h = expected
    assert [x, y, x + w, y + h] in boxes and len(boxes) == len(data['annotations'])


@pytest.mark.parametrize('bad', ['12px', None, 'nan'])
def test_non_numeric_bbox_values_name_file_and_annotation(split, bad):
    root, data = split
    data['annotations'][3]['bbox'][2] = bad
    _write(root, data)
    with pytest.raises(DatasetError, match=r'bad\.json.*annotation id 4 has bbox .*not a finite '
                                           r'number'):
        _build(root, 'annotations/bad.json')


def test_image_size_differing_from_the_json_is_an_error(split, tmp_path):
    """A PNG whose pixels are not the JSON's width x height: error naming file and both sizes
    (boxes would be misplaced silently)."""
    from PIL import Image
    root, data = split
    path = tmp_path / 'wide.png'
    Image.new('RGB', (160, 128)).save(path)
    load = LoadImageChecked()
    with pytest.raises(DatasetError, match=r'wide\.png.*decodes to 160x128.*says 128x128'):
        load(dict(img_path=str(path), height=128, width=128))
    assert load(dict(img_path=str(path), height=128, width=160))['img'].shape == (128, 160, 3)
    assert LoadImageChecked(check_size=False)(dict(img_path=str(path), height=128,
                                                   width=128)) is not None


def test_exif_rotated_jpeg_is_an_error_with_the_fix(tmp_path):
    """EXIF orientation 6: stored 64x48, the decoder turns it to 48x64 while the JSON (written
    from the stored size) says 64x48. Loading as stored is the documented way out."""
    from PIL import Image
    path = tmp_path / 'phone.jpg'
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    Image.new('RGB', (64, 48), (200, 30, 30)).save(path, exif=exif.tobytes())
    sample = dict(img_path=str(path), height=48, width=64)
    with pytest.raises(DatasetError, match=r"phone\.jpg.*decodes to 48x64.*says 64x48.*EXIF"
                                           r".*color_type='color_ignore_orientation'"):
        LoadImageChecked()(dict(sample))
    as_stored = LoadImageChecked(color_type='color_ignore_orientation')(dict(sample))
    assert as_stored['img'].shape == (48, 64, 3)
