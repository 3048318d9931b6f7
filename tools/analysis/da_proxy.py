"""CR-DA proxy comparison on the built-in fog split, and the DA training-step overhead.

Ladder (same seed, same schedule; target = foggy val, VOC AP50 area + 11-point, COCO AP50)::

    OMP_NUM_THREADS=1 python tools/analysis/da_proxy.py ladder  \
        --out work_dirs/cr_da_proxy/ladder.json

Seeds: run ``ladder --seed S --out ladder_seedS.json`` per seed, then
``da_proxy.py summary ladder.json ladder_seed1.json ...`` prints every seed and the mean.

Overhead (mean seconds per training step, data loading excluded, batches pre-fetched)::

    OMP_NUM_THREADS=1 python tools/analysis/da_proxy.py timing --iters 20

Results are printed as markdown tables and saved as JSON.
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
SYNTH = osp.join(ROOT, 'configs/cr_da/synth')
LADDER = [
    ('source-only', 'faster-rcnn_r18-thin_fpn_500i_synth-fog-source-only.py'),
    ('DA-Faster', 'da-faster-rcnn_r18-thin_fpn_500i_synth-fog.py'),
    ('DA-Faster + ICR + CCR', 'da-faster-rcnn-icr-ccr_r18-thin_fpn_500i_synth-fog.py'),
    ('oracle (target labels)', 'faster-rcnn_r18-thin_fpn_500i_synth-fog-oracle.py'),
    ('SW-Faster', 'sw-faster-rcnn_r18-thin_fpn_500i_synth-fog.py'),
    ('SW-Faster + ICR + CCR', 'sw-faster-rcnn-icr-ccr_r18-thin_fpn_500i_synth-fog.py'),
    ('two-domain BN, no DA (control)', 'da-none_r18-thin_fpn_500i_synth-fog.py'),
    # ablation: SW-Faster without its context vectors ('#no-context' strips sw_context)
    ('SW-Faster, no context', 'sw-faster-rcnn_r18-thin_fpn_500i_synth-fog.py#no-context'),
    ('SW-Faster + ICR + CCR, no context',
     'sw-faster-rcnn-icr-ccr_r18-thin_fpn_500i_synth-fog.py#no-context'),
]
CFG = dict(LADDER)


def load(cfg_name, data_root, work_dir, max_iters=None, seed=0):
    import hce_det  # noqa: F401
    from mmengine.config import Config
    cfg_name, _, variant = cfg_name.partition('#')
    cfg = Config.fromfile(osp.join(SYNTH, cfg_name))
    if variant == 'no-context':
        drop_sw_context(cfg)
    elif variant:
        raise ValueError(f'unknown config variant #{variant}')
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    root = data_root.rstrip('/') + '/'
    tr = cfg.train_dataloader.dataset
    for d in (tr.datasets if tr.type == 'ConcatDataset' else [tr]):
        d.data_root = root
    cfg.val_dataloader.dataset.data_root = root
    cfg.test_dataloader = cfg.val_dataloader
    for ev in cfg.val_evaluator:
        if 'ann_file' in ev:
            ev.ann_file = root + 'annotations/fog_target_val.json'
    cfg.test_evaluator = cfg.val_evaluator
    if max_iters:
        cfg.train_cfg.max_iters = max_iters
        cfg.param_scheduler = [
            dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
                 end=min(100, max_iters // 5)),
            dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters,
                 milestones=[int(max_iters * 0.75), int(max_iters * 0.9)], gamma=0.1)]
        cfg.default_hooks.checkpoint.interval = max_iters
    cfg.train_cfg.val_interval = cfg.train_cfg.max_iters + 1   # validate once, after training
    return cfg


def drop_sw_context(cfg):
    """Same SW-Faster model with plain RoI features (no context vectors anywhere)."""
    m = cfg.model
    m.pop('sw_context')
    m.roi_head.type = 'StandardRoIHead'
    m.roi_head.pop('context_channels')
    m.ins_da.in_channels = m.roi_head.bbox_head.fc_out_channels


def ladder(args):
    from mmengine.runner import Runner

    from hce_det.engine.runs import own_visualizer
    results = {}
    if osp.exists(args.out):
        with open(args.out) as f:
            results = json.load(f)
    for label, name in LADDER:
        if args.only and not any(o in name for o in args.only):
            continue
        if any(o in name for o in args.skip):
            continue
        if label in results and not args.redo:
            print(f'skip {label} (in {args.out})')
            continue
        wd = osp.join(args.work_dir, name.replace('.py', '').replace('#', '_'))
        cfg = load(name, args.data_root, wd, args.max_iters, args.seed)
        t0 = time.time()
        runner = Runner.from_cfg(own_visualizer(cfg))  # its own vis_data/, see runs.py
        runner.train()
        train_s = time.time() - t0
        metrics = runner.val_loop.run()
        results[label] = dict(config=osp.join('configs/cr_da/synth', name),
                              commit=_git_commit(),
                              iters=cfg.train_cfg.max_iters, seed=args.seed,
                              train_seconds=round(train_s, 1),
                              metrics={k: float(v) for k, v in metrics.items()})
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
    print_ladder(results)


def _git_commit() -> str:
    import subprocess
    try:
        return subprocess.run(['git', 'describe', '--always', '--dirty'], cwd=ROOT, text=True,
                              capture_output=True).stdout.strip()
    except OSError:
        return '?'


def print_ladder(results):
    print('| variant | mAP50 area | mAP50 11pt | COCO AP50 | train s |')
    print('|---|---|---|---|---|')
    for label, r in results.items():
        m = r['metrics']
        print(f"| {label} | {100 * m['voc50/mAP50_area']:.1f} | {100 * m['voc50/mAP50_11pt']:.1f}"
              f" | {100 * m.get('coco/bbox_mAP_50', float('nan')):.1f} | {r['train_seconds']} |")


def summary(paths):
    """Per-variant mAP50 (area) across ladder JSON files (one per seed): each value, mean."""
    runs = []
    for path in paths:
        with open(path) as f:
            runs.append(json.load(f))
    labels = [label for label, _ in LADDER if any(label in r for r in runs)]
    print('| variant | ' + ' | '.join(f'seed {r[next(iter(r))]["seed"]}' for r in runs)
          + ' | mean |')
    print('|---|' + '---|' * (len(runs) + 1))
    for label in labels:
        vals = [100 * r[label]['metrics']['voc50/mAP50_area'] if label in r else None
                for r in runs]
        got = [v for v in vals if v is not None]
        cells = ' | '.join('-' if v is None else f'{v:.1f}' for v in vals)
        print(f'| {label} | {cells} | {sum(got) / len(got):.1f} (n={len(got)}) |')


def timing(args):
    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from mmdet.registry import MODELS
    init_default_scope('mmdet')
    rows = [('plain Faster R-CNN, 2 source img', CFG['source-only'], 2),
            ('plain Faster R-CNN, 4 source img', CFG['source-only'], 4),
            ('two-domain, no DA (2+2)', CFG['two-domain BN, no DA (control)'], 4),
            ('DA-Faster (2+2)', CFG['DA-Faster'], 4),
            ('DA-Faster + ICR + CCR (2+2)', CFG['DA-Faster + ICR + CCR'], 4),
            ('SW-Faster + ICR + CCR (2+2)', CFG['SW-Faster + ICR + CCR'], 4),
            ('SW-Faster + ICR + CCR, no context (2+2)',
             CFG['SW-Faster + ICR + CCR, no context'], 4)]
    out = {}
    for label, name, bs in rows:
        cfg = load(name, args.data_root, '/tmp/da_timing')
        cfg.train_dataloader.batch_size = bs
        if 'sampler' in cfg.train_dataloader and 'source_ratio' in cfg.train_dataloader.sampler:
            cfg.train_dataloader.sampler.batch_size = bs
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        model.init_weights()
        model.train()
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
        it = iter(loader)
        batches = [next(it) for _ in range(args.warmup + args.iters)]
        times = []
        for i, b in enumerate(batches):
            t0 = time.perf_counter()
            model.train_step(copy.deepcopy(b), optim)
            if i >= args.warmup:
                times.append(time.perf_counter() - t0)
        times.sort()
        out[label] = dict(config=name, batch=bs, mean_s=sum(times) / len(times),
                          median_s=times[len(times) // 2])
    base4 = out[rows[0][0]]['median_s']   # same number of labelled images
    base8 = out[rows[1][0]]['median_s']   # same number of images through the network
    print('| setting | median s/step | ratio vs plain, same labelled imgs | ratio vs plain, same total imgs |')
    print('|---|---|---|---|')
    for label, r in out.items():
        print(f"| {label} | {r['median_s']:.3f} | {r['median_s'] / base4:.2f} | "
              f"{r['median_s'] / base8:.2f} |")
    with open(args.out, 'w') as f:
        json.dump(out, f, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('mode', choices=['ladder', 'timing', 'print', 'summary'])
    p.add_argument('files', nargs='*', help='summary: ladder JSON files, one per seed')
    p.add_argument('--data-root', default=osp.join(ROOT, 'data/hce_synth'))
    p.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs/cr_da_proxy'))
    p.add_argument('--max-iters', type=int, default=None, help='default: the configs (500)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--only', nargs='*', default=None, help='substrings of config names')
    p.add_argument('--skip', nargs='*', default=[], help='substrings of config names to skip')
    p.add_argument('--redo', action='store_true')
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--out', default=None)
    args = p.parse_args()
    if args.out is None:
        args.out = osp.join(args.work_dir, f'{args.mode if args.mode != "print" else "ladder"}.json')
    if args.mode == 'ladder':
        ladder(args)
    elif args.mode == 'timing':
        timing(args)
    elif args.mode == 'summary':
        summary(args.files)
    else:
        with open(args.out) as f:
            print_ladder(json.load(f))


if __name__ == '__main__':
    main()
