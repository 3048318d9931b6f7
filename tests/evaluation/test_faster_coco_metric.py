"""FasterCocoMetric / FasterLVISMetric (faster-coco-eval) against the reference engines.

Cross-checks on sets from ``tools/analysis/benchmark_eval.py``'s generator, which holds a
category without ground truth, an image without detections, crowd boxes (COCO; uncompressed-RLE
crowd masks), polygon masks, long-tailed r/c/f categories with ``neg_category_ids`` and
``not_exhaustive_category_ids`` (LVIS) and images with more than 300 detections whose true
positives the LVIS per-image limit drops:

* engine level: every summary number (COCO: pycocotools' 12; LVIS: lvis-api's 13) and every
  entry of the precision and recall arrays agree to 1e-6, bbox and segm (and class-agnostic
  ``proposal`` for COCO), on all images and on a subset;
* metric level: the registered metrics return exactly the keys and values of mmdet's
  ``CocoMetric`` (pycocotools) and of ``HceLVISMetric`` (lvis-api), classwise included;
* two processes: mmengine collects the results on rank 0 and both ranks get the one-process
  numbers;
* bad input fails with an error that names the problem.
"""
import copy
import json
import math
import os
import os.path as osp
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

import hce_det  # noqa: F401
from conftest import ROOT, shrink_cfg

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import benchmark_eval as be  # noqa: E402

pytest.importorskip('faster_coco_eval')
mask_utils = pytest.importorskip('pycocotools.mask')

TOL = 1e-6
SIZE = (120, 160)          # large enough for all three COCO area ranges
EXTRA = {101: 330, 102: 310}  # LVIS images over the 300-detection limit


@pytest.fixture(scope='module')
def coco_set():
    gt = be.make_gt(36, 8, masks=True, seed=11, size=SIZE, crowd_prob=0.1)
    dets = be.make_dets(gt, 18, masks=True, seed=12)
    return gt, dets


@pytest.fixture(scope='module')
def lvis_set():
    gt = be.make_gt(36, 14, lvis=True, masks=True, seed=21, size=SIZE)
    dets = be.make_dets(gt, 24, masks=True, seed=22, extra_images=EXTRA)
    return gt, dets


def _copies(gt, dets, drop_bbox=False):
    dets = [dict(d) for d in dets]
    if drop_bbox:
        for d in dets:
            d.pop('bbox', None)
    return copy.deepcopy(gt), dets


def test_generated_sets_hold_every_case(coco_set, lvis_set):
    for gt, dets in (coco_set, lvis_set):
        last_cat = gt['categories'][-1]['id']
        assert not any(a['category_id'] == last_cat for a in gt['annotations'])
        assert not any(d['image_id'] == gt['images'][-1]['id'] for d in dets)
        assert len({d['score'] for d in dets}) == len(dets)
    gt, _ = coco_set
    crowd = [a for a in gt['annotations'] if a['iscrowd']]
    assert crowd and all(isinstance(a['segmentation'], dict) for a in crowd)
    gt, dets = lvis_set
    assert {c['frequency'] for c in gt['categories']} == {'r', 'c', 'f'}
    assert any(im['not_exhaustive_category_ids'] for im in gt['images'])
    assert any(gt['categories'][-1]['id'] in im['neg_category_ids'] for im in gt['images'])
    per_img = {i: sum(d['image_id'] == i for d in dets) for i in EXTRA}
    assert all(n > 300 for n in per_img.values())
    present = {(a['image_id'], a['category_id']) for a in gt['annotations']}
    neg = {(im['id'], c) for im in gt['images'] for c in im['neg_category_ids']}
    assert any((d['image_id'], d['category_id']) not in present | neg for d in dets)  # dropped


# ------------------------------------------------------------------------------ engines
def _assert_arrays(ref_ev, fast_ev, lvis):
    for key in ('precision', 'recall'):
        ref = np.asarray(ref_ev.eval[key])
        fast = np.asarray(fast_ev.eval[key])
        if lvis:                        # lvis-api has no maxDets axis
            fast = fast[..., 0]
        assert ref.shape == fast.shape, key
        np.testing.assert_allclose(fast, ref, rtol=0, atol=TOL, err_msg=key)


@pytest.mark.parametrize('iou_type', ['bbox', 'segm'])
@pytest.mark.parametrize('subset', [False, True], ids=['all-images', 'subset'])
def test_coco_engine_matches_pycocotools(coco_set, iou_type, subset):
    gt, dets = coco_set
    img_ids = [im['id'] for im in gt['images']][::2] if subset else None
    ref_ev, ref = be.reference_coco(*_copies(gt, dets, iou_type == 'segm'), iou_type,
                                    img_ids=img_ids)
    fast_ev, fast = be.faster_coco(*_copies(gt, dets, iou_type == 'segm'), iou_type,
                                   img_ids=img_ids)
    assert list(fast) == list(ref)
    for k in ref:
        assert fast[k] == pytest.approx(ref[k], abs=TOL), k
    assert 0 < ref['mAP'] < 1 and ref['mAP_l'] > 0 and ref['mAP_s'] > 0
    _assert_arrays(ref_ev, fast_ev, lvis=False)


def test_coco_class_agnostic_proposal_matches_pycocotools(coco_set):
    gt, dets = coco_set
    ref_ev, ref = be.reference_coco(*_copies(gt, dets), 'bbox', use_cats=False)
    fast_ev, fast = be.faster_coco(*_copies(gt, dets), 'bbox', use_cats=False)
    for k in ref:
        assert fast[k] == pytest.approx(ref[k], abs=TOL), k
    _assert_arrays(ref_ev, fast_ev, lvis=False)


@pytest.mark.parametrize('iou_type', ['bbox', 'segm'])
@pytest.mark.parametrize('subset', [False, True], ids=['all-images', 'subset'])
def test_lvis_engine_matches_lvis_api(lvis_set, iou_type, subset):
    pytest.importorskip('lvis')
    gt, dets = lvis_set
    img_ids = [im['id'] for im in gt['images']][::2] if subset else None
    ref_ev, ref = be.reference_lvis(*_copies(gt, dets), iou_type, img_ids=img_ids)
    fast_ev, fast = be.faster_lvis(*_copies(gt, dets), iou_type, img_ids=img_ids)
    assert list(fast) == list(ref)
    for k in ref:
        assert fast[k] == pytest.approx(ref[k], abs=TOL), k
    assert all(ref[k] > 0 for k in ('APr', 'APc', 'APf'))
    _assert_arrays(ref_ev, fast_ev, lvis=True)
    if not subset:   # the per-image limit matters on this set: without it the numbers move
        _, unlimited = be.faster_lvis(*_copies(gt, dets), iou_type, max_dets=10 ** 6)
        assert abs(unlimited['AP'] - ref['AP']) > 1e-4


@pytest.mark.parametrize('lvis', [False, True], ids=['coco', 'lvis'])
def test_engines_agree_with_tied_scores(coco_set, lvis_set, lvis):
    """Scores rounded to 0.1 (ties within and across images, and at the LVIS 300 cut)."""
    if lvis:
        pytest.importorskip('lvis')
    gt, dets = lvis_set if lvis else coco_set
    dets = [dict(d, score=round(d['score'], 1)) for d in dets]
    ref_fn, fast_fn = (be.reference_lvis, be.faster_lvis) if lvis else \
        (be.reference_coco, be.faster_coco)
    ref_ev, ref = ref_fn(*_copies(gt, dets), 'bbox')
    fast_ev, fast = fast_fn(*_copies(gt, dets), 'bbox')
    for k in ref:
        assert fast[k] == pytest.approx(ref[k], abs=TOL), k
    _assert_arrays(ref_ev, fast_ev, lvis=lvis)


def test_benchmark_script_runs_both_engines(tmp_path, capsys):
    """tools/analysis/benchmark_eval.py at toy sizes: both tasks, both engines, same numbers."""
    pytest.importorskip('lvis')
    out = tmp_path / 'bench.json'
    be.main(['--coco-images', '12', '--coco-classes', '4', '--coco-dets', '10',
             '--lvis-images', '12', '--lvis-classes', '9', '--lvis-dets', '30',
             '--out', str(out)])
    printed = capsys.readouterr().out
    assert 'pycocotools / faster-coco-eval' in printed and 'lvis-api / faster-coco-eval' in printed
    res = json.loads(out.read_text())
    assert [r['task'] for r in res] == ['COCO', 'LVIS']
    for r in res:
        assert r['max_abs_diff_summary'] <= TOL and r['max_abs_diff_per_category'] <= TOL
        assert r['undefined_categories_agree'] and r['speedup'] > 0
        assert r['reference']['peak_mib'] >= 0 and r['faster']['peak_mib'] >= 0
    assert set(res[1]['summary_faster']) >= {'APr', 'APc', 'APf', 'AR@300'}


# ------------------------------------------------------------------------------ metrics
def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def _samples(gt, dets, cat_ids, images=None, masks=True, mask_scores=False):
    """mmdet data samples (pred_instances in original image coordinates) from result dicts."""
    index = {c: i for i, c in enumerate(cat_ids)}
    by_img = {im['id']: [] for im in gt['images']}
    for d in dets:
        by_img[d['image_id']].append(d)
    out = []
    for im in gt['images']:
        if images is not None and im['id'] not in images:
            continue
        h, w = im['height'], im['width']
        ds = by_img[im['id']]
        boxes = torch.tensor([[d['bbox'][0], d['bbox'][1], d['bbox'][0] + d['bbox'][2],
                               d['bbox'][1] + d['bbox'][3]] for d in ds]).reshape(-1, 4)
        pred = dict(bboxes=boxes.float(), scores=torch.tensor([d['score'] for d in ds]).float(),
                    labels=torch.tensor([index[d['category_id']] for d in ds], dtype=torch.long))
        if masks:
            pred['masks'] = torch.from_numpy(np.stack(
                [mask_utils.decode(d['segmentation']).astype(bool) for d in ds])) if ds else \
                torch.zeros(0, h, w, dtype=torch.bool)
        if mask_scores:
            pred['mask_scores'] = pred['scores'].flip(0)
        out.append(dict(img_id=im['id'], ori_shape=(h, w), pred_instances=pred))
    return out


def _run(metric, samples, classes):
    metric.dataset_meta = dict(classes=tuple(classes))
    for i in range(0, len(samples), 4):
        metric.process({}, samples[i:i + 4])
    return metric.evaluate(len(samples))


def _assert_same(got, want):
    assert list(got) == list(want) or set(got) == set(want), \
        (sorted(set(got) ^ set(want)))
    for k, v in want.items():
        if isinstance(v, float) and math.isnan(v):
            assert math.isnan(got[k]), k
        else:
            assert got[k] == pytest.approx(v, abs=1e-12), k


def test_faster_coco_metric_equals_mmdet_coco_metric(coco_set, tmp_path):
    from mmdet.registry import METRICS
    gt, dets = coco_set
    ann = _write(tmp_path, 'coco.json', gt)
    cat_ids = [c['id'] for c in gt['categories']]
    classes = [c['name'] for c in gt['categories']]
    samples = _samples(gt, dets, cat_ids, mask_scores=True)
    kw = dict(ann_file=ann, metric=['bbox', 'segm', 'proposal'], classwise=True)
    ref = _run(METRICS.build(dict(type='CocoMetric', **kw)), samples, classes)
    got = _run(METRICS.build(dict(type='FasterCocoMetric', **kw)), samples, classes)
    assert 'coco/bbox_mAP' in got and 'coco/segm_mAP_l' in got and 'coco/AR@1000' in got
    assert f'coco/{classes[-1]}_precision' in got   # the class without gt: NaN as mmdet
    _assert_same(got, ref)
    items = ['mAP', 'AR@100', 'AR_s@1000']
    ref = _run(METRICS.build(dict(type='CocoMetric', ann_file=ann, metric_items=items)),
               samples, classes)
    got = _run(METRICS.build(dict(type='FasterCocoMetric', ann_file=ann, metric_items=items)),
               samples, classes)
    _assert_same(got, ref)


def test_faster_coco_metric_without_ann_file_equals_mmdet(coco_set):
    """No ann_file: mmdet converts the samples' gt ``instances`` (gt_to_coco_json)."""
    from mmdet.registry import METRICS
    gt, dets = coco_set
    cat_ids = [c['id'] for c in gt['categories']]
    classes = [c['name'] for c in gt['categories']]
    samples = _samples(gt, dets, cat_ids, masks=False)
    index = {c: i for i, c in enumerate(cat_ids)}
    for s in samples:
        s['instances'] = [dict(bbox_label=index[a['category_id']], ignore_flag=a['iscrowd'],
                               bbox=[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                                     a['bbox'][1] + a['bbox'][3]])
                          for a in gt['annotations'] if a['image_id'] == s['img_id']]
    ref = _run(METRICS.build(dict(type='CocoMetric', classwise=True)), samples, classes)
    got = _run(METRICS.build(dict(type='FasterCocoMetric', classwise=True)), samples, classes)
    _assert_same(got, ref)


def test_faster_lvis_metric_equals_lvis_api_metric(lvis_set, tmp_path):
    pytest.importorskip('lvis')
    from mmdet.registry import METRICS
    gt, dets = lvis_set
    ann = _write(tmp_path, 'lvis_val.json', gt)
    # training file: r/c/f from image counts (rotates the groups against the val file's)
    train = _write(tmp_path, 'lvis_train.json', dict(categories=[
        dict(id=c['id'], image_count=[5, 50, 500][i % 3]) for i, c in enumerate(gt['categories'])]))
    cat_ids = [c['id'] for c in gt['categories']]
    classes = [c['name'] for c in gt['categories']]
    samples = _samples(gt, dets, cat_ids)
    for freq in (None, train):
        kw = dict(ann_file=ann, metric=['bbox', 'segm'], classwise=True,
                  frequency_ann_file=freq)
        ref = _run(METRICS.build(dict(type='HceLVISMetric', **kw)), samples, classes)
        got = _run(METRICS.build(dict(type='FasterLVISMetric', **kw)), samples, classes)
        assert {'lvis/bbox_APr', 'lvis/segm_APf'} <= set(got)
        _assert_same(got, ref)
    # a subset of the images (a partial pass), ARs as metric items
    items = ['AP', 'APr', 'AR@300', 'ARs@300']
    part = samples[:len(samples) // 2]
    ref = _run(METRICS.build(dict(type='HceLVISMetric', ann_file=ann, metric_items=items)),
               part, classes)
    got = _run(METRICS.build(dict(type='FasterLVISMetric', ann_file=ann, metric_items=items)),
               part, classes)
    assert set(got) == {f'lvis/bbox_{k}' for k in items}
    _assert_same(got, ref)


def test_subset_of_images_is_evaluated_alone(coco_set, tmp_path):
    """A partial pass is evaluated on the processed images (mmdet's CocoMetric would count the
    other images' ground truth as misses)."""
    from mmdet.registry import METRICS
    gt, dets = coco_set
    ann = _write(tmp_path, 'coco.json', gt)
    cat_ids = [c['id'] for c in gt['categories']]
    keep = [im['id'] for im in gt['images']][:12]
    got = _run(METRICS.build(dict(type='FasterCocoMetric', ann_file=ann)),
               _samples(gt, dets, cat_ids, images=keep, masks=False),
               [c['name'] for c in gt['categories']])
    _, ref = be.reference_coco(*_copies(gt, [d for d in dets if d['image_id'] in keep]),
                               'bbox', img_ids=keep)
    assert got['coco/bbox_mAP'] == pytest.approx(ref['mAP'], abs=1e-3)
    assert got['coco/bbox_mAP_50'] == pytest.approx(ref['mAP_50'], abs=1e-3)


def test_no_detections_give_defined_results(coco_set, lvis_set, tmp_path):
    from mmdet.registry import METRICS
    for name, (gt, _), typ in (('coco', coco_set, 'FasterCocoMetric'),
                               ('lvis', lvis_set, 'FasterLVISMetric')):
        ann = _write(tmp_path, f'{name}.json', gt)
        cat_ids = [c['id'] for c in gt['categories']]
        res = _run(METRICS.build(dict(type=typ, ann_file=ann, metric=['bbox', 'segm'])),
                   _samples(gt, [], cat_ids), [c['name'] for c in gt['categories']])
        ap = 'mAP' if name == 'coco' else 'AP'
        for iou in ('bbox', 'segm'):
            assert res[f'{name}/{iou}_{ap}'] == 0.0
        if name == 'lvis':
            assert res['lvis/bbox_APr'] == res['lvis/bbox_APc'] == res['lvis/bbox_APf'] == 0.0


@pytest.mark.parametrize('cfg_path, key', [
    ('configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py', 'coco/bbox_mAP'),
    ('configs/lvis/softmax-ce_faster-rcnn_r18-thin_fpn_1k_synth-lt.py', 'lvis/bbox_APr')],
    ids=['coco', 'lvis'])
def test_runner_test_loop_evaluates_with_the_faster_metrics(cfg_path, key, load_cfg, tiny_data,
                                                            tmp_path):
    """A shipped config's test loop (mmengine Evaluator, dataset_meta from the dataset, data
    samples from the model) with an untrained model: inference only, no training."""
    from mmengine.runner import Runner
    cfg = shrink_cfg(load_cfg(cfg_path), tiny_data, tmp_path)
    assert cfg.test_evaluator.type in ('FasterCocoMetric', 'FasterLVISMetric')
    metrics = Runner.from_cfg(cfg).test()
    assert key in metrics and -1.0 <= metrics[key] <= 1.0


# ------------------------------------------------------------------------------ bad input
def test_bad_input_raises_clear_errors(coco_set, lvis_set, tmp_path):
    from mmdet.registry import METRICS
    gt, dets = coco_set
    ann = _write(tmp_path, 'coco.json', gt)
    cat_ids = [c['id'] for c in gt['categories']]
    classes = [c['name'] for c in gt['categories']]

    def build(**kw):
        return METRICS.build(dict(type='FasterCocoMetric', **kw))
    with pytest.raises(FileNotFoundError, match=r"ann_file='.*nope\.json' not found"):
        build(ann_file=str(tmp_path / 'nope.json'))
    with pytest.raises(KeyError, match=r"metric_items \['mAP_xl'\] not supported"):
        build(ann_file=ann, metric_items=['mAP_xl'])
    with pytest.raises(KeyError, match='metric should be one of'):
        build(ann_file=ann, metric='keypoints')
    with pytest.raises(ValueError, match='proposal_nums must have 3 values'):
        build(ann_file=ann, proposal_nums=(100, ))
    with pytest.raises(KeyError, match=r"classes \['truck'\] are not categories"):
        _run(build(ann_file=ann), _samples(gt, dets, cat_ids, masks=False),
             classes[:-1] + ['truck'])
    with pytest.raises(KeyError, match="'segm' needs predicted masks"):
        _run(build(ann_file=ann, metric='segm'), _samples(gt, dets, cat_ids, masks=False),
             classes)
    bad = _samples(gt, dets, cat_ids, masks=False)
    bad[0]['img_id'] = 99999
    with pytest.raises(KeyError, match=r'images \[99999\] were evaluated but are not in'):
        _run(build(ann_file=ann), bad, classes)
    bad = _samples(gt, dets, cat_ids, masks=False)
    bad[0]['pred_instances']['labels'][0] = len(cat_ids)
    with pytest.raises(ValueError, match='label 8 but the annotation file has 8 categories'):
        _run(build(ann_file=ann), bad, classes)
    with pytest.raises(ValueError, match='got no results'):
        build(ann_file=ann).compute_metrics([])

    gt, _ = lvis_set
    lann = _write(tmp_path, 'lvis.json', gt)

    def lbuild(**kw):
        return METRICS.build(dict(type='FasterLVISMetric', **kw))
    with pytest.raises(ValueError, match='ann_file is required'):
        lbuild()
    with pytest.raises(FileNotFoundError, match='frequency_ann_file'):
        lbuild(ann_file=lann, frequency_ann_file=str(tmp_path / 'nope.json'))
    with pytest.raises(ValueError, match="'proposal' is not an LVIS evaluation"):
        lbuild(ann_file=lann, metric='proposal')
    with pytest.raises(KeyError, match=r"metric_items \['AR@100'\] not supported"):
        lbuild(ann_file=lann, metric_items=['AR@100'])
    with pytest.raises(KeyError, match=r'lacks "neg_category_ids"'):   # a COCO file
        lbuild(ann_file=ann)
    no_freq = copy.deepcopy(gt)
    no_freq['categories'][2].pop('frequency')
    with pytest.raises(KeyError, match=r'category 5 has no "frequency".*frequency_ann_file'):
        lbuild(ann_file=_write(tmp_path, 'no_freq.json', no_freq))
    partial = _write(tmp_path, 'partial_train.json', dict(categories=[
        dict(id=c['id'], frequency='r') for c in gt['categories'][1:]]))
    with pytest.raises(KeyError, match=r'frequency_ann_file lacks categories \[1\]'):
        lbuild(ann_file=lann, frequency_ann_file=partial)
    m = lbuild(ann_file=lann)
    with pytest.raises(ValueError, match='dataset has 3 classes but the annotation file 14'):
        _run(m, _samples(gt, [], [c['id'] for c in gt['categories']]), ('a', 'b', 'c'))


# ------------------------------------------------------------------------------ 2 processes
_DIST_SCRIPT = """
import json, os, sys, torch.distributed as dist
sys.path[:0] = [{here!r}, {tests!r}]
import hce_det  # noqa: F401
from test_faster_coco_metric import _samples, _run_rank
dist.init_process_group('gloo')
rank, world = dist.get_rank(), dist.get_world_size()
out = _run_rank(json.load(open({args!r})), rank, world)
json.dump(out, open(os.path.join({out!r}, f'metrics{{rank}}.json'), 'w'))
from hce_det.engine.launch import shutdown_distributed
shutdown_distributed(exit_process=True)
"""


def _run_rank(args, rank=0, world=1):
    """Each rank processes every ``world``-th sample; ``evaluate`` collects them on rank 0
    (mmengine ``collect_results``) and broadcasts the metrics."""
    from mmdet.registry import METRICS
    out = {}
    for typ, gt_path, dets, metric in args['runs']:
        with open(gt_path) as f:
            gt = json.load(f)
        cat_ids = [c['id'] for c in gt['categories']]
        samples = _samples(gt, dets, cat_ids)
        m = METRICS.build(dict(type=typ, ann_file=gt_path, metric=metric, classwise=True))
        m.dataset_meta = dict(classes=tuple(c['name'] for c in gt['categories']))
        m.process({}, samples[rank::world])
        out[typ] = m.evaluate(len(samples))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_evaluation_matches_one_process(coco_set, lvis_set, tmp_path):
    runs = [['FasterCocoMetric', _write(tmp_path, 'coco.json', coco_set[0]), coco_set[1],
             ['bbox', 'segm']],
            ['FasterLVISMetric', _write(tmp_path, 'lvis.json', lvis_set[0]), lvis_set[1],
             ['bbox', 'segm']]]
    args = _write(tmp_path, 'args.json', dict(runs=runs))
    one = _run_rank(dict(runs=runs))
    script = tmp_path / 'eval_worker.py'
    script.write_text(_DIST_SCRIPT.format(here=osp.dirname(osp.abspath(__file__)),
                                          tests=osp.join(ROOT, 'tests'), args=args,
                                          out=str(tmp_path)))
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
                           '--master_addr=127.0.0.1', f'--master_port={_free_port()}',
                           str(script)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    for rank in range(2):
        with open(tmp_path / f'metrics{rank}.json') as f:
            got = json.load(f)
        for typ in ('FasterCocoMetric', 'FasterLVISMetric'):
            assert got[typ].keys() == one[typ].keys()
            for k, v in one[typ].items():
                assert (math.isnan(v) and math.isnan(got[typ][k])) or got[typ][k] == v, (typ, k)
    assert one['FasterCocoMetric']['coco/segm_mAP'] > 0
    assert one['FasterLVISMetric']['lvis/bbox_APr'] > 0
