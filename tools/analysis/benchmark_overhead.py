"""Overhead of config B over config A: parameters, inference time and training-step time.

    python tools/analysis/benchmark_overhead.py CONFIG_A CONFIG_B [--size 512 512] [--batch 1]
        [--repeats 10] [--warmup 2] [--device cpu|cuda] [--threads 1] [--no-train]

CONFIG_A/B: paths or mmdet::... names (mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py).

Both models are built from their configs with random weights (no checkpoint, pretrained
backbones off) and run on the *same* random image batch. Timings are interleaved (A, B, B, A,
...) so slow drift of a shared machine hits both; we print the median of the repeats and the
ratio B/A.
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def build(path, device):
    import hce_det  # noqa: F401
    from mmengine.config import Config
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    if '::' in path:  # e.g. mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py
        from mmengine.hub import get_config
        cfg = get_config(path)
    else:
        cfg = Config.fromfile(path)
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


def interleaved(fn_a, fn_b, warmup, repeats):
    for _ in range(warmup):
        fn_a(0), fn_b(0)
    ta, tb = [], []
    for r in range(repeats):
        if r % 2 == 0:
            ta.append(fn_a(r + 1)), tb.append(fn_b(r + 1))
        else:
            tb.append(fn_b(r + 1)), ta.append(fn_a(r + 1))
    return statistics.median(ta), statistics.median(tb)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
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
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    a, b = build(args.config_a, args.device), build(args.config_b, args.device)
    with_mask = getattr(a.roi_head, 'with_mask', False)
    batch_a = make_batch(a, args.size, args.batch, num_classes(a), args.device, with_mask)
    batch_b = make_batch(b, args.size, args.batch, num_classes(b), args.device, with_mask)
    assert torch.equal(batch_a['inputs'], batch_b['inputs'])

    pa = sum(x.numel() for x in a.parameters())
    pb = sum(x.numel() for x in b.parameters())
    print(f'device={args.device} threads={torch.get_num_threads()} image={args.size[0]}x'
          f'{args.size[1]} batch={args.batch} repeats={args.repeats} (median) warmup={args.warmup}')
    print(f'A: {args.config_a}\nB: {args.config_b}')
    rows = [('params (M)', pa / 1e6, pb / 1e6)]
    ia, ib = interleaved(lambda r: time_predict(a, batch_a, args.device),
                         lambda r: time_predict(b, batch_b, args.device),
                         args.warmup, args.repeats)
    rows.append(('inference (s/batch)', ia, ib))
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
