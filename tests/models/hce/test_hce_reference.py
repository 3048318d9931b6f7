"""HCE losses and detections equal those recorded from the implementation before the family
redesign (commit 339ff52, HCERoIHead / HCECascadeRoIHead written per class) on a fixed batch with
the same seeded weights: ``reference/hce_reference.pt``, made by ``reference/make_reference.py``."""
import os.path as osp

import pytest
import torch

from reference.make_reference import CASES, record

pytestmark = pytest.mark.usefixtures('one_thread')
REFERENCE = osp.join(osp.dirname(osp.abspath(__file__)), 'reference', 'hce_reference.pt')


@pytest.mark.parametrize('case', list(CASES))
def test_losses_and_detections_equal_the_recorded_reference(case):
    ref = torch.load(REFERENCE)[case]
    now = record(*CASES[case])
    assert now['weights'] == pytest.approx(ref['weights'], rel=1e-12)  # same initial weights
    assert sorted(now['losses']) == sorted(ref['losses'])
    for key, value in ref['losses'].items():
        torch.testing.assert_close(now['losses'][key], value, rtol=1e-5, atol=1e-6, msg=key)
    for a, b in zip(now['preds'], ref['preds']):
        for key in ('bboxes', 'scores', 'labels'):
            torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-5, msg=key)
