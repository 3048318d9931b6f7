"""Per-class AP50 (VOC 11-point and area) against a hand computation; JSON output."""
import json

import numpy as np
import pytest
import torch

from conftest import AP50_CLASSES as CLASSES, ap50_case
from hce_det.evaluation.voc_per_class import (VOCPerClassAP50Metric, format_table,
                                              per_class_ap50)


def test_per_class_ap50_hand_values():
    preds, gts = ap50_case()
    t = per_class_ap50(preds, gts, CLASSES, use_legacy_coordinate=False)
    # a: 2 gts, 1 TP (recall 0.5, precision 1); b: FP then TP (precision 0.5 at recall 1)
    assert t['area']['per_class']['a'] == pytest.approx(0.5)
    assert t['area']['per_class']['b'] == pytest.approx(0.5)
    assert t['11points']['per_class']['a'] == pytest.approx(6 / 11)
    assert t['11points']['per_class']['b'] == pytest.approx(0.5)
    assert t['area']['per_class']['c'] is None          # no ground truth: excluded
    assert t['area']['mAP'] == pytest.approx(0.5)
    assert t['11points']['mAP'] == pytest.approx((6 / 11 + 0.5) / 2)
    table = format_table(t)
    assert 'AP50-11pt' in table and table.splitlines()[-1].startswith('mAP')


def test_metric_process_compute_and_json(tmp_path):
    out = tmp_path / 'sub' / 'ap.json'
    metric = VOCPerClassAP50Metric(out_json=str(out), use_legacy_coordinate=False)
    metric.dataset_meta = dict(classes=CLASSES)
    preds, gts = ap50_case()
    samples = []
    for p, g in zip(preds, gts):
        boxes = np.concatenate([d[:, :4] for d in p]) if sum(len(d) for d in p) else \
            np.zeros((0, 4), np.float32)
        scores = np.concatenate([d[:, 4] for d in p])
        labels = np.concatenate([np.full(len(d), i) for i, d in enumerate(p)])
        samples.append(dict(
            gt_instances=dict(bboxes=torch.tensor(g['bboxes']), labels=torch.tensor(g['labels'])),
            ignored_instances=dict(bboxes=torch.zeros(0, 4), labels=torch.zeros(0).long()),
            pred_instances=dict(bboxes=torch.tensor(boxes), scores=torch.tensor(scores),
                                labels=torch.tensor(labels).long())))
    metric.process({}, samples)
    res = metric.compute_metrics(metric.results)
    assert res['mAP50_area'] == pytest.approx(0.5)
    assert res['AP50_11pt/a'] == pytest.approx(round(6 / 11, 4))
    assert 'AP50_area/c' not in res
    saved = json.loads(out.read_text())
    assert saved['area']['per_class']['b'] == pytest.approx(0.5)
    with pytest.raises(ValueError, match='no results'):
        metric.compute_metrics([])
