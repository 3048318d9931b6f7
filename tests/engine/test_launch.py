"""hce_det/engine/launch.py: building a Runner from a config (clear errors, --cfg-options checks,
the class-count check added to every config), scaling a schedule, leaving a process group."""
import os.path as osp

import pytest

from conftest import ROOT
from hce_det.engine.launch import build_runner, scale_schedule

DEMO = osp.join(ROOT, 'configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py')


def test_scale_schedule_keeps_shape(load_cfg):
    cfg = load_cfg('configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    assert cfg.train_cfg.max_iters == 1000
    scale_schedule(cfg, 400)
    assert cfg.train_cfg.max_iters == 400 and cfg.train_cfg.val_interval == 400
    assert cfg.default_hooks.checkpoint.interval == 400
    warm, steps = cfg.param_scheduler
    assert steps.milestones == [300, 360] and steps.end == 400
    assert warm.end == 80  # warm-up kept within the first fifth


def test_missing_config_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match='nope.py'):
        build_runner('configs/nope.py')


def test_out_must_be_pickle(tmp_path):
    with pytest.raises(ValueError, match=r'--out must be a \.pkl'):
        build_runner(DEMO, work_dir=str(tmp_path), out='preds.json')


DA = osp.join(ROOT,
              'configs/cr_da/synth/da-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py')


def test_every_config_gets_the_class_count_check(load_cfg):
    from hce_det.engine.launch import add_class_count_check
    cfg = load_cfg('configs/lvis/apa_faster-rcnn_r18-thin_fpn_1k_synth-lt.py')
    assert 'NumClassCheckHook' not in str(cfg.get('custom_hooks'))  # the config has no check
    assert [h['type'] for h in add_class_count_check(cfg).custom_hooks] == ['ClassCountCheckHook']
    cfg.custom_hooks = [dict(type='NumClassCheckHook'), dict(type='FiniteLossHook')]
    assert [h['type'] for h in add_class_count_check(cfg).custom_hooks] == [
        'FiniteLossHook', 'ClassCountCheckHook']  # mmdet's hook replaced, not run twice
    assert [h['type'] for h in add_class_count_check(cfg).custom_hooks] == [
        'FiniteLossHook', 'ClassCountCheckHook']  # idempotent


def test_cfg_options_typo_is_an_error_naming_the_closest_key():
    with pytest.raises(ValueError, match=r"no key 'trian_cfg'.*Closest existing keys: train_cfg"
                                         r'.*\+trian_cfg\.max_iters=\.\.\.'):
        build_runner(DEMO, cfg_options={'trian_cfg.max_iters': 5})


def test_cfg_options_new_keys_and_runner_keys_are_allowed(load_cfg):
    from hce_det.engine.launch import check_cfg_options
    cfg = load_cfg('configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    assert 'model_wrapper_cfg' not in cfg and 'my_note' not in cfg
    opts = {'+my_note': 'x', 'model_wrapper_cfg.type': 'MMDistributedDataParallel',
            'train_cfg.max_iters': 5}
    assert check_cfg_options(cfg, opts) == {'my_note': 'x', 'train_cfg.max_iters': 5,
                                            'model_wrapper_cfg.type': 'MMDistributedDataParallel'}


def test_evaluator_option_reaches_a_list_of_evaluators(tmp_path, load_cfg):
    """configs/cr_da/README.md's ``test_evaluator.out_json=...``: the synth DA configs have a
    [VOCPerClassAP50Metric, FasterCocoMetric] list; the option goes to the metric that takes it."""
    from hce_det.engine.launch import check_cfg_options
    out = str(tmp_path / 'per_class.json')
    runner = build_runner(DA, work_dir=str(tmp_path), cfg_options={'test_evaluator.out_json': out})
    ev = runner.cfg.test_evaluator
    assert [e['type'] for e in ev] == ['VOCPerClassAP50Metric', 'FasterCocoMetric']
    assert ev[0]['out_json'] == out and 'out_json' not in ev[1]
    from mmdet.registry import METRICS
    assert METRICS.build(ev[0]).out_json == out  # the metric takes it as configured
    cfg = load_cfg(osp.relpath(DA, ROOT))
    assert check_cfg_options(cfg, {'test_evaluator.prefix': 'p'}) == {  # every metric takes it
        'test_evaluator.0.prefix': 'p', 'test_evaluator.1.prefix': 'p'}
    assert check_cfg_options(cfg, {'test_evaluator.1.prefix': 'q'}) == {
        'test_evaluator.1.prefix': 'q'}
    with pytest.raises(ValueError, match=r"none of the test_evaluator list .* takes 'out_jsn'"):
        check_cfg_options(cfg, {'test_evaluator.out_jsn': out})
    single = load_cfg(
        'configs/cr_da/da-faster-icr-ccr_faster-rcnn_vgg16_c5_120k_cityscapes-to-foggy.py')
    assert single.test_evaluator.type == 'VOCPerClassAP50Metric'  # one evaluator: unchanged
    assert check_cfg_options(single, {'test_evaluator.out_json': out}) == {
        'test_evaluator.out_json': out}


def test_shutdown_distributed_leaves_the_group_and_is_a_no_op_without_one(tmp_path):
    import torch.distributed as dist

    from hce_det.engine.launch import shutdown_distributed
    shutdown_distributed()                       # no group: nothing to do, no error
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0,
                            world_size=1)
    try:
        assert dist.is_initialized()
        shutdown_distributed()
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_shutdown_distributed_exit_process_flushes_and_exits_zero(tmp_path, monkeypatch):
    """``exit_process``: after leaving the group, logs flushed and ``os._exit(0)`` (no
    interpreter finalization, where gloo ranks were measured to abort); without a group or
    without the flag the process goes on."""
    import logging
    import os

    import torch.distributed as dist

    from hce_det.engine import launch
    calls = []

    class Exit(Exception):
        pass

    def fake_exit(code):
        calls.append(('exit', code))
        raise Exit
    monkeypatch.setattr(os, '_exit', fake_exit)
    monkeypatch.setattr(logging, 'shutdown', lambda: calls.append(('logging',)))
    assert launch.shutdown_distributed(exit_process=True) is False and calls == []
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0,
                            world_size=1)
    try:
        with pytest.raises(Exit):
            launch.shutdown_distributed(exit_process=True)
        assert calls == [('logging',), ('exit', 0)] and not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store2', rank=0,
                            world_size=1)
    assert launch.shutdown_distributed() is True and len(calls) == 2

