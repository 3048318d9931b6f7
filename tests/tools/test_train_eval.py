"""A real detector trains on the built-in data, evaluates with COCO AP, and its checkpoints load
through tools/test.py and --resume with torch's safe (weights_only) loader."""
import glob
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

from conftest import ROOT, shrink_cfg

DEMO = 'configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py'
ITERS = 30


@pytest.fixture(scope='module')
def trained(tiny_data, tmp_path_factory):
    """Train the demo detector for ITERS iterations on the tiny data (overfitting it)."""
    import hce_det  # noqa: F401
    from mmengine.config import Config
    from mmengine.runner import Runner
    work = tmp_path_factory.mktemp('train')
    cfg = shrink_cfg(Config.fromfile(osp.join(ROOT, DEMO)), tiny_data, work, max_iters=ITERS,
                     batch_size=4)
    cfg.optim_wrapper.optimizer.lr = 0.02
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    return runner, np.asarray(losses), str(work), cfg


@pytest.mark.slow
def test_loss_decreases(trained):
    _, losses, _, _ = trained
    assert len(losses) == ITERS and np.isfinite(losses).all()
    assert losses[-5:].mean() < 0.8 * losses[:5].mean(), losses


@pytest.mark.slow
def test_evaluation_returns_coco_metrics(trained):
    runner, _, _, _ = trained
    metrics = runner.val()
    for k in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75', 'coco/bbox_mAP_s'):
        assert k in metrics
    assert 0.0 <= metrics['coco/bbox_mAP_50'] <= 1.0
    assert metrics['coco/bbox_mAP_50'] >= metrics['coco/bbox_mAP']
    from tools.analysis.summary import per_class_ap
    assert set(per_class_ap(metrics)) == set(runner.val_dataloader.dataset.metainfo['classes'])


def _spy_torch_load(monkeypatch):
    calls = []
    real = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get('weights_only', 'default'))
        return real(*args, **kwargs)
    monkeypatch.setattr(torch, 'load', spy)
    return calls


@pytest.mark.slow
def test_checkpoint_to_tools_test(trained, tiny_data, tmp_path, monkeypatch):
    _, _, work, _ = trained
    ckpt = osp.join(work, f'iter_{ITERS}.pth')
    assert osp.isfile(ckpt)
    calls = _spy_torch_load(monkeypatch)
    from tools.test import main as test_main
    out = tmp_path / 'preds.pkl'
    opts = [f'{k}.dataset.data_root={tiny_data}' for k in ('val_dataloader', 'test_dataloader')]
    opts += [f'test_evaluator.ann_file={tiny_data}annotations/context_val.json']
    metrics = test_main([osp.join(ROOT, DEMO), ckpt, '--work-dir', str(tmp_path),
                         '--out', str(out), '--cfg-options', *opts])
    assert 'coco/bbox_mAP' in metrics
    assert calls and all(c in ('default', True) for c in calls)  # safe loader stayed on
    preds = pickle.load(open(out, 'rb'))
    assert len(preds) == 12 and 'pred_instances' in preds[0]


@pytest.mark.slow
def test_resume_continues_from_checkpoint(trained, tiny_data, monkeypatch):
    _, losses, work, cfg = trained
    calls = _spy_torch_load(monkeypatch)
    from tools.train import main as train_main
    opts = [f'train_dataloader.dataset.data_root={tiny_data}',
            f'val_dataloader.dataset.data_root={tiny_data}',
            f'test_dataloader.dataset.data_root={tiny_data}',
            f'val_evaluator.ann_file={tiny_data}annotations/context_val.json',
            f'train_cfg.max_iters={ITERS + 2}', f'train_cfg.val_interval={ITERS + 100}',
            'train_dataloader.batch_size=4', 'default_hooks.logger.interval=1',
            'param_scheduler=[]']
    runner = train_main([osp.join(ROOT, DEMO), '--work-dir', work, '--resume',
                         '--cfg-options', *opts])
    assert runner.iter == ITERS + 2
    assert calls and all(c in ('default', True) for c in calls)
    hist = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(hist) == ITERS + 2  # resumed history + 2 new iterations
    np.testing.assert_allclose(hist[:ITERS], losses)


@pytest.mark.slow
def test_checkpoint_needs_only_allow_listed_globals(trained):
    from hce_det.compat import checkpoint_safe_globals
    _, _, work, _ = trained
    ckpt = glob.glob(osp.join(work, 'iter_*.pth'))[0]
    registered = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()  # see what plain torch would refuse
    try:
        unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(ckpt))
    finally:
        torch.serialization.add_safe_globals(registered)
    allowed = {g[1] if isinstance(g, tuple) else f'{g.__module__}.{g.__qualname__}'
               for g in checkpoint_safe_globals()}
    assert unsafe, 'mmengine checkpoints hold non-tensor globals; the compat layer is needed'
    assert unsafe <= allowed, unsafe - allowed
