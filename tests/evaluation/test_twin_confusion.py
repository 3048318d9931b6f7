"""Twin confusion (hce_det/evaluation/twin_confusion.py) against a hand-made set of detections."""
import numpy as np
import pytest
import torch

from hce_det.evaluation.twin_confusion import TwinConfusionMetric, twin_confusion

BOAT, CAR, BUOY, CONE, DISC = 0, 1, 2, 3, 4
TWIN_OF = {BOAT: CAR, CAR: BOAT, BUOY: CONE, CONE: BUOY}


def _gt(*items):
    return (np.array([b for b, _ in items], np.float32).reshape(-1, 4),
            np.array([c for _, c in items]))


def _det(*items):
    return (np.array([b for b, _, _ in items], np.float32).reshape(-1, 4),
            np.array([s for _, s, _ in items], np.float32), np.array([c for _, _, c in items]))


A, B, C = [0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]
A_SHIFT = [1, 0, 11, 10]        # IoU with A = 90/110 = 0.82
A_FAR = [6, 0, 16, 10]          # IoU with A = 40/160 = 0.25


def test_hand_made_detections():
    gts = [_gt((A, BOAT), (B, CAR), (C, DISC)),
           _gt((A, BUOY), (B, CONE))]
    dets = [_det((A_SHIFT, 0.9, CAR),      # boat gt: best is labelled car -> twin
                 (A, 0.5, BOAT),           #   (lower score, ignored)
                 (B, 0.8, CAR),            # car gt: correct
                 (C, 0.9, DISC)),          # disc gt: not a context class
            _det((A_FAR, 0.99, CONE),      # buoy gt: IoU 0.25 < 0.5, not a match
                 (A, 0.6, BUOY),           #   -> matched by this one, correct
                 (B, 0.2, BUOY),           # cone gt: below score_thr
                 (B, 0.7, DISC))]          #   label outside the pair: not counted
    out = twin_confusion(gts, dets, TWIN_OF, iou_thr=0.5, score_thr=0.3)
    assert out['matched'] == 3 and out['twin'] == 1
    assert out['confusion'] == pytest.approx(1 / 3)
    assert out['per_class'] == {BOAT: (1, 1), CAR: (1, 0), BUOY: (1, 0), CONE: (0, 0)}
    # lower score threshold: the cone gt is now matched by the buoy-labelled box (a twin)
    out = twin_confusion(gts, dets, TWIN_OF, iou_thr=0.5, score_thr=0.1)
    assert (out['matched'], out['twin']) == (4, 2)


def test_nothing_matched_gives_none():
    out = twin_confusion([_gt((A, BOAT))], [_det()], TWIN_OF)
    assert out['confusion'] is None and out['matched'] == 0


def test_registered_metric_keys():
    m = TwinConfusionMetric()
    m.dataset_meta = dict(classes=('boat', 'car', 'buoy', 'cone', 'disc'))
    sample = dict(gt_instances=dict(bboxes=torch.tensor([A, B], dtype=torch.float32),
                                    labels=torch.tensor([BOAT, CONE])),
                  pred_instances=dict(bboxes=torch.tensor([A, B], dtype=torch.float32),
                                      scores=torch.tensor([0.9, 0.9]),
                                      labels=torch.tensor([CAR, CONE])))
    m.process({}, [sample])
    res = m.evaluate(1)
    assert res['twin/confusion'] == pytest.approx(0.5)
    assert res['twin/matched'] == 2
    assert res['twin/boat'] == 1.0 and res['twin/cone'] == 0.0 and res['twin/car'] == -1.0


def test_metric_refuses_unknown_classes():
    m = TwinConfusionMetric(pairs=[('boat', 'truck')])
    m.dataset_meta = dict(classes=('boat', 'car'))
    m.results = [(_gt((A, BOAT)), _det((A, 0.9, BOAT)))]
    with pytest.raises(ValueError, match='truck'):
        m.compute_metrics(m.results)
