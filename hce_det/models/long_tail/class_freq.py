"""Per-class training statistics (image counts) for frequency-aware losses.

Sources, in order of preference: an explicit list in the config, or an LVIS/COCO-style
annotation file (read lazily, on the first loss call, so a config builds without the data).
The category order is ascending ``category_id`` (= mmdet's LVIS/COCO label order).
"""
import json
from typing import Optional, Sequence

import torch
from mmengine.fileio import get_local_path

__all__ = ['ClassImageCounts', 'image_counts_from_ann_file']


def image_counts_from_ann_file(ann_file: str):
    """(image_count per category in ascending id order, number of images) from an annotation file.

    Uses the LVIS ``image_count`` category field when every category has it, otherwise counts
    distinct images per category from ``annotations``.
    """
    try:
        with get_local_path(ann_file) as path, open(path) as f:
            data = json.load(f)
    except FileNotFoundError as e:
        raise FileNotFoundError(
            f'class frequency source ann_file={ann_file!r} not found; set it to the TRAINING '
            f'annotation file or pass the counts explicitly (class_image_counts=[...])') from e
    cats = sorted(data.get('categories', []), key=lambda c: c['id'])
    if not cats:
        raise ValueError(f'{ann_file}: no "categories" to read class frequencies from')
    if all('image_count' in c for c in cats):
        counts = [int(c['image_count']) for c in cats]
    else:
        index = {c['id']: i for i, c in enumerate(cats)}
        seen = set()
        counts = [0] * len(cats)
        for a in data.get('annotations', []):
            key = (a['image_id'], a['category_id'])
            if key not in seen and a['category_id'] in index:
                seen.add(key)
                counts[index[a['category_id']]] += 1
    return counts, len(data.get('images', []))


class ClassImageCounts:
    """Lazy holder of per-class image counts and image frequencies (count / #images).

    Args:
        num_classes: expected number of classes (checked against the source).
        counts: explicit per-class image counts.
        num_images: number of training images (needed with ``counts`` for frequencies).
        ann_file: annotation file to read the counts from (lazily).
        owner: name used in error messages.
    """

    def __init__(self, num_classes: Optional[int], counts: Optional[Sequence[float]] = None,
                 num_images: Optional[int] = None, ann_file: Optional[str] = None,
                 owner: str = 'loss') -> None:
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
            counts, n = image_counts_from_ann_file(self.ann_file)
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
