import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(__file__), '../../../tools/analysis'))
from probe_classifier import ranking_ap  # noqa: E402


def test_ranking_ap_matches_a_hand_computation():
    # ranked: pos, neg, pos, neg -> precision at the hits 1/1 and 2/3 -> AP = (1 + 2/3) / 2
    score = torch.tensor([0.9, 0.1, 0.8, 0.5])
    positive = torch.tensor([True, False, False, True])
    assert abs(ranking_ap(score, positive) - (1 + 2 / 3) / 2) < 1e-6


def test_ranking_ap_perfect_and_worst():
    positive = torch.tensor([True, True, False, False])
    assert ranking_ap(torch.tensor([4., 3., 2., 1.]), positive) == 1.0
    # both positives last: precision 1/3 and 2/4
    assert abs(ranking_ap(torch.tensor([1., 2., 4., 3.]), positive) - (1 / 3 + 2 / 4) / 2) < 1e-6
