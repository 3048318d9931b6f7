"""ReversedClassBatchSampler (BBN's dual sampler for detection): batch layout, BBN's reversed
class probabilities n_max / n_c, reproducible passes, and the bbn config's dataloader."""
import pytest
import torch

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from hce_det.datasets.samplers import (ReversedClassBatchSampler,  # noqa: E402
                                       class_image_lists, reversed_class_weights)
from conftest import shrink_cfg  # noqa: E402


class _Dataset:
    """100 images: 90 hold class 0, 9 class 1 (and class 0), 1 class 2."""

    def __init__(self):
        self.cats = [[0]] * 90 + [[1, 0]] * 9 + [[2]]

    def __len__(self):
        return len(self.cats)

    def get_cat_ids(self, i):
        return self.cats[i]


class _Sampler(torch.utils.data.Sampler):
    def __init__(self, dataset, seed=3):
        self.dataset, self.seed = dataset, seed

    def __iter__(self):
        return iter(range(len(self.dataset)))

    def __len__(self):
        return len(self.dataset)


def test_class_lists_and_reversed_weights():
    ds = _Dataset()
    lists = class_image_lists(ds)
    assert [len(lists[c]) for c in (0, 1, 2)] == [99, 9, 1]
    assert lists[2] == [99]
    w = reversed_class_weights(torch.tensor([99, 9, 1, 0]))
    assert w.tolist() == pytest.approx([1.0, 11.0, 99.0, 0.0])


def test_batches_are_uniform_then_reversed_with_bbn_probabilities():
    ds = _Dataset()
    bs = ReversedClassBatchSampler(_Sampler(ds), batch_size=4)
    assert bs.num_reversed == 4 and len(bs) == 25
    probs = bs.class_probabilities()
    assert probs[2] == pytest.approx(99 / 111) and probs[0] == pytest.approx(1 / 111)
    batches = list(bs)
    assert all(len(b) == 8 for b in batches)
    assert [b[:4] for b in batches] == [list(range(i, i + 4)) for i in range(0, 100, 4)]
    rev = torch.tensor([i for b in batches for i in b[4:]])
    # image 99 is the only one with class 2: drawn with probability 99/111
    assert (rev == 99).float().mean().item() == pytest.approx(99 / 111, abs=0.06)
    assert ((rev >= 90) & (rev < 99)).float().mean().item() == pytest.approx(11 / 111, abs=0.05)
    # a pass is reproducible (resume replays it); another epoch draws others
    assert list(bs) == batches
    bs.set_epoch(1)
    assert list(bs) != batches
    assert [len(b) for b in ReversedClassBatchSampler(_Sampler(ds), 3, num_reversed=1)][-1] == 2


def test_bad_arguments():
    ds = _Dataset()
    with pytest.raises(ValueError, match='num_reversed'):
        ReversedClassBatchSampler(_Sampler(ds), 2, num_reversed=-1)
    with pytest.raises(TypeError, match='get_cat_ids'):
        ReversedClassBatchSampler(list(range(3)), 2)


def test_bbn_config_dataloader_appends_reversed_images(tiny_data, tmp_path, load_cfg):
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    init_default_scope('mmdet')
    cfg = shrink_cfg(load_cfg('configs/recognition/bbn_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'),
                     tiny_data, tmp_path, batch_size=2)
    assert cfg.model.roi_head.bbox_head.num_reversed_images == 'half'
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    assert isinstance(loader.batch_sampler, ReversedClassBatchSampler)
    batch = next(iter(loader))
    assert len(batch['inputs']) == 4  # 2 uniform + 2 reversed
