"""tools/analysis/probe_embedding.py: the image-level AP and the probe head."""
import os.path as osp
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
from probe_embedding import ProbeHead, image_ap  # noqa: E402


def test_image_ap_against_hand_computation():
    # ranking: pos, neg, pos, neg -> precision at the hits 1/1 and 2/3 -> AP = (1 + 2/3) / 2
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    assert image_ap(scores, y) == pytest.approx((1 + 2 / 3) / 2)
    assert image_ap(np.array([0.1, 0.9]), np.array([1.0, 0.0])) == pytest.approx(0.5)
    assert image_ap(np.array([0.3, 0.2]), np.array([0.0, 0.0])) == 0.0  # no positive


def test_probe_head_is_gap_plus_gmp_of_its_class_maps():
    torch.manual_seed(0)
    head = ProbeHead(channels=4, num_classes=3, num_convs=1, level=1)
    feats = [torch.randn(2, 4, 8, 8), torch.randn(2, 4, 5, 5)]
    maps = head.cat_conv(torch.relu(head.convs[0](feats[1])))
    expected = maps.mean((2, 3)) + maps.flatten(2).max(2).values
    assert torch.allclose(head(feats), expected)


def test_mix_head_starts_as_the_plain_head_and_can_read_other_classes():
    torch.manual_seed(0)
    plain = ProbeHead(channels=4, num_classes=3, num_convs=1, level=1)
    torch.manual_seed(0)
    mixed = ProbeHead(channels=4, num_classes=3, num_convs=1, level=1, mix=True)
    feats = [torch.randn(2, 4, 8, 8), torch.randn(2, 4, 5, 5)]
    assert torch.allclose(mixed(feats), plain(feats))  # identity at init
    with torch.no_grad():
        mixed.mix.weight[0, 1] = 2.0  # class 0's score now reads class 1's
    out, base = mixed(feats), plain(feats)
    assert torch.allclose(out[:, 0], base[:, 0] + 2.0 * base[:, 1], atol=1e-6)
    assert torch.allclose(out[:, 1:], base[:, 1:])
