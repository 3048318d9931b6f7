"""Recognition base: class counts from a file list or COCO/LVIS annotations, the log prior."""
import json
import math

import pytest
import torch

pytest.importorskip('mmdet')
import hce_det  # noqa: F401,E402
from conftest import TINY_HEAD as HEAD  # noqa: E402
from hce_det.models.recognition import RIDEBBoxHead, load_class_counts  # noqa: E402


# ------------------------------------------------------------------ class counts
def test_class_counts_from_file_list_and_coco_annotations(tmp_path):
    lvis_like = tmp_path / 'lvis.json'
    lvis_like.write_text(json.dumps({'categories': [
        {'id': 2, 'name': 'b', 'instance_count': 5},
        {'id': 1, 'name': 'a', 'instance_count': 50}]}))
    assert load_class_counts(2, class_counts_file=str(lvis_like)).tolist() == [50.0, 5.0]
    coco_like = tmp_path / 'coco.json'
    coco_like.write_text(json.dumps({
        'categories': [{'id': 1, 'name': 'a'}, {'id': 7, 'name': 'b'}],
        'annotations': [{'category_id': 7}, {'category_id': 7}, {'category_id': 1}]}))
    assert load_class_counts(2, class_counts_file=str(coco_like)).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match='num_classes=3'):
        load_class_counts(3, class_counts_file=str(lvis_like))
    with pytest.raises(FileNotFoundError, match='class_counts_file'):
        load_class_counts(2, class_counts_file=str(tmp_path / 'missing.json'))
    with pytest.raises(ValueError, match='class_counts'):
        load_class_counts(2)


def test_log_prior_background_like_most_frequent():
    head = RIDEBBoxHead(**HEAD)
    lp = head.log_prior()
    assert torch.allclose(lp, torch.tensor([0.0, math.log(0.1), math.log(0.01), 0.0]))
