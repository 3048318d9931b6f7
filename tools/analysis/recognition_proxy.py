"""Proxy comparison of the recognition components on the built-in long-tailed split.

    OMP_NUM_THREADS=1 python tools/analysis/recognition_proxy.py [--data-root data/hce_synth]
        [--max-iters 400] [--batch-size 8] [--variants softmax bbn ...] [--seed 0]
        [--out proxy.json]

Every variant trains the same Faster R-CNN (configs/recognition/*_synth-lt.py) from scratch with
the same seed, data order and schedule (warm-up, x0.1 at 75% and 90% of ``--max-iters``) on
``lt_train`` (imbalance 100) and is evaluated on the balanced ``lt_val``. Prints AP, AP50 and
APr/APc/APf: the mean per-class AP (CocoMetric classwise) over the categories whose ``frequency``
in ``lt_train.json`` is r/c/f, and the difference to the first variant.

DiVE's teacher is a frozen RoI head that reads the student's RoI features, so the DiVE student
starts from the softmax run's checkpoint (``load_from``) and distills from that run's head for
``--max-iters`` more iterations; ``softmax-ft`` (the softmax run continued for the same number of
iterations) is its fair reference. ``bbn-bg``: BBN with background RoIs in the reversed sampler.
With ``--init-from CKPT`` every variant fine-tunes the same trained detector (a head-only
comparison that needs far fewer iterations than training each from scratch).
"""
import argparse
import json
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from hce_det.engine.launch import build_runner  # noqa: E402
from hce_det.engine.runs import own_visualizer  # noqa: E402
from hce_det.evaluation.summary import per_class_ap  # noqa: E402

CFG = 'configs/recognition/{}_faster-rcnn_r18-thin_fpn_1k_synth-lt.py'
METHODS = ['softmax', 'bbn', 'bbn-bg', 'ride', 'sc', 'psc', 'mdcs', 'sef', 'softmax-ft', 'dive']
NEEDS_COUNTS = {'bbn', 'ride', 'mdcs', 'dive'}
ALIASES = {'softmax-ft': 'softmax', 'bbn-bg': 'bbn'}  # variant -> config


def schedule(max_iters, warmup):
    return [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup),
            dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
                 milestones=[int(max_iters * 0.75), int(max_iters * 0.9)], gamma=0.1)]


def frequency_groups(train_ann):
    """{'r'|'c'|'f': [class names]} from the categories' LVIS ``frequency`` field."""
    with open(train_ann) as f:
        cats = json.load(f)['categories']
    groups = {'r': [], 'c': [], 'f': []}
    for c in cats:
        groups[c['frequency']].append(c['name'])
    return groups


def grouped_ap(metrics, groups):
    pc = per_class_ap(metrics)
    out = {}
    for g, names in groups.items():
        vals = [pc[n] for n in names if n in pc and pc[n] == pc[n] and pc[n] >= 0]
        out['AP' + g] = sum(vals) / len(vals) if vals else None
    return out


def last_checkpoint(work_dir):
    """The checkpoint mmengine's CheckpointHook recorded last in ``work_dir``."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        return f.read().strip()


def run(name, data_root, work_root, max_iters, seed, groups, batch_size, init_from=None):
    method = ALIASES.get(name, name)
    ann = osp.join(data_root, 'annotations/lt_val.json')
    opts = {'train_dataloader.dataset.data_root': data_root,
            'val_dataloader.dataset.data_root': data_root,
            'test_dataloader.dataset.data_root': data_root,
            'val_evaluator.ann_file': ann, 'test_evaluator.ann_file': ann,
            'train_cfg.max_iters': max_iters, 'train_cfg.val_interval': max_iters + 1,
            'default_hooks.checkpoint.interval': max_iters,
            'param_scheduler': schedule(max_iters, min(100, max_iters // 5)),
            'train_dataloader.batch_size': batch_size,
            'randomness.seed': seed}
    if method in NEEDS_COUNTS:
        opts['model.roi_head.bbox_head.class_counts_file'] = osp.join(
            data_root, 'annotations/lt_train.json')
    base_ckpt = init_from or last_checkpoint(osp.join(work_root, 'softmax'))
    if init_from:
        opts['load_from'] = init_from
    if name in ('dive', 'softmax-ft'):
        if not base_ckpt or not osp.isfile(base_ckpt):
            raise SystemExit(f'{name} needs the softmax run first (no checkpoint in '
                             f'{osp.join(work_root, "softmax")})')
        opts['load_from'] = base_ckpt
    if name == 'dive':
        opts['model.roi_head.bbox_head.teacher.checkpoint'] = base_ckpt
    if name == 'bbn-bg':  # BBN with background RoIs in the reversed sampler
        opts['model.roi_head.bbox_head.rebalance_background'] = True
    t0 = time.time()
    runner = build_runner(CFG.format(method), work_dir=osp.join(work_root, name),
                          cfg_options=opts, cfg_hook=own_visualizer)
    runner.train()
    metrics = runner.val()
    row = dict(name=name, config=CFG.format(method), seconds=time.time() - t0,
               AP=metrics.get('coco/bbox_mAP'), AP50=metrics.get('coco/bbox_mAP_50'),
               per_class=per_class_ap(metrics))
    row.update(grouped_ap(metrics, groups))
    return row


KEYS = ['AP', 'AP50', 'APr', 'APc', 'APf']


def table(rows):
    def f(x, sign=False):
        return '  n/a' if x is None else (f'{100 * x:+5.1f}' if sign else f'{100 * x:5.1f}')
    lines = [f"{'variant':12s} " + ' '.join(f'{k:>6s}' for k in KEYS) + '   time']
    for r in rows:
        lines.append(f"{r['name']:12s} " + ' '.join(f'{f(r[k]):>6s}' for k in KEYS)
                     + f"  {r['seconds']:5.0f}s")
    ref = {r['name']: r for r in rows}
    for r in rows[1:]:
        base = ref.get('softmax-ft' if r['name'] == 'dive' else 'softmax', rows[0])
        if base is r:
            continue
        d = [None if r[k] is None or base[k] is None else r[k] - base[k] for k in KEYS]
        lines.append(f"d({r['name']})".ljust(12) + ' ' + ' '.join(f'{f(v, True):>6s}' for v in d)
                     + f"  vs {base['name']}")
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-root', default='data/hce_synth/')
    p.add_argument('--work-root', default='work_dirs/recognition_proxy')
    p.add_argument('--max-iters', type=int, default=400)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--variants', nargs='+', default=METHODS, choices=METHODS)
    p.add_argument('--out', help='write the rows as JSON here')
    p.add_argument('--init-from', metavar='CKPT',
                   help='fine-tune protocol: every variant starts from this detector checkpoint '
                        '(e.g. the softmax run) and DiVE distills from it; new head layers are '
                        'initialised as usual')
    p.add_argument('--append', action='store_true',
                   help='start from the rows already in --out (re-run variants replace theirs)')
    args = p.parse_args(argv)
    data_root = args.data_root.rstrip('/') + '/'
    train_ann = osp.join(data_root, 'annotations/lt_train.json')
    if not osp.isfile(train_ann):
        raise SystemExit(f'{data_root} has no built-in data; run '
                         f'`python tools/make_dataset.py --out {data_root}` first.')
    groups = frequency_groups(train_ann)
    rows = []
    if args.append and args.out and osp.isfile(args.out):
        with open(args.out) as f:
            rows = json.load(f)
    for v in args.variants:
        row = run(v, data_root, args.work_root, args.max_iters, args.seed, groups,
                  args.batch_size, args.init_from)
        names = [r['name'] for r in rows]
        if v in names:
            rows[names.index(v)] = row
        else:
            rows.append(row)
        print('\n' + table(rows), flush=True)
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(rows, f, indent=1)
    print(f"\n[AP in %, lt_val, {args.max_iters} iters x {args.batch_size} images, "
          f"seed {args.seed}; "
          f"r={groups['r']} c={groups['c']} f={groups['f']}]\n" + table(rows))


if __name__ == '__main__':
    main()
