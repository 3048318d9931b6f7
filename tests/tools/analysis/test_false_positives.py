"""tools/analysis/false_positives.py: a class's detections as TP / duplicate / other / background."""
import json
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
from false_positives import classify_detections, main, summarise  # noqa: E402

BOX_A, BOX_B, EMPTY = [0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]


def _hand_made():
    """Image 0: gt A of class 0, gt B of class 1; class-0 detections on A (0.9, then 0.8),
    on B (0.7), on nothing (0.6), and a class-1 detection on B (0.95, not class 0's).
    Image 1: gt A of class 0, found at 0.5."""
    gts = [(np.array([BOX_A, BOX_B]), np.array([0, 1])), (np.array([BOX_A]), np.array([0]))]
    dets = [(np.array([BOX_A, BOX_A, BOX_B, EMPTY, BOX_B]), np.array([0.9, 0.8, 0.7, 0.6, 0.95]),
             np.array([0, 0, 0, 0, 1])),
            (np.array([BOX_A]), np.array([0.5]), np.array([0]))]
    return gts, dets


def test_classify_detections_by_hand():
    gts, dets = _hand_made()
    ranked = classify_detections(gts, dets, cls=0)
    assert [(round(s, 2), k, lab) for s, k, lab in ranked] == [
        (0.9, 'tp', 0), (0.8, 'duplicate', 0), (0.7, 'other', 1), (0.6, 'background', -1),
        (0.5, 'tp', 0)]


def test_match_is_greedy_by_score_not_by_iou():
    # the higher-scored detection overlaps the gt less but still takes it (COCO's rule)
    gts = [(np.array([BOX_A]), np.array([0]))]
    dets = [(np.array([[1, 1, 10, 10], BOX_A]), np.array([0.9, 0.4]), np.array([0, 0]))]
    kinds = [k for _, k, _ in classify_detections(gts, dets, cls=0)]
    assert kinds == ['tp', 'duplicate']


def test_summarise_counts_and_fps_above_recall():
    gts, dets = _hand_made()
    res = summarise(classify_detections(gts, dets, 0), num_gts=2, score_thrs=(0.65,),
                    recalls=(0.5, 1.0))
    assert res['recall'] == 1.0
    assert res['score>=0.65'] == {'tp': 1, 'duplicate': 1, 'other': 1}
    assert res['fps_above_recall_0.5'] == {}
    assert res['fps_above_recall_1.0'] == {'duplicate': 1, 'other': 1, 'background': 1}
    # a recall never reached is None, not the last count
    missed = summarise(classify_detections(gts, dets, 0), num_gts=3, recalls=(1.0,))
    assert missed['fps_above_recall_1.0'] is None
    assert missed['recall'] == pytest.approx(2 / 3)


def test_main_reads_a_test_pickle_and_names_the_confused_class(tmp_path, capsys):
    ann = dict(categories=[dict(id=7, name='ring'), dict(id=3, name='disc')],
               images=[dict(id=1), dict(id=2)],
               annotations=[dict(image_id=1, category_id=7, bbox=[0, 0, 10, 10]),
                            dict(image_id=1, category_id=3, bbox=[20, 20, 10, 10]),
                            dict(image_id=2, category_id=7, bbox=[0, 0, 10, 10])])
    # labels index the categories sorted by id: 0 = disc (id 3), 1 = ring (id 7)
    preds = [dict(img_id=1, pred_instances=dict(
                 bboxes=torch.tensor([BOX_A, BOX_B], dtype=torch.float32),
                 scores=torch.tensor([0.9, 0.7]), labels=torch.tensor([1, 1]))),
             dict(img_id=2, pred_instances=dict(
                 bboxes=torch.tensor([BOX_A], dtype=torch.float32),
                 scores=torch.tensor([0.2]), labels=torch.tensor([1])))]
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    with open(tmp_path / 'p.pkl', 'wb') as f:
        pickle.dump(preds, f)
    out = main([str(tmp_path / 'p.pkl'), str(tmp_path / 'ann.json'), '--cls', 'ring',
                '--score-thr', '0.05'])
    assert out['ring']['other_on'] == {'disc': 1}
    assert out['ring']['fps_above_recall_0.9'] == {'other': 1}
    assert json.loads(capsys.readouterr().out)['ring']['num_gts'] == 2
    with pytest.raises(SystemExit, match='not a class'):
        main([str(tmp_path / 'p.pkl'), str(tmp_path / 'ann.json'), '--cls', 'boat'])
