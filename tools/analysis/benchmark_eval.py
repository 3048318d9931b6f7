"""COCO and LVIS evaluation engines side by side: faster-coco-eval (what FasterCocoMetric /
FasterLVISMetric run) against the reference engines (pycocotools; lvis-api with the numpy-2 shim),
on the same generated ground truth and detections, in one run.

    OMP_NUM_THREADS=1 python tools/analysis/benchmark_eval.py [--coco-images 5000]
        [--coco-dets 94] [--coco-classes 80] [--lvis-images 2000] [--lvis-dets 300]
        [--lvis-classes 1203] [--iou-type bbox|segm] [--only coco|lvis] [--seed 0]
        [--out bench.json]

Prints, per task: wall time of each engine (ground-truth index, loading the results, evaluate,
accumulate, summary), the ratio reference / faster, the peak resident memory each engine added
(Linux VmHWM, reset before each engine through /proc/self/clear_refs; a 10 ms RSS sampler
where that is not allowed), and the largest difference over every summary number (AP, AP50, ...,
APr/APc/APf, ARs) and over the per-category APs. Each engine gets its own copy of the inputs.

The data (:func:`make_gt`, :func:`make_dets`) is random but shaped like the real thing: box sizes
over the small/medium/large ranges, crowd boxes (COCO), a long-tailed class frequency with
r/c/f groups, ``neg_category_ids`` and ``not_exhaustive_category_ids`` (LVIS), a category
without ground truth, an image without detections, detections that are jittered copies of
ground-truth boxes (some with the wrong class) plus random false positives, distinct scores.
The tests (tests/evaluation/test_faster_coco_metric.py) cross-check the engines on small sets from
the same generator.
"""
import argparse
import contextlib
import copy
import gc
import io
import json
import os
import re
import sys
import threading
import time
from collections import OrderedDict

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# pycocotools' summarize layout under mmdet CocoMetric's names (stats index)
COCO_STATS = OrderedDict([('mAP', 0), ('mAP_50', 1), ('mAP_75', 2), ('mAP_s', 3), ('mAP_m', 4),
                          ('mAP_l', 5), ('AR@100', 6), ('AR@300', 7), ('AR@1000', 8),
                          ('AR_s@1000', 9), ('AR_m@1000', 10), ('AR_l@1000', 11)])


# ------------------------------------------------------------------------------ data
def _octagon(x, y, w, h, cut):
    """Polygon of the box with its corners cut by ``cut`` (fraction of the side)."""
    cx, cy = cut * w, cut * h
    return [x + cx, y, x + w - cx, y, x + w, y + cy, x + w, y + h - cy, x + w - cx, y + h,
            x + cx, y + h, x, y + h - cy, x, y + cy]


def _uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE (column-major run lengths, starting with zeros)."""
    flat = mask.flatten(order='F').astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0] + counts
    return {'counts': counts, 'size': list(mask.shape)}


def _rle_of_polygon(poly, h, w) -> dict:
    import pycocotools.mask as mask_utils
    rle = mask_utils.merge(mask_utils.frPyObjects([poly], h, w))
    rle['counts'] = rle['counts'].decode()
    return rle


def make_gt(num_images: int, num_classes: int, *, lvis: bool = False, masks: bool = False,
            seed: int = 0, size=(240, 320), gts_per_image=(1, 12), crowd_prob: float = 0.05,
            neg_per_image: int = 3, not_exhaustive_prob: float = 0.15) -> dict:
    """Ground truth in COCO format (LVIS fields with ``lvis=True``). Category ids have gaps
    (1, 3, 5, ...), image ids start at 101, the last category has no instance; crowd boxes only
    without ``lvis`` (LVIS has none)."""
    rng = np.random.default_rng(seed)
    h, w = size
    cat_ids = [1 + 2 * k for k in range(num_classes)]
    cats = []
    for k, cid in enumerate(cat_ids):
        c = dict(id=cid, name=f'class_{k:04d}')
        if lvis:
            c['frequency'] = 'f' if k < 0.25 * num_classes else \
                'c' if k < 0.6 * num_classes else 'r'
        cats.append(c)
    # long-tailed class frequency; the last category never has an instance
    p = 1.0 / np.arange(1, num_classes) if lvis else np.ones(num_classes - 1)
    p /= p.sum()
    images, anns = [], []
    for i in range(num_images):
        img_id = 101 + i
        n = int(rng.integers(gts_per_image[0], gts_per_image[1] + 1))
        labels = rng.choice(num_classes - 1, size=n, p=p)
        bw = np.exp(rng.uniform(np.log(4), np.log(0.9 * w), n))
        bh = np.clip(bw * np.exp(rng.normal(0, 0.4, n)), 4, 0.9 * h)
        x = rng.uniform(0, w - bw)
        y = rng.uniform(0, h - bh)
        present = sorted({cat_ids[lb] for lb in labels})
        for j in range(n):
            crowd = (not lvis) and rng.random() < crowd_prob
            box = [float(x[j]), float(y[j]), float(bw[j]), float(bh[j])]
            ann = dict(id=len(anns) + 1, image_id=img_id, category_id=cat_ids[labels[j]],
                       bbox=box, iscrowd=int(crowd), area=box[2] * box[3])
            if masks:
                poly = _octagon(*box, cut=float(rng.uniform(0.05, 0.3)))
                if crowd:
                    import pycocotools.mask as mask_utils
                    m = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], h, w)))
                    ann['segmentation'] = _uncompressed_rle(m)
                    ann['area'] = float(m.sum())
                else:
                    ann['segmentation'] = [poly]
                    ann['area'] = float(_rle_area(poly, h, w))
            anns.append(ann)
        img = dict(id=img_id, width=w, height=h, file_name=f'{img_id}.jpg')
        if lvis:
            absent = [c for c in cat_ids if c not in present]
            # the category without instances is negative somewhere, so its detections count
            neg = list(rng.choice(absent, size=min(neg_per_image, len(absent)), replace=False))
            if i % 3 == 0 and cat_ids[-1] not in neg:
                neg.append(cat_ids[-1])
            img['neg_category_ids'] = sorted(int(c) for c in neg)
            img['not_exhaustive_category_ids'] = [c for c in present
                                                  if rng.random() < not_exhaustive_prob]
        images.append(img)
    return dict(images=images, annotations=anns, categories=cats)


def _rle_area(poly, h, w) -> int:
    import pycocotools.mask as mask_utils
    return int(mask_utils.area(mask_utils.merge(mask_utils.frPyObjects([poly], h, w))))


def make_dets(gt: dict, dets_per_image: int, *, masks: bool = False, seed: int = 1,
              detect_prob: float = 0.8, wrong_class_prob: float = 0.15,
              extra_images: dict = None) -> list:
    """Detections as COCO result dicts (``image_id``, ``category_id``, ``bbox`` xywh,
    ``score``, and ``segmentation`` as compressed RLE with ``masks``). ``dets_per_image`` per
    image (``extra_images``: {image id: count} overrides, and there the false positives
    outscore the image's true positives, so a per-image limit drops true positives), the last
    image gets none, scores are distinct. LVIS sets (images with ``neg_category_ids``): half
    of the false positives take a category that is present or negative in the image, so that
    they count."""
    rng = np.random.default_rng(seed)
    cat_ids = [c['id'] for c in gt['categories']]
    by_img = {im['id']: [] for im in gt['images']}
    for a in gt['annotations']:
        by_img[a['image_id']].append(a)
    extra_images = extra_images or {}
    out, quality = [], []
    last = gt['images'][-1]['id']
    for im in gt['images']:
        if im['id'] == last:
            continue
        h, w = im['height'], im['width']
        want = extra_images.get(im['id'], dets_per_image)
        gts = by_img[im['id']]
        counted = sorted({a['category_id'] for a in gts} | set(im.get('neg_category_ids', [])))
        dets = []
        for a in gts:
            if len(dets) >= want or rng.random() > detect_prob:
                continue
            x, y, bw, bh = a['bbox']
            s = rng.normal(0, 0.12, 4)
            box = [x + s[0] * bw, y + s[1] * bh, bw * np.exp(s[2]), bh * np.exp(s[3])]
            cat = a['category_id'] if rng.random() > wrong_class_prob else \
                int(rng.choice(cat_ids))
            dets.append((box, cat, 1.0 + rng.random()))
        while len(dets) < want:
            bw = float(np.exp(rng.uniform(np.log(4), np.log(0.9 * w))))
            bh = float(np.clip(bw * np.exp(rng.normal(0, 0.4)), 4, 0.9 * h))
            box = [float(rng.uniform(0, w - bw)), float(rng.uniform(0, h - bh)), bw, bh]
            cat = int(rng.choice(counted)) if counted and 'neg_category_ids' in im and \
                rng.random() < 0.5 else int(rng.choice(cat_ids))
            dets.append((box, cat, rng.random() * 1.5 + 2.0 * (im['id'] in extra_images)))
        for box, cat, q in dets:
            x, y, bw, bh = box
            x0, y0 = min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)
            bw, bh = max(min(bw, w - x0), 1.0), max(min(bh, h - y0), 1.0)
            d = dict(image_id=im['id'], category_id=cat,
                     bbox=[round(x0, 2), round(y0, 2), round(bw, 2), round(bh, 2)])
            if masks:
                d['segmentation'] = _rle_of_polygon(
                    _octagon(x0, y0, bw, bh, cut=float(rng.uniform(0.05, 0.3))), h, w)
            out.append(d)
            quality.append(q)
    # distinct scores, ranked by "quality" (true positives score higher on average)
    order = np.argsort(np.asarray(quality), kind='stable')
    scores = np.empty(len(out))
    scores[order] = (np.arange(len(out)) + 1) / (len(out) + 1)
    for d, s in zip(out, scores):
        d['score'] = float(s)
    return out


# ------------------------------------------------------------------------------ engines
@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def reference_coco(gt_dict: dict, dets: list, iou_type: str, *, img_ids=None, cat_ids=None,
                   max_dets=(100, 300, 1000), use_cats: bool = True):
    """pycocotools on the same settings mmdet's CocoMetric uses; returns (COCOeval, summary
    under mmdet's names). ``gt_dict`` and ``dets`` are used (and changed) in place."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with _quiet():
        gt = COCO()
        gt.dataset = gt_dict
        gt.createIndex()
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, iou_type)
        ev.params.imgIds = sorted(img_ids if img_ids is not None else gt.getImgIds())
        ev.params.catIds = sorted(cat_ids if cat_ids is not None else gt.getCatIds())
        ev.params.maxDets = list(max_dets)
        ev.params.useCats = int(use_cats)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev, OrderedDict((k, float(ev.stats[i])) for k, i in COCO_STATS.items())


def reference_lvis(gt_dict: dict, dets: list, iou_type: str, *, img_ids=None,
                   max_dets: int = 300):
    """lvis-api 0.5.3 (numpy-2 shim of hce_det.compat); returns (LVISEval, get_results())."""
    from hce_det.compat import lvis_numpy2_aliases
    lvis_numpy2_aliases()
    import logging

    from lvis import LVIS, LVISEval, LVISResults
    gt = LVIS.__new__(LVIS)
    gt.logger = logging.getLogger('lvis.lvis')
    gt.dataset = gt_dict
    gt._create_index()
    logging.getLogger('lvis').setLevel(logging.ERROR)
    dt = LVISResults(gt, dets, max_dets=max_dets)
    ev = LVISEval(gt, dt, iou_type)
    ev.params.img_ids = sorted(img_ids if img_ids is not None else gt.get_img_ids())
    ev.run()
    return ev, OrderedDict((k, float(v)) for k, v in ev.get_results().items())


def faster_coco(gt_dict: dict, dets: list, iou_type: str, *, img_ids=None, cat_ids=None,
                max_dets=(100, 300, 1000), use_cats: bool = True):
    """faster-coco-eval through hce_det's engine functions (what FasterCocoMetric runs)."""
    from hce_det.evaluation.faster_coco_metric import coco_summary, evaluate_faster, faster_gt
    gt = faster_gt(gt_dict)
    ev = evaluate_faster(gt, dets, iou_type,
                         img_ids=img_ids if img_ids is not None else gt.getImgIds(),
                         cat_ids=cat_ids, max_dets=max_dets, use_cats=use_cats)
    return ev, coco_summary(ev)


def faster_lvis(gt_dict: dict, dets: list, iou_type: str, *, img_ids=None, max_dets: int = 300):
    """faster-coco-eval, LVIS rules (what FasterLVISMetric runs)."""
    from hce_det.evaluation.faster_coco_metric import evaluate_faster, faster_gt, lvis_summary
    gt = faster_gt(gt_dict)
    ev = evaluate_faster(gt, dets, iou_type,
                         img_ids=img_ids if img_ids is not None else gt.getImgIds(),
                         lvis=True, max_dets=max_dets)
    return ev, lvis_summary(ev, gt)


def per_category(ev, lvis: bool) -> np.ndarray:
    """Per-category AP (all IoUs, area all, largest maxDets; NaN where undefined) of either
    engine's evaluator, categories in sorted id order."""
    prec = np.asarray(ev.eval['precision'])
    if prec.ndim == 5:
        prec = prec[..., -1]
    out = []
    for k in range(prec.shape[2]):
        s = prec[:, :, k, 0]
        s = s[s > -1]
        out.append(float(np.mean(s)) if s.size else np.nan)
    return np.asarray(out)


# ------------------------------------------------------------------------------ measuring
def _status_kb(key: str) -> int:
    with open('/proc/self/status') as f:
        return int(re.search(rf'{key}:\s+(\d+)', f.read()).group(1))


class PeakRSS:
    """Peak resident memory added inside the block, in MiB (VmHWM reset via clear_refs, or a
    10 ms sampler thread where the reset is not allowed)."""

    def __enter__(self):
        gc.collect()
        self.base = _status_kb('VmRSS')
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
            self.sampler = None
        except OSError:
            self.peak, self.stop = self.base, threading.Event()
            self.sampler = threading.Thread(target=self._sample, daemon=True)
            self.sampler.start()
        return self

    def _sample(self):
        while not self.stop.wait(0.01):
            self.peak = max(self.peak, _status_kb('VmRSS'))

    def __exit__(self, *exc):
        if self.sampler is None:
            peak = _status_kb('VmHWM')
        else:
            self.stop.set()
            self.sampler.join()
            peak = max(self.peak, _status_kb('VmRSS'))
        self.mib = max(peak - self.base, 0) / 1024
        return False


def run_engine(fn, gt_dict, dets, iou_type, **kw):
    """Time and measure one engine on its own copies of the inputs (copies made outside)."""
    gt_copy = copy.deepcopy(gt_dict)
    det_copy = [dict(d) for d in dets]
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        ev, summary = fn(gt_copy, det_copy, iou_type, **kw)
        seconds = time.perf_counter() - t0
    return dict(ev=ev, summary=summary, seconds=seconds, peak_mib=mem.mib)


def import_engines(lvis: bool) -> None:
    """Import everything before timing (hce_det pulls in torch and mmdet)."""
    import faster_coco_eval  # noqa: F401
    import pycocotools.cocoeval  # noqa: F401

    import hce_det.evaluation.faster_coco_metric  # noqa: F401
    if lvis:
        from hce_det.compat import lvis_numpy2_aliases
        lvis_numpy2_aliases()
        import lvis  # noqa: F401


def compare(task: str, gt_dict: dict, dets: list, iou_type: str, lvis: bool) -> dict:
    import_engines(lvis)
    ref_fn, fast_fn = (reference_lvis, faster_lvis) if lvis else (reference_coco, faster_coco)
    ref = run_engine(ref_fn, gt_dict, dets, iou_type)
    fast = run_engine(fast_fn, gt_dict, dets, iou_type)
    keys = [k for k in ref['summary'] if k in fast['summary']]
    diff = max(abs(ref['summary'][k] - fast['summary'][k]) for k in keys)
    pa, pb = per_category(ref['ev'], lvis), per_category(fast['ev'], lvis)
    same_nan = bool(np.array_equal(np.isnan(pa), np.isnan(pb)))
    cat_diff = float(np.nanmax(np.abs(pa - pb))) if (~np.isnan(pa)).any() else 0.0
    return dict(task=task, iou_type=iou_type, images=len(gt_dict['images']), dets=len(dets),
                categories=len(gt_dict['categories']),
                reference=dict(seconds=ref['seconds'], peak_mib=ref['peak_mib']),
                faster=dict(seconds=fast['seconds'], peak_mib=fast['peak_mib']),
                speedup=ref['seconds'] / max(fast['seconds'], 1e-9),
                max_abs_diff_summary=diff, max_abs_diff_per_category=cat_diff,
                undefined_categories_agree=same_nan,
                summary_reference=dict(ref['summary']), summary_faster=dict(fast['summary']))


def _print(r: dict) -> None:
    ref_name = 'lvis-api' if r['task'] == 'LVIS' else 'pycocotools'
    print(f"\n{r['task']} {r['iou_type']}: {r['images']} images, {r['dets']} detections, "
          f"{r['categories']} categories")
    print(f"  {'engine':<18}{'seconds':>10}{'peak MiB':>11}")
    print(f"  {ref_name:<18}{r['reference']['seconds']:>10.2f}"
          f"{r['reference']['peak_mib']:>11.0f}")
    print(f"  {'faster-coco-eval':<18}{r['faster']['seconds']:>10.2f}"
          f"{r['faster']['peak_mib']:>11.0f}")
    print(f"  time ratio {ref_name} / faster-coco-eval: {r['speedup']:.2f}x")
    print(f"  max |difference|: summary numbers {r['max_abs_diff_summary']:.2e}, per-category "
          f"AP {r['max_abs_diff_per_category']:.2e} (undefined categories agree: "
          f"{r['undefined_categories_agree']})")
    print('  ' + '  '.join(f'{k} {v:.4f}' for k, v in r['summary_faster'].items()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--coco-images', type=int, default=5000)
    ap.add_argument('--coco-dets', type=int, default=94, help='detections per image')
    ap.add_argument('--coco-classes', type=int, default=80)
    ap.add_argument('--lvis-images', type=int, default=2000)
    ap.add_argument('--lvis-dets', type=int, default=300, help='detections per image')
    ap.add_argument('--lvis-classes', type=int, default=1203)
    ap.add_argument('--iou-type', choices=('bbox', 'segm'), default='bbox')
    ap.add_argument('--only', choices=('coco', 'lvis'))
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', help='write the results as JSON')
    args = ap.parse_args(argv)
    for n, name in ((args.coco_classes, '--coco-classes'), (args.lvis_classes, '--lvis-classes')):
        if n < 2:
            ap.error(f'{name} must be >= 2 (one category is left without ground truth)')
    for n, name in ((args.coco_images, '--coco-images'), (args.lvis_images, '--lvis-images')):
        if n < 2:
            ap.error(f'{name} must be >= 2 (one image is left without detections)')
    masks = args.iou_type == 'segm'
    results = []
    if args.only in (None, 'coco'):
        gt = make_gt(args.coco_images, args.coco_classes, masks=masks, seed=args.seed)
        dets = make_dets(gt, args.coco_dets, masks=masks, seed=args.seed + 1)
        if masks:
            for d in dets:      # as mmdet's CocoMetric: mask areas for the area ranges
                d.pop('bbox')
        results.append(compare('COCO', gt, dets, args.iou_type, lvis=False))
        _print(results[-1])
    if args.only in (None, 'lvis'):
        gt = make_gt(args.lvis_images, args.lvis_classes, lvis=True, masks=masks,
                     seed=args.seed)
        dets = make_dets(gt, args.lvis_dets, masks=masks, seed=args.seed + 1)
        results.append(compare('LVIS', gt, dets, args.iou_type, lvis=True))
        _print(results[-1])
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == '__main__':
    main()
