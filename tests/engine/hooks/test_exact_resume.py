"""Exact resume: N uninterrupted iterations vs resume from its iteration-k checkpoint; the losses
of iterations k+1..N must be bit-equal (CPU, seeded, deterministic, weights_only loading)."""
import os.path as osp
import random

import numpy as np
import pytest
import torch

from conftest import point_two_domain, shrink_cfg

N_ITERS, STOP_AT = 4, 2


def _loss_history(runner) -> dict:
    """All ``train/loss*`` scalars of the run, one value per iteration (message hub history,
    which mmengine restores on resume)."""
    hub = runner.message_hub
    return {k: np.asarray(v.data[0]) for k, v in hub.log_scalars.items()
            if k.startswith('train/') and 'loss' in k}


def _run(cfg_path, load_cfg, data_root, work_dir, name, resume_from=None, hook=True,
         tweak=None):
    from mmengine.runner import Runner
    cfg = shrink_cfg(load_cfg(cfg_path), data_root, work_dir, max_iters=N_ITERS, batch_size=2)
    cfg.experiment_name = name  # runners in one process must not share a MessageHub
    cfg.default_hooks.checkpoint.interval = STOP_AT
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    cfg.default_hooks.pop('visualization', None)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.randomness = dict(seed=0, deterministic=True)
    hooks = list(cfg.get('custom_hooks', []))
    if hook:
        hooks.append(dict(type='ExactResumeHook'))
    cfg.custom_hooks = hooks
    if resume_from is not None:
        cfg.resume, cfg.load_from = True, resume_from
    if tweak is not None:
        tweak(cfg, data_root)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def _disturb_global_rng():
    """A resumed process starts from different generator states than the crashed one had."""
    random.seed(12345), np.random.seed(12345), torch.manual_seed(12345)


def _train_then_resume(cfg_path, load_cfg, data_root, tmp_path, tweak=None):
    """Losses of an uninterrupted N-iteration run, and of a fresh process-like run resumed from
    that run's iteration-k checkpoint (the file a run killed after iteration k leaves behind)."""
    full = _run(cfg_path, load_cfg, data_root, tmp_path / 'full', 'full', tweak=tweak)
    ckpt = osp.join(tmp_path / 'full', f'iter_{STOP_AT}.pth')
    assert osp.isfile(ckpt)
    _disturb_global_rng()
    resumed = _run(cfg_path, load_cfg, data_root, tmp_path / 'resumed', 'resumed',
                   resume_from=ckpt, tweak=tweak)
    assert resumed.iter == N_ITERS
    return _loss_history(full), _loss_history(resumed), ckpt


def _assert_tail_equal(ref, got):
    assert set(ref) == set(got) and 'train/loss' in ref
    for k in ref:
        assert len(ref[k]) == len(got[k]) == N_ITERS, k
        np.testing.assert_array_equal(got[k][STOP_AT:], ref[k][STOP_AT:], err_msg=k)


def _bbn_counts(cfg, data_root):
    cfg.model.roi_head.bbox_head.class_counts_file = osp.join(
        data_root, 'annotations/lt_train.json')


def _da_two_domain(cfg, data_root):
    point_two_domain(cfg, data_root, cfg.train_dataloader.batch_size)  # 1 source + 1 target


CASES = {
    'vanilla': ('configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py', None),
    'hce': ('configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py', None),
    'da': ('configs/cr_da/synth/da-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py',
           _da_two_domain),
    'bbn': ('configs/recognition/bbn_faster-rcnn_r18-thin_fpn_1k_synth-lt.py', _bbn_counts),
}


@pytest.mark.slow
@pytest.mark.parametrize('case', list(CASES))
def test_resume_is_bitwise_exact(case, load_cfg, tiny_data, tmp_path):
    cfg_path, tweak = CASES[case]
    ref, got, ckpt = _train_then_resume(cfg_path, load_cfg, tiny_data, tmp_path, tweak=tweak)
    _assert_tail_equal(ref, got)
    if case == 'vanilla':
        # negative control (the comparison can fail): resuming without the hook diverges
        _disturb_global_rng()
        plain = _run(cfg_path, load_cfg, tiny_data, tmp_path / 'plain', 'plain',
                     resume_from=ckpt, hook=False, tweak=tweak)
        loss = _loss_history(plain)['train/loss']
        assert not np.array_equal(loss[STOP_AT:], ref['train/loss'][STOP_AT:])


def test_rng_state_round_trip_survives_safe_loading(tmp_path):
    """The stored state holds only tensors and python scalars: torch.load(weights_only=True)
    reads it back with no extra globals, and restoring it replays the same numbers."""
    from hce_det.engine.hooks.exact_resume import capture_rng_state, restore_rng_state
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    np.random.randn()  # leaves a cached gaussian in numpy's state
    torch.save(dict(meta=dict(rng_state=capture_rng_state())), tmp_path / 'c.pth')
    expected = (random.random(), np.random.rand(3), np.random.randn(), torch.rand(3))
    state = torch.load(tmp_path / 'c.pth', weights_only=True)['meta']['rng_state']
    assert isinstance(state['numpy']['key'], torch.Tensor)
    restore_rng_state(state)
    got = (random.random(), np.random.rand(3), np.random.randn(), torch.rand(3))
    assert got[0] == expected[0] and got[2] == expected[2]
    np.testing.assert_array_equal(got[1], expected[1])
    assert torch.equal(got[3], expected[3])


def test_load_from_without_resume_keeps_seeded_rng():
    """Fine-tuning (load_from, resume=False) must not rewind the generators."""
    from types import SimpleNamespace
    from hce_det.engine.hooks.exact_resume import ExactResumeHook, capture_rng_state
    torch.manual_seed(0)
    saved = capture_rng_state()
    hook = ExactResumeHook()
    hook.after_load_checkpoint(None, dict(meta=dict(rng_state=saved)))
    torch.rand(5)
    before = torch.get_rng_state()
    hook.before_train_epoch(SimpleNamespace(_resume=False))
    assert torch.equal(torch.get_rng_state(), before)
