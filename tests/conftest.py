"""Shared fixtures: a tiny built-in dataset and a helper to shrink any config to it."""
import math
import os
import os.path as osp

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """Every split of the built-in data, 16-24 images each at 128 px (session-wide, read-only)."""
    from hce_det.datasets.synthetic import SuiteSpec, generate_suite
    root = str(tmp_path_factory.mktemp('hce_synth'))
    generate_suite(root, SuiteSpec(context_train=24, context_val=12, lt_train=40, lt_val=12,
                                   fog_train=16, fog_val=12, fog_target_val=12,
                                   context_cooc_train=24, context_cooc_val=12, seed=123))
    return root + '/'


def shrink_cfg(cfg, data_root, work_dir, max_iters=4, batch_size=2, val_images=None):
    """Point a config built on ``configs/_base_/datasets/synth_*`` at ``data_root`` and make it
    tiny: ``max_iters`` iterations, ``batch_size`` images, no intermediate validation."""
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor.window_size = 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]

    def fix(dl):
        if dl is None:
            return
        dl.batch_size = batch_size
        ds = dl.dataset
        while 'dataset' in ds and 'ann_file' not in ds:  # wrappers (RFS, ConcatDataset, ...)
            ds = ds.dataset
        ds.data_root = data_root
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        fix(cfg.get(key))

    def remap(node):  # every other path into the default data root (evaluators, class counts)
        if isinstance(node, str) and node.startswith('data/hce_synth/'):
            return data_root + node[len('data/hce_synth/'):]
        if isinstance(node, dict):
            for k in list(node):
                node[k] = remap(node[k])
        elif isinstance(node, list):
            return [remap(v) for v in node]
        return node
    for key in list(cfg.keys()):
        if key not in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key] = remap(cfg[key])
    return cfg


def point_two_domain(cfg, data_root, batch_size, source_ratio=None):
    """Point every ConcatDataset member of a CR-DA config at ``data_root`` and give the
    GroupMultiSourceSampler ``batch_size`` (and ``source_ratio`` unless None)."""
    tr = cfg.train_dataloader
    tr.dataset.pop('data_root', None)
    for d in tr.dataset.datasets:
        d.data_root = data_root
    tr.sampler.batch_size = batch_size
    if source_ratio is not None:
        tr.sampler.source_ratio = list(source_ratio)


def shrink_da(cfg, data_root, work_dir, max_iters=2, batch_size=4, source_ratio=(1, 1)):
    """``shrink_cfg`` plus the two-domain pieces of a CR-DA config (see ``point_two_domain``)."""
    is_two_domain = cfg.train_dataloader.dataset.type == 'ConcatDataset'
    cfg = shrink_cfg(cfg, data_root, work_dir, max_iters, batch_size)
    if is_two_domain:
        point_two_domain(cfg, data_root, batch_size, source_ratio)
    return cfg


@pytest.fixture(scope='module')
def one_thread():
    """One intra-op thread for a module of small-model tests (faster than 2 on a shared 2-core
    machine); use with ``pytestmark = pytest.mark.usefixtures('one_thread')``."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def build_model(model_cfg):
    """``MODELS.build`` in the mmdet scope with a fixed seed (same initial weights every call)."""
    import copy

    import hce_det  # noqa: F401
    from mmengine.registry import init_default_scope

    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    torch.manual_seed(0)
    return MODELS.build(copy.deepcopy(model_cfg))


@pytest.fixture
def load_cfg():
    """``load_cfg('configs/...py')`` -> mmengine Config (hce_det imported)."""
    import hce_det  # noqa: F401
    from mmengine.config import Config

    def _load(rel):
        return Config.fromfile(osp.join(ROOT, rel))
    return _load


# ------------------------------------------------------------------ recognition heads
# Tiny recognition box heads (tests/models/recognition, the alpha hook): 3 foreground classes with
# long-tailed counts; plain-Python softmax / cross-entropy / KL for the hand computations.
TINY_C = 3
TINY_COUNTS = [100.0, 10.0, 1.0]
TINY_HEAD = dict(in_channels=4, fc_out_channels=8, roi_feat_size=2, num_classes=TINY_C,
                 class_counts=TINY_COUNTS)


def hand_softmax(v):
    e = [math.exp(x - max(v)) for x in v]
    return [x / sum(e) for x in e]


def hand_ce(v, y):
    return -math.log(hand_softmax(v)[y])


def hand_kl(p, q):
    return sum(a * (math.log(a) - math.log(b)) for a, b in zip(p, q) if a > 0)


def point_head_at(cfg, data_root, tmp_path):
    """A recognition config on the built-in long-tail split: its box head reads ``data_root``'s
    class counts; DiVE's teacher is an untrained baseline detector saved under ``tmp_path``."""
    head = cfg.model.roi_head.bbox_head
    if 'class_counts_file' in head:
        head.class_counts_file = osp.join(data_root, 'annotations/lt_train.json')
    if head.type == 'DiVEBBoxHead':  # teacher: an (untrained) baseline detector's checkpoint
        from mmdet.registry import MODELS
        from mmengine.config import Config
        base = Config.fromfile(osp.join(
            ROOT, 'configs/recognition/softmax_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'))
        det = MODELS.build(base.model)
        ckpt = str(tmp_path / 'teacher.pth')
        torch.save({'state_dict': det.state_dict()}, ckpt)
        cfg.model.teacher.checkpoint = ckpt  # TeacherTwoStageDetector: the whole detector
    return cfg


def no_val(cfg):
    """No validation during training (no loop, loader or evaluator)."""
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_cfg.val_interval = 10 ** 6
    return cfg


# ------------------------------------------------------------------ per-class AP50
AP50_CLASSES = ('a', 'b', 'c')


def ap50_case():
    """``(preds, gts)`` of two images over ``AP50_CLASSES`` for ``per_class_ap50``: per image one
    (n, 5) detection array per class and a VOC-style ground truth (hand values of its AP50s:
    tests/evaluation/test_voc_per_class.py)."""
    def gt(boxes, labels):
        return dict(bboxes=np.array(boxes, np.float32).reshape(-1, 4),
                    labels=np.array(labels, np.int64),
                    bboxes_ignore=np.zeros((0, 4), np.float32),
                    labels_ignore=np.zeros((0, ), np.int64))

    def det(rows):
        return np.array(rows, np.float32).reshape(-1, 5)
    gts = [gt([[0, 0, 10, 10], [20, 20, 30, 30]], [0, 1]), gt([[5, 5, 15, 15]], [0])]
    preds = [[det([[0, 0, 10, 10, .9]]), det([[50, 50, 60, 60, .9], [20, 20, 30, 30, .8]]),
              det([])],
             [det([]), det([]), det([])]]
    return preds, gts


def two_domain_demo_batch(model, num_classes: int = 10):
    """2 source + 2 target images of different sizes from ``mmdet.testing.demo_mm_inputs`` (no
    data files): (training batch as ``DAFasterRCNN.loss`` takes it, test batch of all four),
    both through ``model.data_preprocessor``."""
    import copy

    from mmdet.testing import demo_mm_inputs
    data = demo_mm_inputs(batch_size=4, image_shapes=[(3, 128, 128), (3, 96, 128),
                                                      (3, 128, 96), (3, 128, 128)],
                          num_items=[3, 2, 4, 1], num_classes=num_classes)
    two = dict(inputs=dict(source=data['inputs'][:2], target=data['inputs'][2:]),
               data_samples=dict(source=data['data_samples'][:2],
                                 target=data['data_samples'][2:]))
    return (model.data_preprocessor(two, True),
            model.data_preprocessor(copy.deepcopy(data), False))
