"""Evaluate a checkpoint with an mmdet-style config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl]
                         [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]

Checkpoints are loaded with torch's safe loader (weights_only=True); hce_det.compat allow-lists
the few mmengine classes a checkpoint holds.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from hce_det.engine.launch import (build_runner, parse_cfg_options,  # noqa: E402
                                   shutdown_distributed)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Test a detector (mmdet 3.x + hce_det)')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--work-dir')
    p.add_argument('--out', help='dump raw predictions to this .pkl file')
    p.add_argument('--cfg-options', nargs='+', action=parse_cfg_options, default={},
                   help='override config keys, e.g. test_evaluator.out_json=per_class.json '
                   '(reaches each evaluator of a list that takes it); an unknown top-level key '
                   'is an error, +key=value adds one')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None, exit_process: bool = False):
    """``exit_process``: a distributed run ends the process after leaving its group (see
    ``shutdown_distributed``); the command line sets it."""
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint {args.checkpoint!r} does not exist')
    runner = build_runner(args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                          launcher=args.launcher, load_from=args.checkpoint, out=args.out)
    metrics = runner.test()
    shutdown_distributed(exit_process=exit_process)
    return metrics


if __name__ == '__main__':
    main(exit_process=True)
