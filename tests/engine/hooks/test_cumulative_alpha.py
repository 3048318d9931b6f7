"""CumulativeAlphaHook: BBN's alpha = 1 - (t/T)^2 by epoch and by iteration, its state through a
checkpoint and a resume into a longer schedule."""
import os.path as osp

import pytest
import torch

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from conftest import ROOT, TINY_HEAD as HEAD, no_val, point_head_at, shrink_cfg  # noqa: E402
from hce_det.models.recognition import BBNBBoxHead, ContrastiveBBoxHead  # noqa: E402


# ------------------------------------------------------------------ alpha hook (no runner)
def test_cumulative_alpha_hook_by_epoch_and_iter():
    from types import SimpleNamespace

    from mmengine.logging import MessageHub

    from hce_det.engine.hooks import CumulativeAlphaHook
    model = torch.nn.ModuleDict(dict(bbn=BBNBBoxHead(**HEAD), sc=ContrastiveBBoxHead(**HEAD),
                                     plain=torch.nn.Linear(2, 2)))
    runner = SimpleNamespace(model=model, epoch=2, max_epochs=4, iter=30, max_iters=40,
                             message_hub=MessageHub.get_instance('test_recognition_alpha'))
    hook = CumulativeAlphaHook(by_epoch=True)
    hook.before_train_epoch(runner)
    assert float(model['bbn'].alpha) == pytest.approx(1 - (2 / 4) ** 2)
    assert float(model['sc'].alpha) == pytest.approx(1 - (2 / 4) ** 2)
    hook.before_train_iter(runner, 0)  # by_epoch: iterations do not change alpha
    assert float(model['bbn'].alpha) == pytest.approx(0.75)
    CumulativeAlphaHook().before_train_iter(runner, 0)
    assert float(model['bbn'].alpha) == pytest.approx(1 - (30 / 40) ** 2)
    ckpt = {}
    hook.before_save_checkpoint(runner, ckpt)
    assert ckpt['meta']['cumulative_alpha'] == pytest.approx(
        {'bbn': 1 - 0.75 ** 2, 'sc': 1 - 0.75 ** 2})
    runner.max_iters = 0
    with pytest.raises(ValueError, match='max_iters'):
        CumulativeAlphaHook().before_train_iter(runner, 0)


SYNTH = {m: f'configs/recognition/{m}_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
         for m in ('bbn', 'dive', 'ride', 'sc', 'psc', 'mdcs', 'sef')}


@pytest.mark.slow
def test_alpha_hook_schedule_and_resume(tiny_data, tmp_path, load_cfg):
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    alphas = []

    class Spy(Hook):
        priority = 'LOW'  # after CumulativeAlphaHook (NORMAL)

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            alphas.append((runner.iter, float(runner.model.roi_head.bbox_head.alpha)))

    cfg = shrink_cfg(load_cfg(SYNTH['bbn']), tiny_data, tmp_path / 'a', max_iters=3)
    cfg = no_val(point_head_at(cfg, tiny_data, tmp_path))
    runner = Runner.from_cfg(cfg)
    runner.register_hook(Spy())
    runner.train()
    assert [t for t, _ in alphas] == [0, 1, 2]
    assert [a for _, a in alphas] == pytest.approx([1.0, 1 - (1 / 3) ** 2, 1 - (2 / 3) ** 2])
    ckpt = torch.load(osp.join(str(tmp_path / 'a'), 'iter_3.pth'), weights_only=True)
    assert float(ckpt['state_dict']['roi_head.bbox_head.alpha']) == pytest.approx(5 / 9)
    assert ckpt['meta']['cumulative_alpha']['roi_head.bbox_head'] == pytest.approx(5 / 9)

    # resume the 3-iteration run inside a 5-iteration schedule: the curve continues at t=3
    alphas.clear()
    cfg2 = shrink_cfg(load_cfg(SYNTH['bbn']), tiny_data, tmp_path / 'a', max_iters=5)
    cfg2 = no_val(point_head_at(cfg2, tiny_data, tmp_path))
    cfg2.resume, cfg2.load_from = True, osp.join(str(tmp_path / 'a'), 'iter_3.pth')
    runner2 = Runner.from_cfg(cfg2)
    runner2.register_hook(Spy())
    runner2.train()  # weights-only resume (hce_det.compat allow-lists mmengine's metadata)
    assert alphas == [(3, pytest.approx(1 - (3 / 5) ** 2)), (4, pytest.approx(1 - (4 / 5) ** 2))]


# ------------------------------------------------------- alpha over a rescaled schedule
@pytest.mark.parametrize('iters', [40, 400, 2000])
def test_alpha_spans_the_scaled_run(iters):
    """A synth BBN config rescaled to ``iters`` (compare.py --iters): the hook reads the length
    from the runner, so alpha goes 1 -> 0 over the whole rescaled run."""
    from types import SimpleNamespace

    from mmengine.config import Config
    from mmengine.logging import MessageHub

    from hce_det.engine.hooks import CumulativeAlphaHook
    from hce_det.engine.launch import scale_schedule
    cfg = scale_schedule(Config.fromfile(osp.join(ROOT, SYNTH['bbn'])), iters)
    hooks = [h for h in cfg.custom_hooks if h['type'].endswith('CumulativeAlphaHook')]
    assert len(hooks) == 1 and not hooks[0].get('by_epoch')
    args = {k: v for k, v in hooks[0].items() if k != 'type'}
    hook = CumulativeAlphaHook(**args)
    model = torch.nn.ModuleDict(dict(bbn=BBNBBoxHead(**HEAD)))
    alphas = []
    for t in (0, iters // 2, iters - 1):
        runner = SimpleNamespace(model=model, epoch=0, max_epochs=1, iter=t,
                                 max_iters=cfg.train_cfg.max_iters,
                                 message_hub=MessageHub.get_instance(f'alpha_scaled_{iters}'))
        hook.before_train_iter(runner, 0)
        alphas.append(float(model['bbn'].alpha))
    assert alphas[0] == pytest.approx(1.0)
    assert alphas[1] == pytest.approx(1 - ((iters // 2) / iters) ** 2)
    assert alphas[2] == pytest.approx(1 - ((iters - 1) / iters) ** 2)


def test_scale_schedule_scales_an_explicit_total():
    """An iteration ``total`` given to the hook follows --iters; an epoch total does not."""
    from mmengine.config import Config

    from hce_det.engine.launch import scale_schedule
    cfg = Config(dict(
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=1000),
        custom_hooks=[dict(type='CumulativeAlphaHook', total=800),
                      dict(type='CumulativeAlphaHook', by_epoch=True, total=12),
                      dict(type='CumulativeAlphaHook')],
        param_scheduler=[dict(type='MultiStepLR', by_epoch=False, begin=0, end=1000,
                              milestones=[750, 900])]))
    scale_schedule(cfg, 250)
    assert cfg.custom_hooks[0]['total'] == 200
    assert cfg.custom_hooks[1]['total'] == 12
    assert 'total' not in cfg.custom_hooks[2]
    assert cfg.param_scheduler[0].milestones == [188, 225]
