"""Per-class AP at IoU 0.5, VOC 11-point and area (all-point) modes in one pass, as reported by
the domain-adaptation papers (CR-DA-DET evaluates with py-faster-rcnn's ``voc_eval``: legacy
``+1`` box widths; ``use_legacy_coordinate`` keeps that choice configurable)."""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import MMLogger, print_log

from mmdet.evaluation.functional import eval_map
from mmdet.evaluation.metrics import VOCMetric
from mmdet.registry import METRICS

MODES = ('11points', 'area')


def per_class_ap50(preds: Sequence[List[np.ndarray]], gts: Sequence[dict],
                   classes: Sequence[str], iou_thr: float = 0.5,
                   use_legacy_coordinate: bool = True) -> Dict[str, dict]:
    """``{'11points'|'area': {'per_class': {cls: AP or None}, 'num_gts': {...}, 'mAP': float}}``.

    A class without ground truth gets ``None`` and is left out of the mean (as ``eval_map``).
    """
    out = OrderedDict()
    for mode in MODES:
        mean_ap, results = eval_map(list(preds), list(gts), iou_thr=iou_thr, eval_mode=mode,
                                    logger='silent', use_legacy_coordinate=use_legacy_coordinate,
                                    nproc=1)
        per_cls, n_gts = OrderedDict(), OrderedDict()
        for name, res in zip(classes, results):
            n_gts[name] = int(res['num_gts'])
            per_cls[name] = float(res['ap']) if res['num_gts'] > 0 else None
        out[mode] = dict(per_class=per_cls, num_gts=n_gts, mAP=float(mean_ap))
    return out


def format_table(table: Dict[str, dict]) -> str:
    """Plain-text table: one row per class, columns AP50 (11-point) and AP50 (area), in %."""
    classes = list(table['area']['per_class'])
    w = max(8, max(len(c) for c in classes) + 1)
    lines = [f'{"class":<{w}}{"#gt":>7}{"AP50-11pt":>11}{"AP50-area":>11}']

    def pct(v):
        return f'{100 * v:11.1f}' if v is not None else f'{"-":>11}'
    for c in classes:
        lines.append(f'{c:<{w}}{table["area"]["num_gts"][c]:>7}'
                     f'{pct(table["11points"]["per_class"][c])}{pct(table["area"]["per_class"][c])}')
    lines.append(f'{"mAP":<{w}}{"":>7}{pct(table["11points"]["mAP"])}{pct(table["area"]["mAP"])}')
    return '\n'.join(lines)


@METRICS.register_module()
class VOCPerClassAP50Metric(VOCMetric):
    """mmdet ``VOCMetric`` (same ``process``) computing AP50 in both VOC modes, logging a
    per-class table and optionally writing it to ``out_json``.

    Metric keys: ``mAP50_area``, ``mAP50_11pt`` and ``AP50_area/<class>``, ``AP50_11pt/<class>``.
    """
    default_prefix: Optional[str] = 'voc50'

    def __init__(self, out_json: Optional[str] = None, use_legacy_coordinate: bool = True,
                 iou_thr: float = 0.5, **kwargs) -> None:
        super().__init__(iou_thrs=iou_thr, metric='mAP', **kwargs)
        self.out_json = out_json
        self.use_legacy_coordinate = use_legacy_coordinate

    def compute_metrics(self, results: list) -> dict:
        if not results:
            raise ValueError('VOCPerClassAP50Metric got no results: is the val dataloader empty?')
        gts, preds = zip(*results)
        classes = self.dataset_meta['classes']
        table = per_class_ap50(preds, gts, classes, self.iou_thrs[0], self.use_legacy_coordinate)
        print_log('\n' + format_table(table), logger=MMLogger.get_current_instance())
        if self.out_json:
            os.makedirs(osp.dirname(osp.abspath(self.out_json)), exist_ok=True)
            with open(self.out_json, 'w') as f:
                json.dump(table, f, indent=1)
        metrics = OrderedDict()
        for mode, short in (('area', 'area'), ('11points', '11pt')):
            metrics[f'mAP50_{short}'] = round(table[mode]['mAP'], 4)
            for c, v in table[mode]['per_class'].items():
                if v is not None:
                    metrics[f'AP50_{short}/{c}'] = round(v, 4)
        return metrics
