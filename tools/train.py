"""Train a detector with an mmdet-style config (hce_det modules registered on import).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from hce_det.engine.launch import (build_runner, parse_cfg_options,  # noqa: E402
                                   shutdown_distributed)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Train a detector (mmdet 3.x + hce_det)')
    p.add_argument('config')
    p.add_argument('--work-dir', help='where logs and checkpoints go '
                   '(default: work_dirs/<config name>)')
    p.add_argument('--resume', nargs='?', const='auto', default=None,
                   help='resume from CKPT, or from the latest checkpoint in work-dir if no path')
    p.add_argument('--amp', action='store_true', help='automatic mixed precision')
    p.add_argument('--cfg-options', nargs='+', action=parse_cfg_options, default={},
                   help='override config keys, e.g. train_cfg.max_iters=10; an unknown '
                   'top-level key is an error (typo guard), +key=value adds one')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None, exit_process: bool = False):
    """``exit_process``: a distributed run ends the process after leaving its group (see
    ``shutdown_distributed``); the command line sets it."""
    args = parse_args(argv)
    runner = build_runner(args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                          launcher=args.launcher, resume=args.resume, amp=args.amp)
    runner.train()
    shutdown_distributed(exit_process=exit_process)
    return runner


if __name__ == '__main__':
    main(exit_process=True)
