"""tools/analysis/probe_channel_groups.py: SEF's channel grouping measured on RoI features."""
import os.path as osp
import sys

import pytest
import torch

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
from probe_channel_groups import channel_group_stats  # noqa: E402


def _orthogonal_maps(n: int, k: int, hw: int = 16) -> torch.Tensor:
    """(n, k, hw) maps, pairwise orthogonal within each RoI (rows of a QR factor)."""
    q, _ = torch.linalg.qr(torch.randn(n, hw, k, generator=torch.Generator().manual_seed(0)))
    return q.transpose(1, 2)


def test_four_groups_of_collinear_maps_are_four_distinct_maps():
    """8 channels in 4 groups of 2; each group one map (scaled by 1 and -3): R^2 is 1 inside a
    group, 0 across, and R has 4 equal non-zero eigenvalues -> participation ratio 4."""
    base = _orthogonal_maps(3, 4)                                  # (3, 4, 16)
    feats = torch.stack([base[:, g] * s for g in range(4) for s in (1.0, -3.0)], 1)
    s = channel_group_stats(feats.view(3, 8, 4, 4), num_groups=4)
    assert s['channels'] == 8 and s['rois'] == 3
    assert s['intra'] == pytest.approx(1.0, abs=1e-5)
    assert s['inter'] == pytest.approx(0.0, abs=1e-5)
    assert s['distinct'] == pytest.approx(4.0, rel=1e-4)


def test_orthogonal_channels_are_all_distinct():
    """8 orthogonal channel maps: R = I, no correlation anywhere, participation ratio 8."""
    s = channel_group_stats(_orthogonal_maps(2, 8).reshape(2, 8, 4, 4), num_groups=4)
    assert s['intra'] == pytest.approx(0.0, abs=1e-5)
    assert s['inter'] == pytest.approx(0.0, abs=1e-5)
    assert s['distinct'] == pytest.approx(8.0, rel=1e-4)
