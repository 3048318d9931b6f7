"""Bad-input matrix: each row feeds one kind of bad input through the configs as users run them
and expects a clear error naming the file/key, or an explicit logged policy -- never silent loss.

The dataset class itself is unit-tested in tests/datasets/test_checked_coco.py; here every row
goes through a shipped config (its dataset/pipeline/model as configured).
"""
import contextlib
import copy
import json
import logging
import os.path as osp

import pytest
import torch

from conftest import ROOT, shrink_cfg

VANILLA = 'configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py'
DA = 'configs/cr_da/synth/da-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'
DIVE = 'configs/recognition/dive_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
APA = 'configs/lvis/apa_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'


def _json(root, rel):
    with open(osp.join(root, rel)) as f:
        return json.load(f)


def _dump(data, path):
    with open(path, 'w') as f:
        json.dump(data, f)
    return str(path)


def _train_dataset(load_cfg, root, ann_file, cfg_path=VANILLA, **overrides):
    """Build the config's training dataset (with its pipeline) on ``ann_file``."""
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    ds_cfg = copy.deepcopy(load_cfg(cfg_path).train_dataloader.dataset)
    ds_cfg.update(data_root=root, ann_file=ann_file, **overrides)
    return DATASETS.build(ds_cfg)


@contextlib.contextmanager
def _mm_logs(logger=None):
    """Messages logged to mmengine's current (or the given) MMLogger inside the block."""
    from mmengine.logging import MMLogger
    logger = logger or MMLogger.get_current_instance()
    messages = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _context(root):
    return _json(root, 'annotations/context_train.json')


# ----------------------------------------------------------------------------------- rows
def row_missing_image(load_cfg, root, tmp_path):
    from hce_det.datasets import DatasetError
    data = _context(root)
    data['images'][3]['file_name'] = 'images/context_train/vanished.png'
    ann = _dump(data, tmp_path / 'missing.json')
    with pytest.raises(DatasetError, match=r'missing\.json.*vanished\.png.*missing'):
        _train_dataset(load_cfg, root, ann)


def row_corrupt_image(load_cfg, root, tmp_path):
    from hce_det.datasets import DatasetError
    bad = tmp_path / 'corrupt.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00' * 64)  # PNG magic, then garbage
    data = _context(root)
    data['images'][0]['file_name'] = str(bad)  # absolute path: joined as is
    ds = _train_dataset(load_cfg, root, _dump(data, tmp_path / 'corrupt.json'))
    idx = next(i for i in range(len(ds)) if ds.get_data_info(i)['img_path'] == str(bad))
    with pytest.raises(DatasetError, match=r'corrupt\.png.*cannot be decoded'):
        ds[idx]


def row_truncated_json(load_cfg, root, tmp_path):
    from hce_det.datasets import DatasetError
    text = json.dumps(_context(root))
    path = tmp_path / 'truncated.json'
    path.write_text(text[:len(text) // 2])
    with pytest.raises(DatasetError, match=r'truncated\.json.*not valid JSON'):
        _train_dataset(load_cfg, root, str(path))


def row_unknown_category_id(load_cfg, root, tmp_path):
    from hce_det.datasets import DatasetError
    data = _context(root)
    data['annotations'][5]['category_id'] = 77
    aid = data['annotations'][5]['id']
    with pytest.raises(DatasetError,
                       match=rf'unknown_cat\.json.*annotation id {aid} .*category_id 77'):
        _train_dataset(load_cfg, root, _dump(data, tmp_path / 'unknown_cat.json'))


def _bad_box(load_cfg, root, tmp_path, bbox, problem):
    from hce_det.datasets import DatasetError
    data = _context(root)
    data['annotations'][2]['bbox'] = bbox
    aid = data['annotations'][2]['id']
    with pytest.raises(DatasetError, match=rf'box\.json.*annotation id {aid}: {problem}'):
        _train_dataset(load_cfg, root, _dump(data, tmp_path / 'box.json'))


def row_box_outside_image(load_cfg, root, tmp_path):
    _bad_box(load_cfg, root, tmp_path, [100, 100, 60, 20], 'box .* reaches outside')


def row_zero_size_box(load_cfg, root, tmp_path):
    _bad_box(load_cfg, root, tmp_path, [10, 10, 0, 12], 'degenerate box')


def row_negative_size_box(load_cfg, root, tmp_path):
    _bad_box(load_cfg, root, tmp_path, [40, 40, -8, 12], 'degenerate box')


def row_image_without_annotations(load_cfg, root, tmp_path):
    """Training set (filter_empty_gt=True): the image is dropped and the drop is logged.
    DA target domain (filter_empty_gt=False, no labels needed): kept, as a background image."""
    data = _context(root)
    empty_id = data['images'][4]['id']
    data['annotations'] = [a for a in data['annotations'] if a['image_id'] != empty_id]
    ann = _dump(data, tmp_path / 'empty_img.json')
    with _mm_logs() as logs:
        ds = _train_dataset(load_cfg, root, ann)
    assert len(ds) == len(data['images']) - 1
    assert empty_id not in {ds.get_data_info(i)['img_id'] for i in range(len(ds))}
    assert any('empty_img.json: 1 of' in m and 'filtered out' in m for m in logs), \
        'the filtered image must be logged'
    target_cfg = load_cfg(DA).train_dataloader.dataset.datasets[1]
    kept = _train_dataset(load_cfg, root, ann, filter_cfg=target_cfg.filter_cfg)
    assert len(kept) == len(data['images'])
    info = next(kept.get_data_info(i) for i in range(len(kept))
                if kept.get_data_info(i)['img_id'] == empty_id)
    assert info['instances'] == []


def row_num_classes_mismatch(load_cfg, root, tmp_path):
    """Any config run through tools/train.py / tools/test.py (``build_runner``) is checked before
    the first step -- here the APA config, which lists no check hook (was: trained to the end,
    then IndexError in results2json)."""
    from hce_det.engine.hooks import NumClassMismatchError
    from hce_det.engine.launch import build_runner
    assert 'NumClassCheckHook' not in str(load_cfg(APA).get('custom_hooks'))
    runner = build_runner(osp.join(ROOT, APA),
                          cfg_options={'model.roi_head.bbox_head.num_classes': 7},
                          cfg_hook=lambda cfg: shrink_cfg(cfg, root, tmp_path, max_iters=1))
    with pytest.raises(NumClassMismatchError, match=r'bbox_head \(APABBoxHead\) num_classes=7.*'
                       r'SynthScenesDataset .*lt_train\.json\) has 10 classes.*num_classes=10'):
        runner.train()
    assert runner.iter == 0


def row_bbox_values_as_strings(load_cfg, root, tmp_path):
    """Numeric strings are converted (logged with the count); anything else names the file and
    annotation (was: a TypeError deep in mmdet's coco.py, or a bare ValueError)."""
    from hce_det.datasets import DatasetError
    data = _context(root)
    ann = data['annotations'][2]
    ann['bbox'] = [str(v) for v in ann['bbox']]
    with _mm_logs() as logs:
        ds = _train_dataset(load_cfg, root, _dump(data, tmp_path / 'str_box.json'))
    assert sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds))) == \
        len(data['annotations'])
    assert any('str_box.json: 1 annotations give bbox/area values as strings' in m for m in logs)
    ann['bbox'][3] = 'twelve'
    with pytest.raises(DatasetError, match=rf"str_box2\.json.*annotation id {ann['id']} has bbox "
                                           r'.*not a finite number'):
        _train_dataset(load_cfg, root, _dump(data, tmp_path / 'str_box2.json'))


def row_image_size_differs_from_json(load_cfg, root, tmp_path):
    """A JPEG with EXIF orientation 6 (phone photo): the decoder rotates it, the JSON (written
    from the stored size) does not; was: silent training on misplaced boxes."""
    from PIL import Image
    from hce_det.datasets import DatasetError
    data = _context(root)
    img = data['images'][0]
    photo = tmp_path / 'photo.jpg'
    exif = Image.Exif()
    exif[0x0112] = 6
    w, h = 2 * img['width'], img['height']  # stored landscape, boxes stay inside
    Image.new('RGB', (w, h)).save(photo, exif=exif.tobytes())
    img.update(file_name=str(photo), width=w, height=h)  # JSON: the stored size
    ds = _train_dataset(load_cfg, root, _dump(data, tmp_path / 'exif.json'))
    idx = next(i for i in range(len(ds)) if ds.get_data_info(i)['img_path'] == str(photo))
    with pytest.raises(DatasetError, match=rf'photo\.jpg.*decodes to {h}x{w}.*says {w}x{h}.*EXIF'):
        ds[idx]


def row_cfg_options_typo(load_cfg, root, tmp_path):
    """``--cfg-options trian_cfg.max_iters=5`` (was: silently ignored, full-length training)."""
    from hce_det.engine.launch import build_runner
    with pytest.raises(ValueError, match=r"no key 'trian_cfg'.*Closest existing keys: train_cfg"):
        build_runner(osp.join(ROOT, VANILLA), work_dir=str(tmp_path),
                     cfg_options={'trian_cfg.max_iters': 5})


def row_checkpoint_with_unlisted_global(load_cfg, root, tmp_path):
    """tools/test.py on a checkpoint holding a class outside the allow-list: the error names the
    global and ``add_safe_globals``, never advice to turn the safe loader off."""
    from hce_det.compat import UnsafeCheckpointError
    from hce_det.engine.launch import build_runner
    ckpt = tmp_path / 'foreign.pth'
    torch.save({'state_dict': {}, 'meta': {'cfg': logging.Formatter()}}, ckpt)
    runner = build_runner(osp.join(ROOT, VANILLA), load_from=str(ckpt),
                          cfg_hook=lambda cfg: shrink_cfg(cfg, root, tmp_path))
    with pytest.raises(UnsafeCheckpointError, match=r'foreign\.pth.*the global logging\.Formatter'
                       r'.*torch\.serialization\.add_safe_globals\(\[Formatter\]\)') as err:
        runner.test()
    assert 'False' not in str(err.value)


def row_empty_target_domain(load_cfg, root, tmp_path):
    """A target-domain annotation file listing no images fails naming that file
    (CheckedCocoDataset.load_data_list), before mmengine's bare numpy error in _serialize_data
    or mmdet's GroupMultiSourceSampler spinning forever on the empty domain."""
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    from hce_det.datasets import DatasetError
    init_default_scope('mmdet')
    data = _json(root, 'annotations/fog_target_train.json')
    data['images'], data['annotations'] = [], []
    empty = _dump(data, tmp_path / 'empty_target.json')
    concat = copy.deepcopy(load_cfg(DA).train_dataloader.dataset)
    concat.pop('data_root', None)
    for d in concat.datasets:
        d.data_root = root
    concat.datasets[1].ann_file = empty
    with pytest.raises(DatasetError, match=r'empty_target\.json'):
        DATASETS.build(concat)


def row_lvis_missing_frequency_fields(load_cfg, root, tmp_path):
    """A file without ``frequency``/``image_count``/``instance_count``: the frequency-aware losses
    and heads recount from ``annotations`` (same numbers, nothing lost); the LVIS metric, which
    needs the r/c/f groups, refuses it naming the file and category."""
    from hce_det.evaluation.faster_coco_metric import FasterLVISMetric
    from hce_det.models.long_tail.class_freq import image_counts_from_ann_file
    from hce_det.models.recognition.base import load_class_counts
    full = _json(root, 'annotations/lt_train.json')
    stripped = copy.deepcopy(full)
    for c in stripped['categories']:
        for key in ('frequency', 'image_count', 'instance_count'):
            c.pop(key)
    path = _dump(stripped, tmp_path / 'no_freq.json')
    cats = sorted(full['categories'], key=lambda c: c['id'])
    counts, n_img = image_counts_from_ann_file(path)
    assert counts == [c['image_count'] for c in cats] and n_img == len(full['images'])
    inst = load_class_counts(len(cats), class_counts_file=path)
    assert inst.tolist() == [float(max(c['instance_count'], 1)) for c in cats]
    with pytest.raises(KeyError, match=r'no_freq\.json.*category \d+ has neither "frequency"'):
        FasterLVISMetric(ann_file=osp.join(root, 'annotations/lt_val.json'),
                         frequency_ann_file=path)


def row_teacher_from_other_class_set(load_cfg, root, tmp_path):
    """DiVE teacher trained on 5 classes, student on 10: error naming checkpoint and counts."""
    from mmdet.registry import MODELS
    from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    teacher = Shared2FCBBoxHead(in_channels=64, fc_out_channels=256, roi_feat_size=7,
                                num_classes=5)
    ckpt = tmp_path / 'teacher_5cls.pth'
    torch.save({'state_dict': {f'roi_head.bbox_head.{k}': v
                               for k, v in teacher.state_dict().items()}}, ckpt)
    head_cfg = copy.deepcopy(load_cfg(DIVE).model.roi_head.bbox_head)
    head_cfg.class_counts_file = osp.join(root, 'annotations/lt_train.json')
    head_cfg.teacher = dict(checkpoint=str(ckpt))  # the head-only teacher of DiVEBBoxHead
    head = MODELS.build(head_cfg)
    with pytest.raises(ValueError,
                       match=r'teacher_5cls\.pth.*classifies 5 classes.*num_classes=10'):
        head.init_weights()


def _nan_runner(load_cfg, root, tmp_path, policy, name):
    from mmengine.runner import Runner
    cfg = shrink_cfg(load_cfg(VANILLA), root, tmp_path, max_iters=2)
    cfg.model.roi_head.bbox_head.loss_cls.loss_weight = float('nan')
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='FiniteLossHook', policy=policy)]
    cfg.experiment_name = name
    return Runner.from_cfg(cfg)


def row_nan_loss(load_cfg, root, tmp_path):
    """policy='raise' (default): stop before the update, naming the term; weights stay finite.
    policy='skip': every skipped update is logged, and no parameter moves."""
    from hce_det.engine.hooks import NonFiniteLossError
    runner = _nan_runner(load_cfg, root, tmp_path / 'raise', 'raise', 'nan_raise')
    with pytest.raises(NonFiniteLossError, match=r'iteration 1: loss_cls=nan') as err:
        runner.train()
    assert 'loss_bbox' not in str(err.value)  # only the offending term is named
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())

    runner = _nan_runner(load_cfg, root, tmp_path / 'skip', 'skip', 'nan_skip')
    with _mm_logs(runner.logger) as logs:
        runner.train()
    assert runner.iter == 2  # training went on
    skips = [m for m in logs if 'skipping the update' in m]
    assert len(skips) == 2 and 'loss_cls=nan' in skips[0]
    # no gradient reached any parameter: SGD never created a momentum buffer
    assert len(runner.optim_wrapper.optimizer.state) == 0
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())


ROWS = {
    'missing_image': (row_missing_image, False),
    'corrupt_image': (row_corrupt_image, False),
    'truncated_json': (row_truncated_json, False),
    'unknown_category_id': (row_unknown_category_id, False),
    'box_outside_image': (row_box_outside_image, False),
    'zero_size_box': (row_zero_size_box, False),
    'negative_size_box': (row_negative_size_box, False),
    'image_without_annotations': (row_image_without_annotations, False),
    'num_classes_mismatch': (row_num_classes_mismatch, False),
    'bbox_values_as_strings': (row_bbox_values_as_strings, False),
    'image_size_differs_from_json': (row_image_size_differs_from_json, False),
    'cfg_options_typo': (row_cfg_options_typo, False),
    'checkpoint_with_unlisted_global': (row_checkpoint_with_unlisted_global, False),
    'empty_target_domain': (row_empty_target_domain, False),
    'lvis_missing_frequency_fields': (row_lvis_missing_frequency_fields, False),
    'teacher_from_other_class_set': (row_teacher_from_other_class_set, False),
    'nan_loss': (row_nan_loss, True),
}


PENDING = {  # rows whose fix lies outside this test's owner's files (see docs/RELIABILITY.md)
}


def _marks(name, slow):
    marks = [pytest.mark.slow] if slow else []
    if name in PENDING:
        marks.append(pytest.mark.xfail(reason=PENDING[name], strict=True))
    return marks


@pytest.mark.parametrize('row', [pytest.param(name, marks=_marks(name, slow), id=name)
                                 for name, (_, slow) in ROWS.items()])
def test_bad_input_matrix(row, load_cfg, tiny_data, tmp_path):
    ROWS[row][0](load_cfg, tiny_data, tmp_path)
