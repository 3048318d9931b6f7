"""BBN's reversed sampler for detection: a batch sampler that appends, to every batch of the
uniform sampler, images drawn by class-reversed sampling.

Reversed sampling (BBN, Zhou et al. CVPR 2020; facts: megvii-research/BBN
``lib/dataset/imbalance_cifar.py``, ``DUAL_SAMPLER.TYPE: reverse``): a class c is drawn with
probability proportional to ``w_c = n_max / n_c`` (n_c = training samples of class c), then one
sample of that class uniformly; every sample of the uniform stream gets its own reversed partner,
so a BBN batch holds ``batch_size`` uniform and ``batch_size`` reversed samples. For detection a
sample is an image and ``n_c`` the number of training images holding class c.
"""
from typing import Dict, Iterator, List, Optional

import torch
from mmengine.dist import get_dist_info
from torch.utils.data import BatchSampler, Sampler

from mmdet.registry import DATA_SAMPLERS

__all__ = ['ReversedClassBatchSampler', 'class_image_lists', 'reversed_class_weights']


def class_image_lists(dataset) -> Dict[int, List[int]]:
    """``{label: [dataset indices of the images holding it]}`` (labels without images left out)."""
    out: Dict[int, List[int]] = {}
    for i in range(len(dataset)):
        for c in sorted(set(dataset.get_cat_ids(i))):
            out.setdefault(int(c), []).append(i)
    return out


def reversed_class_weights(counts: torch.Tensor) -> torch.Tensor:
    """BBN's reversed-sampler class weights ``n_max / n_c`` (classes with n_c = 0 get 0)."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    w = torch.zeros_like(counts)
    has = counts > 0
    w[has] = counts.max() / counts[has]
    return w


@DATA_SAMPLERS.register_module()
class ReversedClassBatchSampler(BatchSampler):
    """Batches of ``batch_size`` indices from ``sampler`` (the uniform stream) followed by
    ``num_reversed`` indices drawn by BBN's reversed sampler (see the module docstring).

    The reversed images are the *last* ``num_reversed`` images of every batch; a head that treats
    the two streams differently (``BBNBBoxHead(num_reversed_images=...)``) finds them there. No
    aspect-ratio grouping (unlike mmdet's ``AspectRatioBatchSampler``): the images of a batch are
    padded to the largest one.

    Args:
        sampler: the uniform sampler (mmengine passes the dataloader's ``sampler``).
        batch_size: uniform images per batch (the dataloader's ``batch_size``).
        num_reversed: reversed images per batch; None = ``batch_size`` (BBN: one partner per
            sample).
        seed: seed of the reversed draws; None = the uniform sampler's ``seed`` (or 0). The
            generator is re-seeded with ``seed + rank`` (and the epoch, see ``set_epoch``) at the
            start of every pass, so a pass is reproducible and replaying it on resume gives the
            same batches.
        drop_last: drop a last incomplete uniform batch (finite samplers only).
    """

    def __init__(self, sampler: Sampler, batch_size: int, num_reversed: Optional[int] = None,
                 seed: Optional[int] = None, drop_last: bool = False) -> None:
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f'batch_size must be a positive integer, got {batch_size!r}')
        num_reversed = batch_size if num_reversed is None else num_reversed
        if not isinstance(num_reversed, int) or num_reversed < 0:
            raise ValueError(f'num_reversed must be an integer >= 0, got {num_reversed!r}')
        self.sampler = sampler
        self.batch_size = batch_size
        self.num_reversed = num_reversed
        self.drop_last = drop_last
        self.seed = int(seed if seed is not None else (getattr(sampler, 'seed', None) or 0))
        self.rank = get_dist_info()[0]
        self.epoch = 0
        dataset = getattr(sampler, 'dataset', None)
        if dataset is None or not hasattr(dataset, 'get_cat_ids'):
            raise TypeError('ReversedClassBatchSampler needs a sampler with a `dataset` that has '
                            '`get_cat_ids` (an mmdet detection dataset)')
        self.class_images = class_image_lists(dataset)
        if not self.class_images:
            raise ValueError('ReversedClassBatchSampler: the training dataset has no labelled '
                             'instances to sample classes from')
        self.labels = sorted(self.class_images)
        counts = torch.tensor([len(self.class_images[c]) for c in self.labels])
        self.class_weights = reversed_class_weights(counts)

    def class_probabilities(self) -> Dict[int, float]:
        """``{label: probability of drawing it}`` of the reversed stream."""
        p = self.class_weights / self.class_weights.sum()
        return {c: float(v) for c, v in zip(self.labels, p)}

    def draw_reversed(self, n: int, generator: torch.Generator) -> List[int]:
        """``n`` dataset indices: a class by ``n_max / n_c``, then one of its images uniformly."""
        if n == 0:
            return []
        cls = torch.multinomial(self.class_weights, n, replacement=True, generator=generator)
        out = []
        for k in cls.tolist():
            imgs = self.class_images[self.labels[k]]
            out.append(imgs[int(torch.randint(len(imgs), (1,), generator=generator))])
        return out

    def __iter__(self) -> Iterator[List[int]]:
        g = torch.Generator()
        g.manual_seed(self.seed + 1000003 * self.rank + 7919 * self.epoch)
        batch: List[int] = []
        for idx in self.sampler:
            batch.append(int(idx))
            if len(batch) == self.batch_size:
                yield batch + self.draw_reversed(self.num_reversed, g)
                batch = []
        if batch and not self.drop_last:
            yield batch + self.draw_reversed(self.num_reversed, g)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)
