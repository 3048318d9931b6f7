"""FreezeExceptHook: only the named parameters train; frozen BatchNorm stays in eval mode."""
from types import SimpleNamespace

import pytest
import torch.nn as nn

pytest.importorskip('mmdet')
from hce_det.engine.hooks import FreezeExceptHook  # noqa: E402


def _runner():
    model = nn.ModuleDict(dict(backbone=nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)),
                               head=nn.ModuleDict(dict(fc=nn.Linear(4, 2),
                                                       router_fc=nn.Linear(4, 1)))))
    logs = []
    return SimpleNamespace(model=model, logger=SimpleNamespace(info=logs.append)), logs


def test_only_prefixed_parameters_train_and_frozen_bn_stays_eval():
    runner, logs = _runner()
    hook = FreezeExceptHook(trainable='head.router_')
    hook.before_train(runner)
    trainable = [n for n, p in runner.model.named_parameters() if p.requires_grad]
    assert trainable == ['head.router_fc.weight', 'head.router_fc.bias']
    assert 'training 2 parameter tensors' in logs[0]
    runner.model.train()  # the train loop does this; the hook puts frozen BN back
    assert runner.model['backbone'][1].training
    hook.before_train_iter(runner, 0)
    assert not runner.model['backbone'][1].training
    assert runner.model['head'].training


def test_prefix_matching_nothing_is_an_error():
    runner, _ = _runner()
    with pytest.raises(ValueError, match=r"no parameter starts with \['roi_head'\]"):
        FreezeExceptHook(trainable=['roi_head']).before_train(runner)
    with pytest.raises(ValueError, match='at least one'):
        FreezeExceptHook(trainable=[])
