"""Twin confusion: how often a detector names a context-dependent object as its twin class.

For every ground-truth box of a class with a twin (``boat``/``car``, ``buoy``/``cone`` in the
built-in data), take the highest-scoring detection with score >= ``score_thr`` and IoU >=
``iou_thr`` whose label is the class or its twin. Twin confusion is the share of those matched
detections that carry the twin's label. AP cannot show this directly: a twin-labelled box is a
false positive of one class and a miss of the other, mixed with every other error.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdet.registry import METRICS
from mmdet.structures.bbox import bbox_overlaps


def twin_confusion(gts: Sequence[Tuple[np.ndarray, np.ndarray]],
                   dets: Sequence[Tuple[np.ndarray, np.ndarray, np.ndarray]],
                   twin_of: Mapping[int, int], iou_thr: float = 0.5,
                   score_thr: float = 0.05) -> Dict[str, object]:
    """``gts[i] = (boxes xyxy (n, 4), labels (n,))``, ``dets[i] = (boxes, scores, labels)``.

    Returns ``{'confusion': share or None, 'matched': int, 'twin': int,
    'per_class': {label: (matched, twin)}}`` over the gts whose label is in ``twin_of``.
    """
    per_class = {c: [0, 0] for c in twin_of}
    for (g_boxes, g_labels), (d_boxes, d_scores, d_labels) in zip(gts, dets):
        g_boxes, d_boxes = np.asarray(g_boxes, np.float32), np.asarray(d_boxes, np.float32)
        g_labels, d_labels = np.asarray(g_labels), np.asarray(d_labels)
        keep = np.asarray(d_scores) >= score_thr
        d_boxes, d_scores, d_labels = d_boxes[keep], np.asarray(d_scores)[keep], d_labels[keep]
        if not len(g_boxes) or not len(d_boxes):
            continue
        ious = bbox_overlaps(torch.from_numpy(g_boxes.reshape(-1, 4)),
                             torch.from_numpy(d_boxes.reshape(-1, 4))).numpy()
        for j, c in enumerate(g_labels.tolist()):
            if c not in twin_of:
                continue
            cand = (ious[j] >= iou_thr) & np.isin(d_labels, (c, twin_of[c]))
            if not cand.any():
                continue
            best = np.flatnonzero(cand)[np.argmax(d_scores[cand])]
            per_class[c][0] += 1
            per_class[c][1] += int(d_labels[best] == twin_of[c])
    matched = sum(m for m, _ in per_class.values())
    twin = sum(t for _, t in per_class.values())
    return dict(confusion=twin / matched if matched else None, matched=matched, twin=twin,
                per_class={c: tuple(v) for c, v in per_class.items()})


@METRICS.register_module()
class TwinConfusionMetric(BaseMetric):
    """Registered wrapper of :func:`twin_confusion` for val/test evaluators.

    Ground truth comes from each sample's ``gt_instances`` in original image coordinates, so the
    test pipeline must load annotations after ``Resize`` (as the synth configs and mmdet's VOC
    configs do). Keys: ``twin/confusion`` (fraction; -1 when nothing matched), ``twin/matched``
    and ``twin/<class>`` per context class.
    """
    default_prefix: Optional[str] = 'twin'

    def __init__(self, pairs: Sequence[Tuple[str, str]] = (('boat', 'car'), ('buoy', 'cone')),
                 iou_thr: float = 0.5, score_thr: float = 0.05, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pairs = [tuple(p) for p in pairs]
        self.iou_thr, self.score_thr = iou_thr, score_thr

    def _twin_of(self) -> Dict[int, int]:
        classes = list(self.dataset_meta['classes'])
        missing = sorted({c for p in self.pairs for c in p} - set(classes))
        if missing:
            raise ValueError(f'TwinConfusionMetric: classes {missing} are not in the dataset '
                             f'classes {classes}; set pairs=... to pairs of dataset classes')
        out = {}
        for a, b in self.pairs:
            out[classes.index(a)] = classes.index(b)
            out[classes.index(b)] = classes.index(a)
        return out

    def process(self, data_batch, data_samples: List[dict]) -> None:
        for s in data_samples:
            gt, pred = s['gt_instances'], s['pred_instances']
            self.results.append(((gt['bboxes'].cpu().numpy(), gt['labels'].cpu().numpy()),
                                 (pred['bboxes'].cpu().numpy(), pred['scores'].cpu().numpy(),
                                  pred['labels'].cpu().numpy())))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        twin_of = self._twin_of()
        out = twin_confusion([r[0] for r in results], [r[1] for r in results], twin_of,
                             self.iou_thr, self.score_thr)
        classes = self.dataset_meta['classes']
        metrics = dict(confusion=-1.0 if out['confusion'] is None else out['confusion'],
                       matched=float(out['matched']))
        for c, (m, t) in out['per_class'].items():
            metrics[classes[c]] = t / m if m else -1.0
        MMLogger.get_current_instance().info(
            f"twin confusion {metrics['confusion']:.3f} over {out['matched']} matched "
            f"context-class gts (score >= {self.score_thr}, IoU >= {self.iou_thr})")
        return metrics
