"""DropLoss's frequency threshold moved to another training-set size (pure functions)."""
import os.path as osp
import sys

import pytest

from conftest import ROOT
from hce_det.datasets.lvis_frequency import lvis_frequency
from hce_det.models.long_tail.class_freq import (DROPLOSS_LVIS_THR,
                                                 LVIS_V1_ANNOTATED_TRAIN_IMAGES,
                                                 rare_by_frequency, translate_freq_thr)

# image_count of the 10 classes of the built-in lt_train (600 images, data seed 0)
SYNTH_LT_TRAIN = [128, 162, 26, 35, 401, 174, 24, 77, 11, 5]


def test_translation_keeps_the_image_count():
    assert translate_freq_thr(LVIS_V1_ANNOTATED_TRAIN_IMAGES) == pytest.approx(DROPLOSS_LVIS_THR)
    assert DROPLOSS_LVIS_THR * LVIS_V1_ANNOTATED_TRAIN_IMAGES == pytest.approx(109.33, abs=0.01)
    assert translate_freq_thr(600) == pytest.approx(0.0011 * 99388 / 600)
    assert translate_freq_thr(600) == pytest.approx(0.1822, abs=1e-4)
    assert translate_freq_thr(1000, ref_thr=0.01, ref_num_images=100) == pytest.approx(0.001)
    with pytest.raises(ValueError, match='num_images'):
        translate_freq_thr(0)


def test_rare_set_is_the_rare_and_common_groups():
    """~109 images is just above LVIS's common/frequent boundary (100 images): the translated
    threshold drops the negatives of the r and c classes, here as on LVIS."""
    thr = translate_freq_thr(600)
    rare = rare_by_frequency(SYNTH_LT_TRAIN, 600, thr)
    assert rare == [lvis_frequency(n) != 'f' for n in SYNTH_LT_TRAIN]
    assert sum(rare) == 6
    # the synth configs' hand-translated value selects the same classes
    assert rare_by_frequency(SYNTH_LT_TRAIN, 600, 0.17) == rare
    # where the two differ: a class with 101-109 images is frequent but still dropped
    assert rare_by_frequency([105], 600, thr) == [True] and lvis_frequency(105) == 'f'
    assert rare_by_frequency([105], 600, 0.17) == [False]


@pytest.mark.parametrize('variant', ['gumbel-droploss', 'apa-droploss', 'aglu-gumbel-droploss'])
def test_synth_droploss_rows_use_a_threshold_with_the_same_rare_set(variant, load_cfg):
    sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
    from ladders import LADDERS
    cfg = load_cfg(LADDERS['long_tail'].variant(variant).config)
    thr = cfg.model.roi_head.bbox_head.loss_cls.freq_thr
    assert rare_by_frequency(SYNTH_LT_TRAIN, 600, thr) == \
        rare_by_frequency(SYNTH_LT_TRAIN, 600, translate_freq_thr(600))
