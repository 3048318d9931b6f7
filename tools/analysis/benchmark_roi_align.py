"""CPU RoIAlign timing: mmcv's ``roi_align`` against ``hce_det``'s ``SparseRoIAlign``
(forward, backward, forward + backward; median of interleaved repeats, ratio mmcv / sparse).

    OMP_NUM_THREADS=1 python tools/analysis/benchmark_roi_align.py [--threads 1]
        [--repeats 15] [--warmup 3] [--channels 64] [--dtype float32]

Cases, all with output 7 x 7, ``sampling_ratio=0``, ``aligned=True`` (the configs' RoIAlign):

* ``spread K``: K = 128 / 512 / 1000 proposal-like RoIs (sides 4-128 px, aspect 1:2-2:1,
  clipped to the image) in 4 images of 128 x 128 px, assigned to the FPN levels (4, C, 32, 32),
  (4, C, 16, 16), (4, C, 8, 8), (4, C, 4, 4) (strides 4-32) by mmdet's
  ``SingleRoIExtractor.map_roi_levels`` (finest_scale 56); one row per non-empty level and the
  sum over levels (with 128 px images most RoIs go to the first level, the last two get none).
* ``level L``: 400 RoIs whose scale lies in level L's mapping range, on that level's map alone
  (covers every level's shape; the larger RoIs extend past the image).
* ``coco-like``: (2, 256, 200, 200) at stride 4 with 512 RoIs of first-level scale (8-112 px) in
  800 x 800 images.

Every row also checks that both give the same output and input gradient (max abs difference).
Timings are interleaved (mmcv, sparse, sparse, mmcv, ...) so drift of a shared machine hits
both; absolute times depend on the machine's load.
"""
import argparse
import math
import os.path as osp
import statistics
import sys
import time
from types import SimpleNamespace

import torch
from mmcv.ops import roi_align
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:  # run from a checkout
    sys.path.insert(0, ROOT)
from hce_det.models.layers import SparseRoIAlign  # noqa: E402

OUT = (7, 7)
STRIDES = (4, 8, 16, 32)
FINEST = 56


def proposals(n, num_imgs, img_hw, scale_range, clip, gen):
    """(n, 5) RoIs: log-uniform scale sqrt(w * h) in ``scale_range``, aspect 1:2-2:1, uniform
    centres, random image index; clipped to the image when ``clip``."""
    img_h, img_w = img_hw
    lo, hi = (math.log(s) for s in scale_range)
    scale = torch.exp(lo + (hi - lo) * torch.rand(n, generator=gen))
    aspect = torch.exp((torch.rand(n, generator=gen) * 2 - 1) * math.log(2))
    w, h = scale * aspect.sqrt(), scale / aspect.sqrt()
    cx, cy = torch.rand(n, generator=gen) * img_w, torch.rand(n, generator=gen) * img_h
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    if clip:
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, img_w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, img_h)
    batch = torch.randint(0, num_imgs, (n, 1), generator=gen).float()
    return torch.cat([batch, boxes], 1)


def map_levels(rois, num_levels=4):
    """mmdet's FPN level assignment (its own method, on a stand-in with ``finest_scale``)."""
    return SingleRoIExtractor.map_roi_levels(SimpleNamespace(finest_scale=FINEST), rois,
                                             num_levels)


def time_case(feats, rois, stride, repeats, warmup):
    """Median fwd / bwd / fwd+bwd seconds of both implementations and their max differences."""
    sparse = SparseRoIAlign(OUT, 1 / stride, 0, 'avg', True)
    layers = {'mmcv': lambda x: roi_align(x, rois, OUT, 1 / stride, 0, 'avg', True),
              'sparse': lambda x: sparse(x, rois)}
    gen = torch.Generator().manual_seed(0)
    grad_out = torch.randn((rois.size(0), feats.size(1), *OUT), generator=gen).to(feats.dtype)
    times = {k: {'fwd': [], 'bwd': [], 'both': []} for k in layers}
    results = {}
    for rep in range(warmup + repeats):
        order = list(layers) if rep % 2 == 0 else list(layers)[::-1]
        for name in order:
            x = feats.detach().clone().requires_grad_()
            t0 = time.perf_counter()
            out = layers[name](x)
            t1 = time.perf_counter()
            out.backward(grad_out)
            t2 = time.perf_counter()
            if rep >= warmup:
                times[name]['fwd'].append(t1 - t0)
                times[name]['bwd'].append(t2 - t1)
                times[name]['both'].append(t2 - t0)
            if rep == 0:
                results[name] = (out.detach(), x.grad)
    med = {k: {p: statistics.median(v) for p, v in d.items()} for k, d in times.items()}
    diff = max((results['mmcv'][i] - results['sparse'][i]).abs().max().item() for i in (0, 1))
    return med, diff


def fmt_row(label, n, med, diff=None):
    cells = [f'{label:<30}', f'{n:>5}']
    for part in ('fwd', 'bwd', 'both'):
        a, b = med['mmcv'][part] * 1e3, med['sparse'][part] * 1e3
        cells.append(f'{a:8.2f} {b:8.2f} {a / b if b else float("nan"):6.2f}x')
    cells.append('' if diff is None else f'{diff:.1e}')
    return ' | '.join(cells)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    parser.add_argument('--repeats', type=int, default=15)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--channels', type=int, default=64, help='FPN channels (not coco-like)')
    parser.add_argument('--dtype', default='float32', choices=['float32', 'float64'])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    gen = torch.Generator().manual_seed(0)
    ch = args.channels

    head = ' | '.join([f'{"case":<30}', f'{"RoIs":>5}'] +
                      [f'{p + " mmcv/sparse ms":<24}' for p in ('fwd', 'bwd', 'fwd+bwd')] +
                      ['max diff'])
    print(f'torch {torch.__version__}, {args.threads} thread(s), {args.dtype}, '
          f'median of {args.repeats} (ratio = mmcv / sparse)')
    print(head)
    print('-' * len(head))
    feats = [torch.randn(4, ch, 128 // s, 128 // s, generator=gen).to(dtype) for s in STRIDES]

    def run(label, feat, rois, stride):
        med, diff = time_case(feat, rois.to(dtype), stride, args.repeats, args.warmup)
        print(fmt_row(label, rois.size(0), med, diff), flush=True)
        return med

    for total in (128, 512, 1000):
        rois = proposals(total, 4, (128, 128), (4, 128), True, gen)
        levels = map_levels(rois)
        summed = {k: {p: 0.0 for p in ('fwd', 'bwd', 'both')} for k in ('mmcv', 'sparse')}
        for lvl, (feat, stride) in enumerate(zip(feats, STRIDES)):
            sel = rois[levels == lvl]
            if sel.size(0) == 0:
                continue
            med = run(f'spread {total}: L{lvl} {tuple(feat.shape)}', feat, sel, stride)
            for k in summed:
                for p in summed[k]:
                    summed[k][p] += med[k][p]
        print(fmt_row(f'spread {total}: all levels', total, summed), flush=True)
    for lvl, (feat, stride) in enumerate(zip(feats, STRIDES)):
        lo = 8 if lvl == 0 else FINEST * 2**lvl
        rois = proposals(400, 4, (128, 128), (lo, FINEST * 2**(lvl + 1)), False, gen)
        assert bool((map_levels(rois) == lvl).all())
        run(f'level {lvl} {tuple(feat.shape)}', feat, rois, stride)
    coco = torch.randn(2, 256, 200, 200, generator=gen).to(dtype)
    rois = proposals(512, 2, (800, 800), (8, 2 * FINEST), True, gen)
    run(f'coco-like {tuple(coco.shape)}', coco, rois, 4)


if __name__ == '__main__':
    main()
