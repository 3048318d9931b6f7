"""Where do one class's false positives land? A measurement behind an AP drop of a rare class.

    python tools/analysis/false_positives.py PRED_PKL ANN_JSON --cls ring [--cls ...]
        [--iou-thr 0.5] [--score-thr 0.05 0.3] [--recall 0.5 0.9]

PRED_PKL is ``tools/test.py CONFIG CKPT --out PRED_PKL``; ANN_JSON the COCO/LVIS annotation file of
the same split (boxes in original image coordinates, as the pickle). The class's detections are
ranked by score and matched greedily as COCO does (each to the unmatched gt of the class with the
highest IoU >= ``iou_thr``); every detection is one of

* ``tp``: matched;
* ``duplicate``: overlaps an already matched gt of the class;
* ``other``: overlaps a gt of another class (named: the class confused with);
* ``background``: overlaps no gt.

Printed per class (JSON): the counts at each ``--score-thr``, the false positives that outrank
the true positive reaching each ``--recall`` (those are what lower AP), and the classes whose
objects receive the ``other`` detections (at the lowest ``--score-thr``). Two heads that find the class equally often (same
recall) but differ in AP differ in these counts.
"""
import argparse
import collections
import json
import pickle
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

from mmdet.structures.bbox import bbox_overlaps


def classify_detections(gts: Sequence[Tuple[np.ndarray, np.ndarray]],
                        dets: Sequence[Tuple[np.ndarray, np.ndarray, np.ndarray]],
                        cls: int, iou_thr: float = 0.5) -> List[Tuple[float, str, int]]:
    """``gts[i] = (boxes xyxy (n, 4), labels (n,))``, ``dets[i] = (boxes, scores, labels)`` per
    image (the format of ``hce_det.evaluation.twin_confusion``). Returns ``(score, kind, label)``
    for every detection of ``cls``, highest score first; ``label`` is the confused gt's class for
    ``kind='other'`` (highest IoU among the other classes' gts), else ``cls`` or -1."""
    out = []
    for (g_boxes, g_labels), (d_boxes, d_scores, d_labels) in zip(gts, dets):
        g_boxes = np.asarray(g_boxes, np.float32).reshape(-1, 4)
        g_labels = np.asarray(g_labels)
        mine = np.asarray(d_labels) == cls
        d_boxes = np.asarray(d_boxes, np.float32).reshape(-1, 4)[mine]
        d_scores = np.asarray(d_scores, np.float32)[mine]
        order = np.argsort(-d_scores, kind='stable')
        ious = bbox_overlaps(torch.from_numpy(d_boxes[order]), torch.from_numpy(g_boxes)).numpy()
        same = g_labels == cls
        matched = np.zeros(len(g_boxes), bool)
        for row, k in zip(ious, order):
            score = float(d_scores[k])
            free = same & ~matched & (row >= iou_thr)
            if free.any():
                j = np.flatnonzero(free)[np.argmax(row[free])]
                matched[j] = True
                out.append((score, 'tp', cls))
            elif (same & (row >= iou_thr)).any():
                out.append((score, 'duplicate', cls))
            elif (~same & (row >= iou_thr)).any():
                j = np.flatnonzero(~same)[np.argmax(row[~same])]
                out.append((score, 'other', int(g_labels[j])))
            else:
                out.append((score, 'background', -1))
    out.sort(key=lambda d: -d[0])
    return out


def summarise(ranked: Sequence[Tuple[float, str, int]], num_gts: int,
              score_thrs: Sequence[float] = (0.05, 0.3),
              recalls: Sequence[float] = (0.5, 0.9)) -> Dict[str, object]:
    """Counts by kind above each score threshold; the false positives ranked above the true
    positive that first reaches each recall (None where that recall is never reached)."""
    res = {'num_gts': num_gts,
           'recall': sum(k == 'tp' for _, k, _ in ranked) / num_gts if num_gts else None}
    for thr in score_thrs:
        res[f'score>={thr}'] = dict(collections.Counter(k for s, k, _ in ranked if s >= thr))
    tp, fps = 0, collections.Counter()
    above = {r: None for r in recalls}
    for _, kind, _ in ranked:
        if kind != 'tp':
            fps[kind] += 1
            continue
        tp += 1
        for r in recalls:
            if above[r] is None and num_gts and tp >= r * num_gts:
                above[r] = dict(fps)
    for r in recalls:
        res[f'fps_above_recall_{r}'] = above[r]
    return res


def load_split(pred_pkl: str, ann_json: str):
    """(gts, dets, class names) of a ``tools/test.py --out`` pickle and its annotation file,
    images in the pickle's order; labels are indices into the categories sorted by id."""
    with open(ann_json) as f:
        ann = json.load(f)
    cats = sorted(ann['categories'], key=lambda c: c['id'])
    index = {c['id']: i for i, c in enumerate(cats)}
    per_img = collections.defaultdict(list)
    for a in ann['annotations']:
        x, y, w, h = a['bbox']
        per_img[a['image_id']].append(([x, y, x + w, y + h], index[a['category_id']]))
    with open(pred_pkl, 'rb') as f:
        preds = pickle.load(f)
    gts, dets = [], []
    for p in preds:
        g = per_img.get(p['img_id'], [])
        gts.append((np.array([b for b, _ in g], np.float32).reshape(-1, 4),
                    np.array([c for _, c in g], np.int64)))
        inst = p['pred_instances']
        dets.append(tuple(np.asarray(inst[k]) for k in ('bboxes', 'scores', 'labels')))
    missing = set(per_img) - {p['img_id'] for p in preds}
    if missing:
        raise ValueError(f'{pred_pkl} has no predictions for {len(missing)} images of '
                         f'{ann_json} (e.g. id {min(missing)}): test the same split')
    return gts, dets, [c['name'] for c in cats]


def main(argv=None) -> Dict[str, dict]:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('pred_pkl')
    p.add_argument('ann_json')
    p.add_argument('--cls', action='append', required=True, help='class name (repeatable)')
    p.add_argument('--iou-thr', type=float, default=0.5)
    p.add_argument('--score-thr', type=float, nargs='+', default=[0.05, 0.3])
    p.add_argument('--recall', type=float, nargs='+', default=[0.5, 0.9])
    args = p.parse_args(argv)
    gts, dets, names = load_split(args.pred_pkl, args.ann_json)
    out = {}
    for name in args.cls:
        if name not in names:
            raise SystemExit(f'--cls {name!r} is not a class of {args.ann_json}: {names}')
        c = names.index(name)
        ranked = classify_detections(gts, dets, c, args.iou_thr)
        num_gts = int(sum((labels == c).sum() for _, labels in gts))
        res = summarise(ranked, num_gts, args.score_thr, args.recall)
        res['other_on'] = dict(collections.Counter(
            names[lab] for s, k, lab in ranked
            if k == 'other' and s >= min(args.score_thr)).most_common())
        out[name] = res
        print(json.dumps({name: res}))
    return out


if __name__ == '__main__':
    main()
