"""Overhead of config B over config A: parameters, inference time and training-step time;
``da``: training-step overhead of the CR-DA variants over plain Faster R-CNN.

    python tools/analysis/benchmark_overhead.py CONFIG_A CONFIG_B [--size 512 512] [--batch 1]
        [--repeats 10] [--warmup 2] [--device cpu|cuda] [--threads 1] [--no-train]
        [--checkpoints A.pth B.pth] [--val-data hce]
    OMP_NUM_THREADS=1 python tools/analysis/benchmark_overhead.py da [--iters 20] [--warmup 3]
        [--variants DA-Faster SW-Faster ...] [--same-images] [--data-root DIR] [--device cpu]
        [--threads 1] [--out da_timing.json]

CONFIG_A/B: paths or mmdet::... names (mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py).

Both models are built from their configs with random weights (pretrained backbones off), or
load trained ones (``--checkpoints``), and run on the *same* image batch: random images, or the
first images of the built-in val split (``--val-data LADDER``). Timings are interleaved (A, B,
B, A, ...) so slow drift of a shared machine hits both; we print the median of the repeats and the
ratio B/A.

``da`` builds the ``cr_da`` ladder's variants (``tools/analysis/ladders.py``: same configs and
edits, e.g. ``SW-Faster+ICR+CCR-no-context``) on the built-in fog split (``--data-root``,
default: the data ``compare.py`` uses for data seed 0) and times whole ``train_step`` calls
(data preprocessor, losses, backward, optimizer step) on batches fetched beforehand, so data
loading is excluded. Every DA variant sees 2 source + 2 target images per step; the two plain
Faster R-CNN baselines (``source-only``) see 2 (same labelled images) and 4 source images (same
images through the network). ``--same-images`` adds a third baseline: plain Faster R-CNN on the
DA variants' own batches, their 2 source + 2 target images as one batch of 4 (target images
without boxes: all their RoIs are background), so ``ratio_same_images`` compares the two-domain
step with a plain step on exactly the same pixels (issue 15's DA-Faster target: <= 1.10, on an
idle machine). Settings run round-robin, one step each per round with the start rotating, and
every ratio is the median over rounds of the per-round ratio to the baseline.
"""
import argparse
import copy
import itertools
import json
import os
import os.path as osp
import statistics
import sys
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)


def load_cfg(path):
    import hce_det  # noqa: F401
    from mmengine.config import Config
    if '::' in path:  # e.g. mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py
        from mmengine.hub import get_config
        return get_config(path)
    return Config.fromfile(path)


def build(path, device):
    return build_model(load_cfg(path), device)


def build_model(cfg, device):
    """The model of a config with random weights (seed 0), on ``device``."""
    import hce_det  # noqa: F401
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg.model.backbone.init_cfg = None  # no download: random weights are enough for timing
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.to(device)


def num_classes(model):
    head = model.roi_head.bbox_head
    return (head[-1] if isinstance(head, torch.nn.ModuleList) else head).num_classes


def make_batch(model, size, batch, n_cls, device, with_mask):
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(1)
    data = demo_mm_inputs(batch_size=batch, image_shapes=(3, size[0], size[1]),
                          num_items=[5] * batch, num_classes=n_cls, with_mask=with_mask)
    return model.data_preprocessor(data, True)


def first_batches(dl_cfg, batch, n, seed=0):
    """The first ``n`` batches of ``batch`` images of a dataloader config (no workers)."""
    from mmengine.runner import Runner
    dl_cfg.batch_size, dl_cfg.num_workers, dl_cfg.persistent_workers = batch, 0, False
    it = iter(Runner.build_dataloader(dl_cfg, seed=seed))
    return [next(it) for _ in range(n)]


def val_data(cfg, batch, ladder_name, data_root=None):
    """The first ``batch`` images of the config's val split on the built-in data as
    ``compare.py <ladder_name>`` sees it (the ladder's split renames; ``data_root``, default
    data seed 0), before any preprocessor."""
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from compare import data_root_for, repoint
    from ladders import LADDERS
    cfg = copy.deepcopy(cfg)
    repoint(cfg, data_root or data_root_for(0), LADDERS[ladder_name].splits)
    return first_batches(cfg.val_dataloader, batch, 1)[0]


def load_weights(model, path):
    """Trained weights (e.g. a ``compare.py`` run's ``iter_*.pth``) into ``model``."""
    from mmengine.runner import load_checkpoint
    load_checkpoint(model, path, map_location='cpu', strict=True)
    return model


def share_detector(a, b):
    """Copy into ``b`` every tensor of ``a``'s state that ``b`` has under the same name and
    shape (backbone, neck, RPN, box head ...): both then propose and classify with the same
    detector, and the timing measures only what ``b`` adds (e.g. the HCE modules, which keep
    ``b``'s own trained weights). Returns (tensors copied, names kept as ``b``'s own)."""
    sa, sb = a.state_dict(), b.state_dict()
    shared = {k: v for k, v in sa.items() if k in sb and sb[k].shape == v.shape}
    b.load_state_dict(shared, strict=False)
    return len(shared), sorted(k for k in sb if k not in shared)


def box_counts(model, batch):
    """Mean RPN proposals and final detections per image of one ``batch`` (eval mode)."""
    model.eval()
    with torch.no_grad():
        x = model.extract_feat(batch['inputs'])
        props = model.rpn_head.predict(x, batch['data_samples'], rescale=False)
        dets = model.predict(batch['inputs'], batch['data_samples'])
    n = len(props)
    return (sum(len(p) for p in props) / n, sum(len(d.pred_instances) for d in dets) / n)


def sync(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def time_predict(model, batch, device):
    model.eval()
    with torch.no_grad():
        sync(device)
        t = time.perf_counter()
        model.predict(batch['inputs'], batch['data_samples'])
        sync(device)
    return time.perf_counter() - t


def time_train(model, batch, device, opt, seed):
    model.train()
    torch.manual_seed(seed)  # same proposal sampling for A and B
    sync(device)
    t = time.perf_counter()
    losses = model.loss(batch['inputs'], batch['data_samples'])
    loss, _ = model.parse_losses(losses)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sync(device)
    return time.perf_counter() - t


def round_robin(fns, warmup, repeats):
    """Time every ``fn(r)`` (returns seconds) once per round, ``warmup`` untimed rounds with
    ``r = 0`` first; round ``r`` starts at ``fns[r % n]`` and goes round (two settings: A B,
    B A, A B, ...), so drift and the position in the round hit every setting alike. Returns
    the times of each fn, one per round."""
    n = len(fns)
    for _ in range(warmup):
        for fn in fns:
            fn(0)
    times = [[] for _ in fns]
    for r in range(repeats):
        for i in [(r + k) % n for k in range(n)]:
            times[i].append(fns[i](r + 1))
    return times


def interleaved(fn_a, fn_b, warmup, repeats):
    ta, tb = round_robin([fn_a, fn_b], warmup, repeats)
    return statistics.median(ta), statistics.median(tb)


def time_train_step(model, batch, device, optim_wrapper, seed):
    """Seconds of one ``model.train_step`` (data preprocessor included) on a copy of ``batch``
    (the copy is made before the clock starts)."""
    batch = copy.deepcopy(batch)
    model.train()
    torch.manual_seed(seed)  # same proposal sampling for every setting in a round
    sync(device)
    t = time.perf_counter()
    model.train_step(batch, optim_wrapper)
    sync(device)
    return time.perf_counter() - t


# ---------------------------------------------------------------------------- da mode
# (label, cr_da ladder variant, images per step); the first two are the baselines
DA_BASELINES = (('plain Faster R-CNN, 2 source img', 'source-only', 2),
                ('plain Faster R-CNN, 4 source img', 'source-only', 4))
DA_VARIANTS = ('two-domain-BN-control', 'DA-Faster', 'DA-Faster+ICR+CCR', 'SW-Faster',
               'SW-Faster+ICR+CCR', 'SW-Faster+ICR+CCR-no-context')


def da_setting(name, batch, data_root, device, n_batches, seed=0):
    """A ``cr_da`` variant with ``batch`` images per step (2-domain: half source, half target):
    (model, optim wrapper, ``n_batches`` batches fetched from its train dataloader)."""
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from compare import load_config, repoint
    from ladders import LADDERS
    from mmengine.optim import build_optim_wrapper
    ladder = LADDERS['cr_da']
    variant = ladder.variant(name)
    cfg = load_config(variant)
    repoint(cfg, data_root, ladder.splits)
    if variant.edit is not None:
        variant.edit(cfg, {})
    dl = cfg.train_dataloader
    if 'source_ratio' in dl.sampler:  # GroupMultiSourceSampler: source_ratio [1, 1] -> 2+2
        dl.sampler.batch_size = batch
    model = build_model(cfg, device)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, optim, first_batches(dl, batch, n_batches, seed)


SAME_IMAGES = 'plain Faster R-CNN, same 2+2 img'


def plain_batch(da_batch):
    """A two-domain batch (before the preprocessor; each branch lists ``None`` for the other
    branch's images) as one plain batch: source then target images, the target samples given
    empty (and empty ignored) boxes of the source samples' box type."""
    def present(key, dom):
        return [x for x in da_batch[key][dom] if x is not None]
    src, tgt = present('data_samples', 'source'), present('data_samples', 'target')
    samples = list(src)
    for s in tgt:
        s = copy.copy(s)
        s.gt_instances = src[0].gt_instances[:0]
        s.ignored_instances = src[0].get('ignored_instances', s.gt_instances)[:0]
        samples.append(s)
    return dict(inputs=present('inputs', 'source') + present('inputs', 'target'),
                data_samples=samples)


def da_timing(variants, data_root, iters, warmup, device='cpu', same_images=False):
    """Median s/step of every setting and its per-round ratios to the baselines."""
    settings = list(DA_BASELINES) + [(f'{v} (2+2)', v, 4) for v in variants]
    fns, params, da_batches = [], {}, None
    for label, name, batch in settings:
        model, optim, batches = da_setting(name, batch, data_root, device, warmup + iters)
        params[label] = sum(x.numel() for x in model.parameters())
        if da_batches is None and name != 'source-only':
            da_batches = batches
        cycle = itertools.cycle(batches)
        fns.append(lambda r, m=model, o=optim, c=cycle: time_train_step(m, next(c), device, o, r))
    if same_images:
        if da_batches is None:
            raise ValueError('--same-images needs at least one DA variant')
        model, optim, _ = da_setting('source-only', 4, data_root, device, 0)
        settings.append((SAME_IMAGES, 'source-only', 4))
        params[SAME_IMAGES] = sum(x.numel() for x in model.parameters())
        cycle = itertools.cycle([plain_batch(b) for b in da_batches])
        fns.append(lambda r, m=model, o=optim, c=cycle: time_train_step(m, next(c), device, o, r))
    times = round_robin(fns, warmup, iters)
    base_same_labelled, base_same_total = times[0], times[1]
    out = {}
    for (label, name, batch), ts in zip(settings, times):
        out[label] = dict(
            variant=name, batch=batch, params_M=round(params[label] / 1e6, 4),
            mean_s=sum(ts) / len(ts), median_s=statistics.median(ts),
            ratio_same_labelled=statistics.median(t / b for t, b in zip(ts, base_same_labelled)),
            ratio_same_total=statistics.median(t / b for t, b in zip(ts, base_same_total)))
        if same_images:
            out[label]['ratio_same_images'] = statistics.median(
                t / b for t, b in zip(ts, times[-1]))
    return out


def da_table(out):
    same = all('ratio_same_images' in r for r in out.values())
    lines = ['| setting | params (M) | median s/step | ratio vs plain, same labelled imgs | '
             'ratio vs plain, same total imgs |' + (' ratio vs plain, same 2+2 imgs |' * same),
             '|---|---|---|---|---|' + '---|' * same]
    for label, r in out.items():
        lines.append(f"| {label} | {r['params_M']:.2f} | {r['median_s']:.3f} | "
                     f"{r['ratio_same_labelled']:.2f} | {r['ratio_same_total']:.2f} |"
                     + (f" {r['ratio_same_images']:.2f} |" if same else ''))
    return '\n'.join(lines)


def main_da(argv=None):
    p = argparse.ArgumentParser(
        prog='benchmark_overhead.py da',
        description='Training-step overhead of the CR-DA variants over plain Faster R-CNN '
                    '(built-in fog split, batches fetched beforehand, settings round-robin).')
    p.add_argument('--variants', nargs='+', default=list(DA_VARIANTS),
                   help='cr_da ladder variants to time against the two plain baselines')
    p.add_argument('--same-images', action='store_true',
                   help='also time plain Faster R-CNN on the DA batches\' own 2 + 2 images')
    p.add_argument('--iters', type=int, default=20, help='timed rounds')
    p.add_argument('--warmup', type=int, default=3, help='untimed rounds first')
    p.add_argument('--data-root', help='built-in data (default: compare.py data seed 0)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    p.add_argument('--out', help='also write the results as JSON here')
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.data_root:
        data_root = args.data_root.rstrip('/') + '/'
    else:
        sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
        from compare import data_root_for
        data_root = data_root_for(0)
    out = da_timing(args.variants, data_root, args.iters, args.warmup, args.device,
                    args.same_images)
    print(f'device={args.device} threads={torch.get_num_threads()} rounds={args.iters} '
          f'warmup={args.warmup} data={data_root}')
    print(da_table(out))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(dict(device=args.device, threads=torch.get_num_threads(),
                           iters=args.iters, warmup=args.warmup, settings=out), f, indent=1)
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == 'da':
        return main_da(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                epilog='Mode "da": benchmark_overhead.py da --help')
    p.add_argument('config_a')
    p.add_argument('config_b')
    p.add_argument('--size', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'),
                   help='input image size (default 512 512)')
    p.add_argument('--batch', type=int, default=1)
    p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--device', default='cpu')
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    p.add_argument('--no-train', action='store_true', help='inference timing only')
    p.add_argument('--checkpoints', nargs=2, metavar=('CKPT_A', 'CKPT_B'),
                   help='trained weights of A and B (default: random weights; with random '
                        'weights the number of boxes reaching NMS is arbitrary, so inference '
                        'times of untrained detectors say little)')
    p.add_argument('--shared-detector', action='store_true',
                   help='with --checkpoints: B takes A\'s weights for every tensor they share '
                        '(same proposals and box head), keeping its own extra modules: the '
                        'cost of what B adds, without the effect of B\'s training on the '
                        'number of proposals')
    p.add_argument('--also', nargs='+', default=[], metavar='CONFIG_C',
                   help='more configs whose inference is timed in the same rounds (A, B, C ... '
                        'round-robin; random weights), each reported against A')
    p.add_argument('--val-data', metavar='LADDER',
                   help='time on the first --batch images of the config\'s val split of the '
                        'built-in data as compare.py LADDER uses it (e.g. hce, hce_scene) '
                        'instead of random images of --size')
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    cfg_a, cfg_b = load_cfg(args.config_a), load_cfg(args.config_b)
    a, b = build_model(cfg_a, args.device), build_model(cfg_b, args.device)
    if args.checkpoints:
        load_weights(a, args.checkpoints[0]), load_weights(b, args.checkpoints[1])
    if args.shared_detector:
        if not args.checkpoints:
            p.error('--shared-detector needs --checkpoints (random weights are shared anyway)')
        copied, own = share_detector(a, b)
        print(f'shared detector: {copied} tensors of A copied into B; B keeps {len(own)} '
              f'of its own ({", ".join(sorted({k.split(".")[1] for k in own}))})')
    with_mask = getattr(a.roi_head, 'with_mask', False)
    if args.val_data:
        data = val_data(cfg_a, args.batch, args.val_data)
        batch_a = a.data_preprocessor(copy.deepcopy(data), True)
        batch_b = b.data_preprocessor(data, True)
        args.size = list(batch_a['inputs'].shape[-2:])
    else:
        batch_a = make_batch(a, args.size, args.batch, num_classes(a), args.device, with_mask)
        batch_b = make_batch(b, args.size, args.batch, num_classes(b), args.device, with_mask)
    assert torch.equal(batch_a['inputs'], batch_b['inputs'])

    pa = sum(x.numel() for x in a.parameters())
    pb = sum(x.numel() for x in b.parameters())
    print(f'device={args.device} threads={torch.get_num_threads()} image={args.size[0]}x'
          f'{args.size[1]} batch={args.batch} repeats={args.repeats} (median) warmup={args.warmup}')
    print(f'A: {args.config_a}\nB: {args.config_b}')
    if args.checkpoints:
        print(f'weights: {args.checkpoints[0]} | {args.checkpoints[1]}')
    if args.val_data:
        print(f'images: first {args.batch} of the val split ({args.val_data} ladder, data seed 0)')
    rows = [('params (M)', pa / 1e6, pb / 1e6)]
    if args.checkpoints or args.val_data:
        (pra, dta), (prb, dtb) = box_counts(a, batch_a), box_counts(b, batch_b)
        rows += [('proposals / image', pra, prb), ('detections / image', dta, dtb)]
    if args.also and args.checkpoints:
        p.error('--also times random-weight models only (no --checkpoints)')
    others = [build_model(load_cfg(c), args.device) for c in args.also]
    fns = [lambda r, m=m, x=x: time_predict(m, x, args.device)
           for m, x in [(a, batch_a), (b, batch_b)] + [(m, batch_a) for m in others]]
    times = [statistics.median(t) for t in round_robin(fns, args.warmup, args.repeats)]
    ia, ib = times[:2]
    rows.append(('inference (s/batch)', ia, ib))
    for name, t in zip(args.also, times[2:]):
        print(f'C: {name}: inference {t:.4f} s/batch, C/A {t / ia:.3f}')
    if not args.no_train:
        oa = torch.optim.SGD(a.parameters(), lr=1e-4, momentum=0.9)
        ob = torch.optim.SGD(b.parameters(), lr=1e-4, momentum=0.9)
        ta, tb = interleaved(lambda r: time_train(a, batch_a, args.device, oa, r),
                             lambda r: time_train(b, batch_b, args.device, ob, r),
                             args.warmup, args.repeats)
        rows.append(('train step (s/batch)', ta, tb))
    print(f"{'measure':22s} {'A':>10s} {'B':>10s} {'B/A':>7s}")
    for name, va, vb in rows:
        print(f'{name:22s} {va:10.4f} {vb:10.4f} {vb / va:7.3f}')


if __name__ == '__main__':
    main()
