"""Config -> Runner, shared by tools/train.py and tools/test.py.

Adds to mmengine's own flow only what our stack needs: CLI overrides in mmdet's style, and a
distributed path that also works on CPU-only machines (gloo), see :func:`init_cpu_distributed`.
"""
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

parse_cfg_options = DictAction


def init_cpu_distributed(cfg: Config) -> None:
    """Start the gloo process group ourselves when no GPU is present.

    mmengine 0.10.7's ``pytorch`` launcher calls ``torch.cuda.set_device`` and fails on a CPU-only
    machine (open-mmlab/mmengine#1320-style report); the Runner skips its own ``init_dist`` when a
    process group already exists. DDP on CPU also needs ``device_ids=None``.
    """
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def build_runner(config, work_dir=None, cfg_options=None, launcher='none', resume=None,
                 amp=False, load_from=None, out=None, cfg_hook=None):
    """Build an mmengine Runner from a config path with mmdet-style CLI semantics.

    ``cfg_hook(cfg)``, if given, may edit the loaded config before the Runner is built.
    """
    import hce_det  # noqa: F401  registers modules and applies hce_det.compat
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} does not exist')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg_hook is not None:
        cfg = cfg_hook(cfg) or cfg
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config))[0])
    if amp:  # CpuAmpOptimWrapper: AmpOptimWrapper on GPUs, bfloat16 autocast on CPU
        if cfg.optim_wrapper.get('type', 'OptimWrapper') not in ('AmpOptimWrapper',
                                                                  'CpuAmpOptimWrapper'):
            cfg.optim_wrapper.type = 'CpuAmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if resume is not None:
        cfg.resume = True
        cfg.load_from = None if resume == 'auto' else resume
    if load_from is not None:
        cfg.load_from = load_from
    if out is not None:
        if not out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl file, got {out!r}')
        dump = dict(type='DumpDetResults', out_file_path=out)
        ev = cfg.test_evaluator
        cfg.test_evaluator = (list(ev) if isinstance(ev, (list, tuple)) else [ev]) + [dump]
    if launcher != 'none' and not torch.cuda.is_available():
        os.environ.setdefault('LOCAL_RANK', '0')
        init_cpu_distributed(cfg)
    if 'runner_type' in cfg:
        from mmengine.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def scale_schedule(cfg: Config, max_iters: int) -> Config:
    """Shorten/lengthen an iteration-based schedule, keeping its shape.

    ``train_cfg.max_iters`` is set and everything tied to it follows: MultiStepLR milestones and
    scheduler ``end`` points scale by the same ratio, ``val_interval`` and the checkpoint
    interval stay "at the end" when they were. (Overriding only ``train_cfg.max_iters`` leaves
    milestones computed from the old length in place.)
    """
    old = cfg.train_cfg.max_iters
    ratio = max_iters / old
    cfg.train_cfg.max_iters = max_iters
    if cfg.train_cfg.get('val_interval', old) >= old:
        cfg.train_cfg.val_interval = max_iters
    ckpt = cfg.get('default_hooks', {}).get('checkpoint')
    if ckpt is not None and ckpt.get('interval', old) >= old and not ckpt.get('by_epoch', True):
        ckpt.interval = max_iters
    for sch in cfg.get('param_scheduler') or []:
        if 'milestones' in sch:
            sch.milestones = [max(1, int(round(m * ratio))) for m in sch.milestones]
        if sch.get('end', 0) >= old:
            sch.end = max_iters
        elif 'end' in sch:  # warm-up: keep its length, but within the first fifth
            sch.end = min(sch.end, max(1, max_iters // 5))
    return cfg
