"""Per-class training statistics (image counts) for frequency-aware losses.

Sources, in order of preference: an explicit list in the config, or an LVIS/COCO-style
annotation file (read lazily, on the first loss call, so a config builds without the data).
``ann_file='train_dataset'`` (:data:`TRAIN_DATASET`) stands for the training dataset's own
annotation file, filled in by :class:`~hce_det.engine.hooks.TrainAnnFileHook` before training,
so the statistics follow any ``data_root`` / ``ann_file`` override of the train dataloader.
The category order is ascending ``category_id`` (= mmdet's LVIS/COCO label order).

The image frequency divides by the number of training images: ``num_images_from='images'``
counts every entry of ``images`` (LVIS v1 train: 100,170), ``'annotated'`` only the images with
at least one annotation (99,388), the divisor of the AGLU/GOL DropLoss reference
(kostas1515/AGLU ``mmdetection_v3.2/mmdet/utils/lvis_v1_0_categories.py``: ``image_count /
len(set(image_id of annotations))``). Two LVIS v1 classes fall on different sides of the
DropLoss threshold 0.0011 between the two.
"""
import json
from typing import Optional, Sequence, Tuple

import torch
from mmengine.fileio import get_local_path

__all__ = ['ClassImageCounts', 'class_counts_from_ann_file', 'image_counts_from_ann_file',
           'TRAIN_DATASET', 'translate_freq_thr', 'rare_by_frequency', 'DROPLOSS_LVIS_THR',
           'LVIS_V1_ANNOTATED_TRAIN_IMAGES']

TRAIN_DATASET = 'train_dataset'
NUM_IMAGES_FROM = ('images', 'annotated')


COUNT_KEYS = ('image_count', 'instance_count')

#: DropLoss's LVIS v1 threshold on image frequency (AGLU release ``droploss.py``, lambda) and the
#: divisor the reference uses: LVIS v1 train images holding at least one annotation.
DROPLOSS_LVIS_THR = 0.0011
LVIS_V1_ANNOTATED_TRAIN_IMAGES = 99388


def translate_freq_thr(num_images: int, ref_thr: float = DROPLOSS_LVIS_THR,
                       ref_num_images: int = LVIS_V1_ANNOTATED_TRAIN_IMAGES) -> float:
    """An image-frequency threshold moved to a training set of ``num_images`` images by keeping
    its *image count*: ``ref_thr * ref_num_images / num_images``.

    DropLoss's 0.0011 on LVIS v1 is 0.0011 x 99,388 = 109.3 training images: just above the
    common/frequent boundary of LVIS (rare 1-10 images, common 11-100, frequent > 100), so it
    drops the negatives of the rare and common classes (plus the few frequent classes with
    101-109 images). The built-in data assigns r/c/f by the same image counts
    (:func:`hce_det.datasets.lvis_frequency.lvis_frequency`), so keeping the count keeps that
    meaning: on its 600-image ``lt_train`` the threshold is 0.182 (classes with < 109.3 images).
    """
    if num_images <= 0:
        raise ValueError(f'num_images must be > 0, got {num_images}')
    return ref_thr * ref_num_images / num_images


def rare_by_frequency(image_counts: Sequence[float], num_images: int,
                      freq_thr: float) -> list:
    """DropLoss's rare set: ``image_count / num_images < freq_thr`` per class."""
    return [c / num_images < freq_thr for c in image_counts]


def class_counts_from_ann_file(ann_file: str, key: str = 'image_count',
                               not_found: Optional[str] = None) -> Tuple[list, dict]:
    """Per-class training counts in ascending category id (mmdet's COCO/LVIS label order) from
    an annotation file, and the parsed file: the categories' ``key`` field when every category
    has it (LVIS v1, the built-in data), otherwise counted from ``annotations`` -- distinct
    images per class (``'image_count'``) or boxes per class (``'instance_count'``).
    ``not_found``: the message of the FileNotFoundError for a missing file."""
    try:
        with get_local_path(ann_file) as path, open(path) as f:
            data = json.load(f)
    except FileNotFoundError as e:
        raise FileNotFoundError(not_found or f'annotation file {ann_file!r} not found') from e
    cats = sorted(data.get('categories', []), key=lambda c: c['id'])
    if not cats:
        raise ValueError(f'{ann_file}: no "categories" to read class frequencies from')
    if all(key in c for c in cats):
        return [c[key] for c in cats], data
    if key not in COUNT_KEYS or 'annotations' not in data:
        missing = [c.get('name', c['id']) for c in cats if key not in c]
        raise KeyError(f'categories {missing[:5]} in {ann_file!r} lack {key!r} and there are no '
                       f'annotations to count them from; give the counts explicitly')
    index = {c['id']: i for i, c in enumerate(cats)}
    counts, seen = [0] * len(cats), set()
    for a in data['annotations']:
        cat = a['category_id']
        if cat in index and (key == 'instance_count' or (a['image_id'], cat) not in seen):
            seen.add((a.get('image_id'), cat))
            counts[index[cat]] += 1
    return counts, data


def image_counts_from_ann_file(ann_file: str, num_images_from: str = 'images'):
    """(image_count per category in ascending id order, number of images) from an annotation file.

    Uses the LVIS ``image_count`` category field when every category has it, otherwise counts
    distinct images per category from ``annotations``. The number of images is
    ``len(images)`` (``num_images_from='images'``) or the number of distinct ``image_id`` in
    ``annotations`` (``'annotated'``).
    """
    if num_images_from not in NUM_IMAGES_FROM:
        raise ValueError(f'num_images_from must be one of {NUM_IMAGES_FROM}, '
                         f'got {num_images_from!r}')
    if ann_file == TRAIN_DATASET:
        raise ValueError(f"ann_file={TRAIN_DATASET!r} is the training dataset's annotation file, "
                         "filled in before training by TrainAnnFileHook: add "
                         "dict(type='TrainAnnFileHook') to custom_hooks, or give the path")
    counts, data = class_counts_from_ann_file(
        ann_file, 'image_count',
        not_found=f'class frequency source ann_file={ann_file!r} not found; set it to the TRAINING '
                  f'annotation file or pass the counts explicitly (class_image_counts=[...])')
    if num_images_from == 'annotated':
        return counts, len({a['image_id'] for a in data.get('annotations', [])})
    return counts, len(data.get('images', []))


class ClassImageCounts:
    """Lazy holder of per-class image counts and image frequencies (count / #images).

    Args:
        num_classes: expected number of classes (checked against the source).
        counts: explicit per-class image counts.
        num_images: number of training images (needed with ``counts`` for frequencies).
        ann_file: annotation file to read the counts from (lazily); ``'train_dataset'`` = the
            training dataset's (set by ``TrainAnnFileHook``).
        num_images_from: ``'images'`` or ``'annotated'``, see the module docstring (only used
            with ``ann_file`` and no explicit ``num_images``).
        owner: name used in error messages.
    """

    def __init__(self, num_classes: Optional[int], counts: Optional[Sequence[float]] = None,
                 num_images: Optional[int] = None, ann_file: Optional[str] = None,
                 owner: str = 'loss', num_images_from: str = 'images') -> None:
        if num_images_from not in NUM_IMAGES_FROM:
            raise ValueError(f'{owner}: num_images_from must be one of {NUM_IMAGES_FROM}, '
                             f'got {num_images_from!r}')
        self.num_images_from = num_images_from
        if counts is None and ann_file is None:
            raise ValueError(f'{owner}: give the per-class training image counts: either '
                             f'class_image_counts=[...] (+ num_train_images) or '
                             f'ann_file=<train json>')
        self.num_classes = num_classes
        self.owner = owner
        self.ann_file = ann_file
        self._counts = None if counts is None else [float(c) for c in counts]
        self._num_images = num_images
        if self._counts is not None:
            self._check()

    def _check(self):
        if self.num_classes is not None and len(self._counts) != self.num_classes:
            src = self.ann_file or 'class_image_counts'
            raise ValueError(f'{self.owner}: {src} gives {len(self._counts)} classes but the head '
                             f'has num_classes={self.num_classes}; use the matching training file')

    def _load(self):
        if self._counts is None:
            counts, n = image_counts_from_ann_file(self.ann_file, self.num_images_from)
            self._counts = [float(c) for c in counts]
            self._num_images = self._num_images or n
            self._check()

    def counts(self, device=None) -> torch.Tensor:
        self._load()
        return torch.tensor(self._counts, dtype=torch.float32, device=device)

    def frequencies(self, device=None) -> torch.Tensor:
        """Image frequency per class, count / #training images (LVIS DropLoss threshold unit)."""
        self._load()
        if not self._num_images:
            raise ValueError(f'{self.owner}: number of training images unknown; set '
                             f'num_train_images together with class_image_counts')
        return self.counts(device) / float(self._num_images)
