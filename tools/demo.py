"""The main job: train and evaluate detectors on the built-in data, side by side.

    python tools/demo.py [--data-root data/hce_synth] [--configs CFG ...] [--max-iters N]

Prints each run's COCO AP table, then one summary row per config (mAP, AP50, AP on the
context-dependent classes, wall time) and the difference to the first config.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from hce_det.engine.launch import build_runner, scale_schedule  # noqa: E402
from hce_det.engine.runs import own_visualizer  # noqa: E402
from hce_det.evaluation.summary import context_ap, format_table  # noqa: E402

DEFAULT_CONFIGS = [
    'configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py',
    'configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py',
]


def run_one(config, data_root, work_root, max_iters=None):
    opts = {'train_dataloader.dataset.data_root': data_root,
            'val_dataloader.dataset.data_root': data_root,
            'test_dataloader.dataset.data_root': data_root,
            'val_evaluator.ann_file': osp.join(data_root, 'annotations/context_val.json'),
            'test_evaluator.ann_file': osp.join(data_root, 'annotations/context_val.json')}
    name = osp.splitext(osp.basename(config))[0]
    t0 = time.time()
    def edit(cfg):
        if max_iters:
            scale_schedule(cfg, max_iters)
        cfg.train_cfg.val_begin = cfg.train_cfg.max_iters + 1  # no val inside train(): once, below
        own_visualizer(cfg)  # each run logs into its own work_dir (not the first run's vis_data/)
    runner = build_runner(config, work_dir=osp.join(work_root, name), cfg_options=opts,
                          cfg_hook=edit)
    runner.train()
    metrics = runner.val()  # final evaluation, printed by CocoMetric (classwise table)
    return dict(name=name, metrics=metrics, seconds=time.time() - t0)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default='data/hce_synth/')
    p.add_argument('--configs', nargs='+', default=DEFAULT_CONFIGS)
    p.add_argument('--work-root', default='work_dirs/demo')
    p.add_argument('--max-iters', type=int, default=300,
                   help='train each config this many iterations (its LR schedule is scaled to '
                        'fit; 0 = as in the config). 300 keeps the two-model demo within 10 min '
                        'on 2 CPU cores.')
    args = p.parse_args(argv)
    data_root = args.data_root.rstrip('/') + '/'
    if not osp.isfile(osp.join(data_root, 'annotations/context_train.json')):
        raise SystemExit(f'{data_root} has no built-in data; run '
                         f'`python tools/make_dataset.py --out {data_root}` first.')
    rows = [run_one(c, data_root, args.work_root, args.max_iters) for c in args.configs]
    for r in rows:
        r['context_AP'] = context_ap(r['metrics'])
    print('\n' + format_table(rows))


if __name__ == '__main__':
    main()
