"""Initial class probabilities of every head of the long_tail ladder, as scored at test time.

What they are (10 classes, synth configs, mmdet init elsewhere):

* softmax CE / Seesaw: about 1/(C+1) = 0.091 per class (and the rest background);
* sigmoid BCE, learnable APA (starts as the sigmoid), Federated: fc_cls weight 0.001, bias -2
  (the reference Gumbel head's init, LongTailBBoxHead's default): sigmoid(-2) = 0.119 per class,
  1.19 summed over the 10 classes;
* Gumbel (+ DropLoss, + AGLU backbone): exp(-e^2) = 6.2e-4 per class, 0.006 summed, about 150x
  below softmax CE;
* EQLv2 (mmdet's init, C+1 sigmoids, foreground scaled by 1 - background): 0.25.

With the constant 0.001 weight every class starts with the same logit, -2 + 0.001 * sum(h) over
the 256 features h of the RoI, so they separate only through their gradients.
"""
import copy
import math
import os.path as osp
import sys

import pytest
import torch

from conftest import ROOT, build_model

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
from ladders import LADDERS  # noqa: E402

from hce_det.models.long_tail import inference_class_probabilities  # noqa: E402

SIGMOID_M2 = 1 / (1 + math.exp(2.0))      # 0.1192
GUMBEL_M2 = math.exp(-math.exp(2.0))      # 6.18e-4
# per-class foreground probability of an all-zero RoI feature, per ladder row
AT_ZERO = {'softmax-ce': 1 / 11, 'sigmoid-bce': SIGMOID_M2, 'gumbel': GUMBEL_M2,
           'gumbel-droploss': GUMBEL_M2, 'apa': SIGMOID_M2, 'apa-droploss': SIGMOID_M2,
           'eqlv2': 0.25, 'federated': SIGMOID_M2, 'aglu-gumbel-droploss': GUMBEL_M2}
ACT = {SIGMOID_M2: lambda z: torch.sigmoid(z), GUMBEL_M2: lambda z: torch.exp(-torch.exp(-z))}
VARIANTS = [v.name for v in LADDERS['long_tail'].variants]


def _head(name, load_cfg):
    cfg = load_cfg(LADDERS['long_tail'].variant(name).config)
    head = build_model(copy.deepcopy(cfg.model.roi_head.bbox_head))
    head.init_weights()
    return head


@pytest.mark.parametrize('name', VARIANTS)
def test_initial_probabilities(name, load_cfg):
    head = _head(name, load_cfg)
    c = head.num_classes
    zero = inference_class_probabilities(head, torch.zeros(3, head.in_channels, 7, 7))
    assert zero.shape == (3, c + 1)
    assert float(zero.sum(1).max()) <= c + 1e-4
    if name in AT_ZERO:
        assert zero[:, :c].flatten().tolist() == pytest.approx([AT_ZERO[name]] * 3 * c,
                                                               rel=1e-4)
    torch.manual_seed(0)
    x = torch.randn(16, head.in_channels, 7, 7).relu()
    p = inference_class_probabilities(head, x)
    assert bool(((p >= 0) & (p <= 1)).all())
    if AT_ZERO.get(name) in ACT:  # constant-initialised sigmoid-family classifier
        with torch.no_grad():
            h = head.relu(head.shared_fcs[1](head.relu(head.shared_fcs[0](x.flatten(1)))))
        want = ACT[AT_ZERO[name]](-2.0 + 0.001 * h.sum(1))
        assert torch.allclose(p[:, :c], want[:, None].expand(-1, c), rtol=1e-4)
        assert bool((p[:, c] == 0).all())            # no background output: score 0


def test_gumbel_starts_two_orders_below_softmax(load_cfg):
    zero = torch.zeros(2, 64, 7, 7)
    soft = inference_class_probabilities(_head('softmax-ce', load_cfg), zero)[:, :-1].sum(1)
    gum = inference_class_probabilities(_head('gumbel', load_cfg), zero)[:, :-1].sum(1)
    sig = inference_class_probabilities(_head('sigmoid-bce', load_cfg), zero)[:, :-1].sum(1)
    assert soft.tolist() == pytest.approx([10 / 11] * 2, rel=1e-4)
    assert sig.tolist() == pytest.approx([10 * SIGMOID_M2] * 2, rel=1e-4)
    assert gum.tolist() == pytest.approx([10 * GUMBEL_M2] * 2, rel=1e-4)
    assert float(soft[0] / gum[0]) > 100
