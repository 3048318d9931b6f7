"""Numerical safety: every long-tail head/loss config (APA, AGLU backbone, DropLoss, Gumbel,
EQLv2, Seesaw, federated, sigmoid/softmax CE) trains a few iterations under mixed precision
(CpuAmpOptimWrapper: bfloat16 autocast on CPU) with finite losses and finite weights."""
import glob
import os.path as osp

import pytest
import torch

from conftest import ROOT, shrink_cfg

LT_CONFIGS = sorted(osp.relpath(p, ROOT) for p in
                    glob.glob(osp.join(ROOT, 'configs/lvis/*_synth-lt.py')))
STEPS = 2


def _retarget(obj, root):
    """Point every 'data/hce_synth/...' string of a config (e.g. a loss's ann_file) at ``root``."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            obj[k] = _retarget(v, root)
    elif isinstance(obj, list):
        return [_retarget(v, root) for v in obj]
    elif isinstance(obj, str) and obj.startswith('data/hce_synth/'):
        return osp.join(root, obj[len('data/hce_synth/'):])
    return obj


@pytest.fixture(scope='module')
def lt_batches(tiny_data, tmp_path_factory):
    """STEPS training batches (1 image each: bfloat16 convolutions are slow on CPUs without
    native bf16) of the long-tailed split, built once."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    import hce_det  # noqa: F401
    init_default_scope('mmdet')
    cfg = shrink_cfg(Config.fromfile(osp.join(ROOT, LT_CONFIGS[0])), tiny_data,
                     tmp_path_factory.mktemp('lt'), batch_size=1)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    it = iter(loader)
    return [next(it) for _ in range(STEPS)]


def test_long_tail_configs_exist():
    names = ' '.join(LT_CONFIGS)
    for method in ('apa', 'aglu', 'droploss', 'gumbel', 'eqlv2', 'seesaw', 'federated'):
        assert method in names, method


@pytest.mark.slow
@pytest.mark.parametrize('cfg_path', LT_CONFIGS, ids=[osp.basename(p)[:-3] for p in LT_CONFIGS])
def test_bf16_autocast_training_stays_finite(cfg_path, load_cfg, tiny_data, lt_batches):
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    torch.manual_seed(0)
    cfg = load_cfg(cfg_path)
    model = MODELS.build(_retarget(cfg.model, tiny_data))
    model.init_weights()
    model.train()
    wrapper = build_optim_wrapper(model, dict(
        type='CpuAmpOptimWrapper', dtype='bfloat16', clip_grad=dict(max_norm=10),
        optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4)))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    seen_dtypes = set()
    handle = model.roi_head.bbox_head.register_forward_hook(
        lambda m, i, o: seen_dtypes.update(t.dtype for t in o if torch.is_tensor(t)))
    for step, batch in enumerate(lt_batches):
        log_vars = model.train_step(batch, wrapper)
        for name, value in log_vars.items():
            assert torch.isfinite(value).all(), f'{cfg_path}: {name}={value} at step {step}'
    handle.remove()
    assert torch.bfloat16 in seen_dtypes, 'the RoI head did not run under bfloat16 autocast'
    for name, p in model.named_parameters():
        assert torch.isfinite(p).all(), f'{cfg_path}: parameter {name} is not finite'
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters()), 'no update'
