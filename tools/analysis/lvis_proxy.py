"""Long-tail proxy on the built-in LT split: box-classifier heads/losses compared the LVIS way.

    python tools/analysis/lvis_proxy.py [--data-root data/hce_synth] [--max-iters 500]
        [--methods softmax-ce sigmoid-bce gumbel-droploss apa seesaw eqlv2 federated]
        [--seed 0] [--work-dir work_dirs/lvis_proxy] [--out lvis_proxy.json] [--plot groups.png]

Every method trains the same small Faster R-CNN (R18 half width, from scratch) on ``lt_train``
(imbalance 100) with the same seed, data order and schedule (warm-up, then x0.1 at 75% and 90% of
``--max-iters``), then is evaluated on the balanced ``lt_val`` with HceLVISMetric, r/c/f groups
from ``lt_train``. Prints AP, APr, APc, APf (bbox, %) and the APr difference to the first method;
writes one metrics JSON per method (inputs for ``plot_lvis_groups.py``) and a summary JSON.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from hce_det.engine.launch import build_runner  # noqa: E402
from hce_det.engine.runs import own_visualizer  # noqa: E402

SUFFIX = 'faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
METHODS = ('softmax-ce', 'sigmoid-bce', 'gumbel', 'gumbel-droploss', 'apa', 'apa-droploss',
           'seesaw', 'eqlv2', 'federated')
DEFAULT = ('softmax-ce', 'sigmoid-bce', 'gumbel-droploss', 'apa', 'seesaw', 'eqlv2', 'federated')


def schedule(max_iters, warmup):
    return [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup),
            dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
                 milestones=[int(max_iters * 0.75), int(max_iters * 0.9)], gamma=0.1)]


def run(method, data_root, work_root, max_iters, seed):
    config = f'configs/lvis/{method}_{SUFFIX}'
    ann = lambda name: osp.join(data_root, f'annotations/{name}.json')  # noqa: E731
    opts = {'train_dataloader.dataset.data_root': data_root,
            'val_dataloader.dataset.data_root': data_root,
            'test_dataloader.dataset.data_root': data_root,
            'val_evaluator.ann_file': ann('lt_val'),
            'val_evaluator.frequency_ann_file': ann('lt_train'),
            'test_evaluator.ann_file': ann('lt_val'),
            'test_evaluator.frequency_ann_file': ann('lt_train'),
            'train_cfg.max_iters': max_iters, 'train_cfg.val_interval': max_iters,
            'default_hooks.checkpoint.interval': max_iters,
            'param_scheduler': schedule(max_iters, min(100, max_iters // 5)),
            'randomness.seed': seed}
    from mmengine.config import Config
    loss = Config.fromfile(config).model.roi_head.bbox_head.loss_cls
    if loss.get('ann_file'):
        opts['model.roi_head.bbox_head.loss_cls.ann_file'] = ann('lt_train')
    t0 = time.time()
    work_dir = osp.join(work_root, method)
    runner = build_runner(config, work_dir=work_dir, cfg_options=opts, cfg_hook=own_visualizer)
    runner.train()  # IterBasedTrainLoop validates once, after the last iteration
    metrics = {k[len('val/'):]: v.current() for k, v in runner.message_hub.log_scalars.items()
               if k.startswith('val/lvis/')}
    if not metrics:
        metrics = runner.val()
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'lvis_metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=1)
    get = lambda k: metrics.get(f'lvis/bbox_{k}')  # noqa: E731
    return dict(method=method, config=config, seconds=round(time.time() - t0, 1),
                AP=get('AP'), AP50=get('AP50'), APr=get('APr'), APc=get('APc'), APf=get('APf'),
                metrics_file=osp.join(work_dir, 'lvis_metrics.json'))


def table(rows):
    def f(x):
        return 'n/a' if x is None or x < 0 else f'{100 * x:.1f}'

    def t(x):
        return 'n/a' if x is None or x < 0 else f'{x:.0f}'
    base = rows[0]['APr'] if rows else None
    lines = ['| method | AP | AP50 | APr | APc | APf | ΔAPr | time (s) |',
             '|---|---|---|---|---|---|---|---|']
    for r in rows:
        d = 'n/a' if base is None or r['APr'] is None else f'{100 * (r["APr"] - base):+.1f}'
        lines.append(f'| {r["method"]} | {f(r["AP"])} | {f(r["AP50"])} | {f(r["APr"])} | '
                     f'{f(r["APc"])} | {f(r["APf"])} | {d} | {t(r["seconds"])} |')
    return '\n'.join(lines)


def _resume_rows(work_root, methods):
    """Rows of methods that already have ``<work-dir>/<method>/lvis_metrics.json``."""
    rows = {}
    for m in methods:
        f = osp.join(work_root, m, 'lvis_metrics.json')
        if osp.isfile(f):
            with open(f) as fh:
                met = json.load(fh)
            get = lambda k: met.get(f'lvis/bbox_{k}')  # noqa: E731
            rows[m] = dict(method=m, config=f'configs/lvis/{m}_{SUFFIX}', seconds=-1, AP=get('AP'),
                           AP50=get('AP50'), APr=get('APr'), APc=get('APc'), APf=get('APf'),
                           metrics_file=f)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default='data/hce_synth/')
    p.add_argument('--max-iters', type=int, default=500)
    p.add_argument('--methods', nargs='+', default=list(DEFAULT), choices=METHODS)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', default='work_dirs/lvis_proxy')
    p.add_argument('--out', default=None, help='summary JSON (default <work-dir>/summary.json)')
    p.add_argument('--plot', default=None, help='also save grouped APr/APc/APf bars to this PNG')
    p.add_argument('--skip-done', action='store_true',
                   help='reuse <work-dir>/<method>/lvis_metrics.json of methods already run')
    args = p.parse_args(argv)
    data_root = args.data_root.rstrip('/') + '/'
    for name in ('lt_train', 'lt_val'):
        if not osp.isfile(osp.join(data_root, f'annotations/{name}.json')):
            p.error(f'{data_root}annotations/{name}.json missing: run '
                    f'python tools/make_dataset.py --out {data_root}')
    rows = []
    done = _resume_rows(args.work_dir, args.methods) if args.skip_done else {}
    for m in args.methods:
        rows.append(done.get(m) or run(m, data_root, args.work_dir, args.max_iters, args.seed))
        print(table(rows), flush=True)
    out = args.out or osp.join(args.work_dir, 'summary.json')
    with open(out, 'w') as f:
        json.dump(dict(max_iters=args.max_iters, seed=args.seed, rows=rows), f, indent=1)
    print(f'\nlong-tail proxy, {args.max_iters} iters, seed {args.seed} (bbox, %):')
    print(table(rows))
    if args.plot:
        from plot_lvis_groups import load_groups, plot
        plot({r['method']: load_groups(r['metrics_file']) for r in rows}, args.plot,
             f'synth-LT proxy, {args.max_iters} iters')
        print(f'wrote {args.plot}')
    return rows


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    main()
