"""LVIS evaluation against a hand-computed case (bbox and segm), for both engines: the
package's FasterLVISMetric (faster-coco-eval) and the lvis-api reference HceLVISMetric (numpy 2).

Hand derivation (IoUs are exactly 1 or 0, so every IoU threshold gives the same AP; LVIS AP is
the mean of 101-point interpolated precision at recall 0, 0.01, ..., 1):

* category a (frequent, 3 gts in image 1): detections TP .9, FP .8, TP .7, TP .6 ->
  recall 1/3,1/3,2/3,1; precision 1,1/2,2/3,3/4; interpolated 1,3/4,3/4,3/4 ->
  AP = (34·1 + 67·0.75) / 101 = 84.25 / 101.
* category b (common, 1 gt in image 1, listed negative in image 2): FP .95 in image 2, TP .5 ->
  interpolated precision 1/2 everywhere -> AP = 0.5.
* category c (rare, 1 gt in image 2): a .99 detection in image 1, where c is neither present nor
  negative, is ignored (federated evaluation); TP .8 -> AP = 1.
* category d (rare, no instances): undefined, left out of the means.
AP = (84.25/101 + 0.5 + 1) / 3, APr = 1, APc = 0.5, APf = 84.25/101.
"""
import json

import numpy as np
import pytest
import torch

import hce_det  # noqa: F401

mask_utils = pytest.importorskip('pycocotools.mask')

H = W = 64
AP_A = 84.25 / 101
EXPECTED = dict(AP=(AP_A + 0.5 + 1) / 3, APr=1.0, APc=0.5, APf=AP_A)


def rect(x, y, w, h):
    return [float(x), float(y), float(w), float(h)]


def poly(b):
    x, y, w, h = b
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


GTS = [  # (image, category, xywh)
    (1, 1, rect(0, 0, 10, 10)), (1, 1, rect(20, 0, 10, 10)), (1, 1, rect(40, 0, 10, 10)),
    (1, 2, rect(0, 30, 12, 12)), (2, 3, rect(5, 5, 20, 20))]
DETS = {  # image -> [(label index, score, xywh)], labels index categories [1, 2, 3, 4]
    1: [(0, .9, GTS[0][2]), (0, .8, rect(0, 50, 8, 8)), (0, .7, GTS[1][2]), (0, .6, GTS[2][2]),
        (1, .5, GTS[3][2]), (2, .99, rect(30, 30, 10, 10))],
    2: [(1, .95, rect(40, 40, 10, 10)), (2, .8, GTS[4][2])]}


@pytest.fixture
def lvis_files(tmp_path):
    cats = [dict(id=1, name='a', frequency='f'), dict(id=2, name='b', frequency='c'),
            dict(id=3, name='c', frequency='r'), dict(id=4, name='d', frequency='r')]
    images = [dict(id=1, width=W, height=H, neg_category_ids=[4], not_exhaustive_category_ids=[]),
              dict(id=2, width=W, height=H, neg_category_ids=[2], not_exhaustive_category_ids=[])]
    anns = [dict(id=i + 1, image_id=im, category_id=c, bbox=b, area=b[2] * b[3],
                 segmentation=poly(b), iscrowd=0) for i, (im, c, b) in enumerate(GTS)]
    gt = tmp_path / 'val.json'
    gt.write_text(json.dumps(dict(images=images, annotations=anns, categories=cats)))
    # a "training" file that moves category a into the rare group
    train = tmp_path / 'train.json'
    train.write_text(json.dumps(dict(categories=[dict(id=1, image_count=3),
                                                 dict(id=2, image_count=50),
                                                 dict(id=3, image_count=5),
                                                 dict(id=4, image_count=500)])))
    return str(gt), str(train)


def mask_of(b):
    rle = mask_utils.merge(mask_utils.frPyObjects(poly(b), H, W))
    return torch.from_numpy(mask_utils.decode(rle).astype(bool))


def samples(images=(1, 2), empty=False):
    out = []
    for im in images:
        dets = [] if empty else DETS[im]
        boxes = torch.tensor([[b[0], b[1], b[0] + b[2], b[1] + b[3]]
                              for _, _, b in dets]).reshape(-1, 4)
        masks = torch.stack([mask_of(b) for _, _, b in dets]) if dets else \
            torch.zeros(0, H, W, dtype=torch.bool)
        out.append(dict(img_id=im, ori_shape=(H, W), pred_instances=dict(
            bboxes=boxes.float(), scores=torch.tensor([s for _, s, _ in dets]).float(),
            labels=torch.tensor([lb for lb, _, _ in dets], dtype=torch.long), masks=masks)))
    return out


def evaluate(metric, data_samples):
    metric.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))
    metric.process({}, data_samples)
    return metric.evaluate(len(data_samples))


@pytest.fixture(params=['FasterLVISMetric', 'HceLVISMetric'])
def build(request):
    """``build(ann_file, **kw)`` -> the metric of the engine under test."""
    from mmdet.registry import METRICS
    if request.param == 'HceLVISMetric':
        pytest.importorskip('lvis')

    def _build(gt, **kw):
        return METRICS.build(dict(type=request.param, ann_file=gt, metric=['bbox', 'segm'],
                                  **kw))
    return _build


def test_numpy2_shim_is_local_to_lvis():
    pytest.importorskip('lvis')
    import lvis.eval
    from hce_det.compat import _NumpyWithRemovedAliases, lvis_numpy2_aliases
    assert not hasattr(np, 'float')                  # numpy itself untouched
    assert lvis_numpy2_aliases() is True
    assert isinstance(lvis.eval.np, _NumpyWithRemovedAliases)
    assert lvis.eval.np.float is float and lvis.eval.np.cumsum is np.cumsum
    with pytest.raises(AttributeError):
        lvis.eval.np.no_such_thing


def test_lvis_metric_reproduces_hand_computed_ap(lvis_files, build):
    gt, _ = lvis_files
    res = evaluate(build(gt, classwise=True), samples())
    for iou in ('bbox', 'segm'):
        for k, v in EXPECTED.items():
            assert res[f'lvis/{iou}_{k}'] == pytest.approx(v, abs=1e-3), (iou, k)
    assert res['lvis/bbox_AP50'] == pytest.approx(EXPECTED['AP'], abs=1e-3)


def test_frequency_groups_from_training_file(lvis_files, build):
    gt, train = lvis_files
    res = evaluate(build(gt, frequency_ann_file=train), samples())
    # a (3 training images) and c are rare now; d (500 images) frequent but has no instances
    assert res['lvis/bbox_APr'] == pytest.approx((AP_A + 1) / 2, abs=1e-3)
    assert res['lvis/bbox_APc'] == pytest.approx(0.5, abs=1e-3)
    assert res['lvis/bbox_APf'] == -1.0


def test_no_detections_give_defined_results(lvis_files, build):
    gt, _ = lvis_files
    res = evaluate(build(gt), samples(empty=True))
    for iou in ('bbox', 'segm'):
        for k in ('AP', 'APr', 'APc', 'APf'):
            assert res[f'lvis/{iou}_{k}'] == 0.0
    # only image 2 evaluated: c has ground truth there, a and b do not -> -1 (LVIS "undefined")
    res2 = evaluate(build(gt), samples(images=(2, ), empty=True))
    assert res2['lvis/bbox_APr'] == 0.0
    assert res2['lvis/bbox_APc'] == -1.0 and res2['lvis/bbox_APf'] == -1.0


def test_only_processed_images_are_evaluated(lvis_files, build):
    gt, _ = lvis_files
    res = evaluate(build(gt), samples(images=(2, )))
    # image 2 alone: c found (AP 1), b only has a false positive but no ground truth there
    assert res['lvis/bbox_APr'] == pytest.approx(1.0, abs=1e-3)
    assert res['lvis/bbox_APc'] == -1.0


def test_missing_inputs_raise_clear_errors(lvis_files, tmp_path, build):
    gt, _ = lvis_files
    with pytest.raises(ValueError, match='ann_file is required'):
        build(None)
    with pytest.raises(FileNotFoundError, match='frequency_ann_file'):
        build(gt, frequency_ann_file=str(tmp_path / 'nope.json'))
