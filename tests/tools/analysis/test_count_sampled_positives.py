"""tools/analysis/count_sampled_positives.py: sampled positives per image under several samplers."""
import argparse
import os.path as osp
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import count_sampled_positives as csp  # noqa: E402

pytestmark = pytest.mark.usefixtures('one_thread')


def test_parse_sampler():
    assert csp.parse_sampler('64x0.5') == dict(type='RandomSampler', num=64, pos_fraction=0.5,
                                               neg_pos_ub=-1, add_gt_as_proposals=True)
    for bad in ('64', '64x0', 'ax0.5', '0x0.5', '64x1.5'):
        with pytest.raises(argparse.ArgumentTypeError):
            csp.parse_sampler(bad)


def test_each_sampler_takes_min_of_available_and_its_quota(tiny_data, capsys):
    """RandomSampler keeps every positive up to int(num * pos_fraction): per image the count is
    min(available, quota) for each setting, all on the same assignment (ground truth added once
    per setting, not once per setting on a shared assignment)."""
    counts = csp.main(['hce', 'vanilla-roi64', '--batches', '2', '--data-root', tiny_data,
                       '--samplers', '128x0.25', '64x0.25', '8x0.25', '64x0.5'])
    avail = counts['available']
    assert len(avail) == 16 and min(avail) >= 1  # 2 batches of 8; every image has a box
    for name, quota in (('128x0.25', 32), ('64x0.25', 16), ('8x0.25', 2), ('64x0.5', 32)):
        assert counts[name] == [min(a, quota) for a in avail], name
    assert counts['8x0.25'] != counts['64x0.5']  # the quota binds somewhere
    out = capsys.readouterr().out
    assert 'sampled 64x0.5' in out and '(16 images)' in out


def test_missing_checkpoint_is_a_clear_error(tiny_data):
    with pytest.raises(SystemExit, match='no such checkpoint'):
        csp.main(['hce', 'vanilla-roi64', '--checkpoint', '/nonexistent.pth',
                  '--data-root', tiny_data])
