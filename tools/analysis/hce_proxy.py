"""Proxy comparison on the built-in data: vanilla Faster R-CNN vs HCE and its ablations.

    python tools/analysis/hce_proxy.py [--data-root data/hce_synth] [--max-iters 600]
        [--variants vanilla embloss early late both] [--seed 0] [--out proxy.json]

Every variant trains with the same seed, data order and schedule (warm-up, then x0.1 at 75% and
90% of ``--max-iters``), then is evaluated on ``context_val``. Prints overall AP, AP50, the mean AP
of the context-dependent classes (boat, car, buoy, cone) and each of them, and the difference to
the first variant.
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from hce_det.datasets.synthetic import CONTEXT_CLASSES  # noqa: E402
from hce_det.engine.launch import build_runner, scale_schedule  # noqa: E402
from hce_det.engine.runs import own_visualizer  # noqa: E402
from hce_det.evaluation.summary import context_ap, per_class_ap  # noqa: E402

SUFFIX = 'faster-rcnn_r18-thin_fpn_1k_synth-context.py'
VARIANTS = {
    'vanilla': f'configs/demo/{SUFFIX}',
    'embloss': f'configs/hce/hce-embloss_{SUFFIX}',
    'early': f'configs/hce/hce-early_{SUFFIX}',
    'early-concat': f'configs/hce/hce-early-concat_{SUFFIX}',
    'late': f'configs/hce/hce-late_{SUFFIX}',
    'both': f'configs/hce/hce-both_{SUFFIX}',
}


def run(name, config, data_root, work_root, max_iters, seed):
    ann = osp.join(data_root, 'annotations/context_val.json')
    opts = {'train_dataloader.dataset.data_root': data_root,
            'val_dataloader.dataset.data_root': data_root,
            'test_dataloader.dataset.data_root': data_root,
            'val_evaluator.ann_file': ann, 'test_evaluator.ann_file': ann,
            'randomness.seed': seed}
    t0 = time.time()
    runner = build_runner(config, work_dir=osp.join(work_root, name), cfg_options=opts,
                          cfg_hook=lambda cfg: own_visualizer(scale_schedule(cfg, max_iters)))
    runner.train()
    metrics = runner.val()
    return dict(name=name, config=config, seconds=time.time() - t0,
                mAP=metrics.get('coco/bbox_mAP'), AP50=metrics.get('coco/bbox_mAP_50'),
                ctxAP=context_ap(metrics), per_class=per_class_ap(metrics))


def table(rows):
    def f(x):
        return '  n/a' if x is None else f'{100 * x:5.1f}'
    cols = ['mAP', 'AP50', 'ctxAP'] + list(CONTEXT_CLASSES)
    lines = [f"{'variant':13s} " + ' '.join(f'{c:>6s}' for c in cols) + '   time']
    for r in rows:
        vals = [r['mAP'], r['AP50'], r['ctxAP']] + [r['per_class'].get(c) for c in CONTEXT_CLASSES]
        lines.append(f"{r['name']:13s} " + ' '.join(f'{f(v):>6s}' for v in vals)
                     + f"  {r['seconds']:5.0f}s")
    base = rows[0]
    for r in rows[1:]:
        d = [None if r[k] is None or base[k] is None else r[k] - base[k]
             for k in ('mAP', 'AP50', 'ctxAP')]
        lines.append(f"d({r['name']})".ljust(13) + ' ' + ' '.join(
            f"{'  n/a' if v is None else f'{100 * v:+5.1f}':>6s}" for v in d))
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default='data/hce_synth/')
    p.add_argument('--work-root', default='work_dirs/hce_proxy')
    p.add_argument('--max-iters', type=int, default=600)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--variants', nargs='+', default=['vanilla', 'embloss', 'early', 'late', 'both'],
                   choices=list(VARIANTS))
    p.add_argument('--out', help='write the rows as JSON here')
    args = p.parse_args(argv)
    data_root = args.data_root.rstrip('/') + '/'
    if not osp.isfile(osp.join(data_root, 'annotations/context_train.json')):
        raise SystemExit(f'{data_root} has no built-in data; run '
                         f'`python tools/make_dataset.py --out {data_root}` first.')
    rows = []
    for v in args.variants:
        rows.append(run(v, VARIANTS[v], data_root, args.work_root, args.max_iters, args.seed))
        print('\n' + table(rows), flush=True)
    print(f'\n[AP in %, context_val, {args.max_iters} iters, seed {args.seed}]\n' + table(rows))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
