"""COCO and LVIS evaluation on faster-coco-eval (C++ engine, PyPI ``faster-coco-eval``).

:class:`FasterCocoMetric` and :class:`FasterLVISMetric` are mmdet's ``CocoMetric`` and
``LVISMetric`` with the evaluation engine swapped: ``process``, ``results2json`` (the result
format and the ``outfile_prefix``/``format_only`` files), ``gt_to_coco_json`` and
``fast_eval_recall`` are mmdet's; evaluation, accumulation and the summary numbers run on
faster-coco-eval (MiXaiLL76/faster_coco_eval, ``COCOeval_faster``; ``lvis_style=True`` for LVIS).
Result keys are mmdet's (``coco/bbox_mAP``, ``coco/<class>_precision``, ``lvis/segm_APr``, ...).

The numbers are the reference engines' (tests/evaluation/test_faster_coco_metric.py cross-checks
every reported number against pycocotools and lvis-api to 1e-6):

* COCO: the summary follows pycocotools ``COCOeval.summarize`` -- ``mAP`` at ``maxDets=100``,
  the other AP numbers and the area-range ARs at the largest of the three ``proposal_nums``.
* LVIS: lvis-api (lvis-dataset/lvis-api ``LVISResults``/``LVISEval``) -- the ``max_dets``
  (300) highest-scoring detections per image over all categories, federated evaluation
  (detections of a category neither present nor in ``neg_category_ids`` are dropped; unmatched
  ones of ``not_exhaustive_category_ids`` are ignored), no crowd regions (``iscrowd`` is not
  read), r/c/f groups from the categories' ``frequency`` or from ``frequency_ann_file``.

Both metrics evaluate the images that were processed (mmdet evaluates every image of
``ann_file``, so a partial pass would count the rest as misses), and evaluate an empty result
set (0 where there is ground truth, -1 where a number is undefined) instead of returning
nothing.
"""
import json
import logging
import os.path as osp
import tempfile
from collections import OrderedDict, defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.fileio import get_local_path, load
from mmengine.logging import MMLogger, print_log
from terminaltables import AsciiTable

from mmdet.evaluation.metrics import CocoMetric, LVISMetric
from mmdet.registry import METRICS

from .lvis_metric import DEFAULT_LVIS_ITEMS, load_frequency

__all__ = ['FasterCocoMetric', 'FasterLVISMetric', 'evaluate_faster', 'coco_summary',
           'lvis_summary', 'per_category_ap', 'limit_dets_per_image', 'faster_gt']

COCO_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
LVIS_FREQ = ('r', 'c', 'f')


def _engine():
    try:
        from faster_coco_eval import COCO, COCOeval_faster
    except ImportError as e:
        raise RuntimeError('FasterCocoMetric/FasterLVISMetric need faster-coco-eval: '
                           'pip install faster-coco-eval==1.8.0 (tools/setup_env.sh installs '
                           'it)') from e
    return COCO, COCOeval_faster


def _silent(*args, **kwargs) -> None:
    return None


def faster_gt(dataset: dict):
    """faster-coco-eval ``COCO`` index over a loaded annotation dict (not copied)."""
    COCO, _ = _engine()
    return COCO(dataset, print_function=_silent)


# ------------------------------------------------------------------------------- engine
def limit_dets_per_image(dets: List[dict], max_dets: int) -> List[dict]:
    """LVIS rule (lvis-api ``LVISResults.limit_dets_per_image``): per image, the ``max_dets``
    highest-scoring detections over all categories; ties keep the input order; images with at
    most ``max_dets`` keep theirs unchanged. Images come out in first-appearance order."""
    if max_dets < 0:
        return list(dets)
    by_img = defaultdict(list)
    for d in dets:
        by_img[d['image_id']].append(d)
    out = []
    for anns in by_img.values():
        if len(anns) > max_dets:
            anns = sorted(anns, key=lambda a: a['score'], reverse=True)[:max_dets]
        out.extend(anns)
    return out


def evaluate_faster(gt, dets: List[dict], iou_type: str, *, img_ids: Sequence[int],
                    cat_ids: Optional[Sequence[int]] = None, lvis: bool = False,
                    max_dets: Sequence[int] = (100, 300, 1000),
                    iou_thrs: Optional[Sequence[float]] = None, use_cats: bool = True):
    """Evaluate and accumulate ``dets`` (COCO result dicts; mutated: ids, areas) against the
    faster-coco-eval index ``gt`` on ``img_ids``; returns the ``COCOeval_faster`` object
    (``.eval['precision']`` [T, R, K, A, M], ``.eval['recall']`` [T, K, A, M]).

    ``lvis``: lvis-api semantics (one ``max_dets`` value, the per-image limit applied first).
    ``use_cats=False``: class-agnostic (mmdet's ``proposal`` metric), over every gt category
    like pycocotools.
    """
    _, COCOeval_faster = _engine()
    if iou_type not in ('bbox', 'segm'):
        raise ValueError(f'iou_type must be "bbox" or "segm", got {iou_type!r}')
    if lvis:
        (max_dets, ) = max_dets if isinstance(max_dets, (list, tuple)) else (max_dets, )
        dets = limit_dets_per_image(dets, max_dets)
        max_dets = [max_dets]
    dt = gt.loadRes(dets)
    dt.print_function = _silent
    ev = COCOeval_faster(gt, dt, iou_type, print_function=_silent, lvis_style=lvis)
    p = ev.params
    p.imgIds = sorted(int(i) for i in img_ids)
    p.catIds = sorted(gt.getCatIds() if cat_ids is None or not use_cats else cat_ids)
    p.maxDets = sorted(int(m) for m in max_dets)
    if iou_thrs is not None:
        p.iouThrs = np.asarray(iou_thrs, dtype=np.float64).reshape(-1)
    p.useCats = int(use_cats)
    ev.evaluate()
    ev.accumulate()
    return ev


def _mean_valid(s: np.ndarray) -> float:
    s = s[s > -1]
    return float(np.mean(s)) if s.size else -1.0


def _summarize(ev, ap: bool, iou: Optional[float] = None, area: str = 'all',
               max_det: Optional[int] = None, cats: Optional[Sequence[int]] = None) -> float:
    """Mean over the valid (> -1) entries of precision (``ap``) or recall, selected as the
    reference ``_summarize`` functions do (IoU and maxDets by value, area by label)."""
    p = ev.params
    s = ev.eval['precision' if ap else 'recall']
    if iou is not None:
        s = s[np.where(iou == np.asarray(p.iouThrs))[0]]
    a = list(p.areaRngLbl).index(area)
    m = [i for i, d in enumerate(p.maxDets) if d == (p.maxDets[-1] if max_det is None
                                                     else max_det)]
    s = s[..., a, :][..., m]            # [T, R, K, len(m)] or [T, K, len(m)]
    if cats is not None:
        s = s[:, :, list(cats)] if ap else s[:, list(cats)]
    return _mean_valid(s)


def coco_summary(ev) -> 'OrderedDict[str, float]':
    """The 12 numbers of pycocotools ``COCOeval.summarize`` under mmdet's names (``mAP`` at
    ``maxDets=100``; the rest at the third ``maxDets``; ``AR@<n>`` for each of the three)."""
    md = ev.params.maxDets
    if len(md) != 3:
        raise ValueError(f'the COCO summary needs exactly 3 maxDets values, got {md}')
    out = OrderedDict()
    out['mAP'] = _summarize(ev, True, max_det=100)
    out['mAP_50'] = _summarize(ev, True, iou=.5, max_det=md[2])
    out['mAP_75'] = _summarize(ev, True, iou=.75, max_det=md[2])
    for s, area in (('s', 'small'), ('m', 'medium'), ('l', 'large')):
        out[f'mAP_{s}'] = _summarize(ev, True, area=area, max_det=md[2])
    for n in md:
        out[f'AR@{n}'] = _summarize(ev, False, max_det=n)
    for s, area in (('s', 'small'), ('m', 'medium'), ('l', 'large')):
        out[f'AR_{s}@{md[2]}'] = _summarize(ev, False, area=area, max_det=md[2])
    return out


def lvis_freq_groups(gt, cat_ids: Sequence[int]) -> List[List[int]]:
    """Indices into sorted ``cat_ids`` of the r, c and f categories (``frequency`` field)."""
    groups = [[], [], []]
    for idx, cid in enumerate(sorted(cat_ids)):
        groups[LVIS_FREQ.index(gt.cats[cid]['frequency'])].append(idx)
    return groups


def lvis_summary(ev, gt) -> 'OrderedDict[str, float]':
    """The numbers of lvis-api ``LVISEval.get_results`` (AP, AP50, AP75, APs/m/l, APr/c/f,
    AR@n, ARs/m/l@n; n = the single ``maxDets`` value)."""
    n = ev.params.maxDets[-1]
    groups = lvis_freq_groups(gt, ev.params.catIds)
    out = OrderedDict()
    out['AP'] = _summarize(ev, True)
    out['AP50'] = _summarize(ev, True, iou=.5)
    out['AP75'] = _summarize(ev, True, iou=.75)
    for s, area in (('s', 'small'), ('m', 'medium'), ('l', 'large')):
        out[f'AP{s}'] = _summarize(ev, True, area=area)
    for f, g in zip(LVIS_FREQ, groups):
        out[f'AP{f}'] = _summarize(ev, True, cats=g)
    out[f'AR@{n}'] = _summarize(ev, False)
    for s, area in (('s', 'small'), ('m', 'medium'), ('l', 'large')):
        out[f'AR{s}@{n}'] = _summarize(ev, False, area=area)
    return out


def per_category_ap(ev) -> 'OrderedDict[int, List[float]]':
    """Per category id: AP, AP50, AP75, APs, APm, APl at the largest ``maxDets`` (NaN where
    undefined), as mmdet's classwise tables (after detectron2's per-category AP)."""
    p = ev.params
    prec = ev.eval['precision'][..., -1]                   # [T, R, K, A]
    cols = [(slice(None), 0), (0, 0), (5, 0), (slice(None), 1), (slice(None), 2),
            (slice(None), 3)] if len(p.iouThrs) == 10 else [(slice(None), 0)]
    out = OrderedDict()
    for k, cid in enumerate(p.catIds):
        vals = []
        for t, a in cols:
            s = prec[t, :, k, a]
            s = s[s > -1]
            vals.append(float(np.mean(s)) if s.size else float('nan'))
        out[int(cid)] = vals
    return out


# ------------------------------------------------------------------------------- metrics
class _FasterEvalMixin:
    """Shared ``compute_metrics`` of the two metrics (mmdet's flow, faster-coco-eval engine)."""
    _lvis: bool = False

    # the gt index of this metric (``_coco_api`` for COCO, ``_lvis_api`` for LVIS)
    def _api(self):
        return self._lvis_api if self._lvis else self._coco_api

    def _set_api(self, api) -> None:
        if self._lvis:
            self._lvis_api = api
        else:
            self._coco_api = api

    def _read_ann_file(self, ann_file: str) -> dict:
        try:
            with get_local_path(ann_file, backend_args=self.backend_args) as local:
                with open(local) as f:
                    return json.load(f)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'{type(self).__name__}: ann_file={ann_file!r} not '
                                    'found') from e

    def _check_items(self, allowed: Sequence[str]) -> None:
        bad = [m for m in (self.metric_items or ()) if m not in allowed]
        if bad:
            raise KeyError(f'{type(self).__name__}: metric_items {bad} not supported; choose '
                           f'from {list(allowed)}')

    def _eval_img_ids(self, gts: Sequence[dict]) -> List[int]:
        api = self._api()
        done = {g['img_id'] for g in gts}
        unknown = sorted(done - set(api.imgs))
        if unknown:
            raise KeyError(f'{type(self).__name__}: images {unknown[:10]} were evaluated but '
                           f'are not in ann_file')
        if len(done) < len(api.imgs):
            print_log(f'{type(self).__name__}: evaluating the {len(done)} processed images of '
                      f'the {len(api.imgs)} in ann_file', logger='current')
        return sorted(done)

    def _check_labels(self, preds: Sequence[dict]) -> None:
        n = len(self.cat_ids)
        top = max((int(np.max(p['labels'])) for p in preds if len(p['labels'])), default=-1)
        if top >= n:
            raise ValueError(f'{type(self).__name__}: a prediction has label {top} but the '
                             f'annotation file has {n} categories; the head\'s num_classes '
                             'must match the evaluated categories')

    def _load_dets(self, result_files: dict, metric: str) -> List[dict]:
        if metric not in result_files:
            raise KeyError(f'{type(self).__name__}: metric {metric!r} needs predicted masks '
                           '(pred_instances.masks), and the model produced none')
        dets = load(result_files[metric])
        if metric == 'segm' and not self._lvis:
            # as mmdet's CocoMetric: without the box, the mask gives the area (area ranges)
            for d in dets:
                d.pop('bbox', None)
        return dets

    def _classwise(self, ev, eval_results: dict, logger) -> None:
        api = self._api()
        rows, freq = [], {}
        if self._lvis:
            freq = {cid: api.cats[cid]['frequency'] for cid in ev.params.catIds}
        for cid, vals in per_category_ap(ev).items():
            name = api.cats[cid]['name']
            eval_results[f'{name}_precision'] = round(vals[0], 3)
            rows.append([name] + ([freq[cid]] if freq else []) +
                        [f'{round(v, 3)}' for v in vals])
        head = ['category'] + (['freq'] if freq else []) + \
            ['AP', 'AP_50', 'AP_75', 'AP_s', 'AP_m', 'AP_l'][:len(rows[0]) - 1 - bool(freq)]
        logger.info('\n' + AsciiTable([head] + rows).table)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """mmdet's ``compute_metrics`` flow (results2json, format_only, proposal_fast) with
        faster-coco-eval evaluation; keys and rounding as mmdet's metric."""
        logger: MMLogger = MMLogger.get_current_instance()
        name = type(self).__name__
        if not results:
            raise ValueError(f'{name} got no results: is the val/test dataloader empty?')
        gts, preds = zip(*results)
        tmp_dir = None
        if self.outfile_prefix is None:
            tmp_dir = tempfile.TemporaryDirectory()
            outfile_prefix = osp.join(tmp_dir.name, 'results')
        else:
            outfile_prefix = self.outfile_prefix
        try:
            if self._api() is None:
                logger.info('Converting ground truth to coco format...')
                path = self.gt_to_coco_json(gt_dicts=gts, outfile_prefix=outfile_prefix)
                self._set_api(self._make_api(self._read_ann_file(path)))
            if self.cat_ids is None:
                self.cat_ids = self._class_cat_ids()
            if self.img_ids is None:
                self.img_ids = self._api().getImgIds()
            self._check_labels(preds)
            result_files = self.results2json(preds, outfile_prefix)
            eval_results = OrderedDict()
            if self.format_only:
                logger.info(f'results are saved in {osp.dirname(outfile_prefix)}')
                return eval_results
            img_ids = self._eval_img_ids(gts)
            if sum(len(p['labels']) for p in preds) == 0:
                print_log(f'{name}: no detections at all; reporting the evaluation of an empty '
                          'result set (0 where there is ground truth, -1 where a number is '
                          'undefined)', logger=logger, level=logging.WARNING)
            for metric in self.metrics:
                logger.info(f'Evaluating {metric} (faster-coco-eval)...')
                if metric == 'proposal_fast':
                    ar = self.fast_eval_recall(preds, self.proposal_nums, self.iou_thrs,
                                               logger=logger)
                    for i, num in enumerate(self.proposal_nums):
                        eval_results[f'AR@{num}'] = ar[i]
                    logger.info(''.join(f'\nAR@{n}\t{ar[i]:.4f}'
                                        for i, n in enumerate(self.proposal_nums)))
                    continue
                self._evaluate_one(metric, self._load_dets(result_files, metric), img_ids,
                                   eval_results, logger)
            return eval_results
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()


@METRICS.register_module()
class FasterCocoMetric(_FasterEvalMixin, CocoMetric):
    """mmdet ``CocoMetric`` evaluated by faster-coco-eval (see the module docstring).

    Args: as mmdet ``CocoMetric``. ``use_mp_eval`` is accepted and ignored (the C++ engine
    replaces pycocotools' multi-process evaluation). ``proposal_nums`` needs 3 values (the
    pycocotools summary layout). Keys: ``<metric>_mAP``, ``_mAP_50``, ``_mAP_75``,
    ``_mAP_s/m/l`` (or ``metric_items`` of those plus ``AR@<n>``, ``AR_s/m/l@<n>``),
    ``<class>_precision`` with ``classwise=True``; ``proposal``: ``AR@<n>``, ``AR_s/m/l@<n>``.
    """
    _lvis = False

    def __init__(self, ann_file: Optional[str] = None, *args, sort_categories: bool = False,
                 use_mp_eval: bool = False, **kwargs) -> None:
        _engine()
        super().__init__(None, *args, **kwargs)
        if len(self.proposal_nums) != 3 and set(self.metrics) - {'proposal_fast'}:
            raise ValueError(f'FasterCocoMetric: proposal_nums must have 3 values (the COCO '
                             f'summary layout), got {self.proposal_nums}')
        md = sorted(self.proposal_nums)
        self._items = list(COCO_ITEMS) + [f'AR@{n}' for n in md] + \
            [f'AR_{s}@{md[-1]}' for s in 'sml'] if len(md) == 3 else list(COCO_ITEMS)
        self._check_items(self._items)
        self.sort_categories = sort_categories
        if ann_file is not None:
            self._coco_api = self._make_api(self._read_ann_file(ann_file))

    def _make_api(self, dataset: dict):
        if self.sort_categories:  # as mmdet (Objects365 files list categories unsorted)
            dataset['categories'] = sorted(dataset['categories'], key=lambda c: c['id'])
        return faster_gt(dataset)

    def _class_cat_ids(self) -> List[int]:
        """Category ids of the dataset classes in file order (as mmdet's CocoDataset)."""
        classes = set(self.dataset_meta['classes'])
        cats = self._coco_api.dataset['categories']
        missing = sorted(classes - {c['name'] for c in cats})
        if missing:
            raise KeyError(f'FasterCocoMetric: classes {missing[:10]} are not categories of '
                           f'the annotation file')
        return [c['id'] for c in cats if c['name'] in classes]

    def _evaluate_one(self, metric, dets, img_ids, eval_results, logger) -> None:
        proposal = metric == 'proposal'
        ev = evaluate_faster(self._coco_api, dets, 'bbox' if proposal else metric,
                             img_ids=img_ids, cat_ids=self.cat_ids,
                             max_dets=self.proposal_nums, iou_thrs=self.iou_thrs,
                             use_cats=not proposal)
        stats = coco_summary(ev)
        if proposal:
            md = ev.params.maxDets
            items = self.metric_items or [f'AR@{n}' for n in md] + \
                [f'AR_{s}@{md[-1]}' for s in 'sml']
            for item in items:
                eval_results[item] = float(f'{stats[item]:.3f}')
            return
        if self.classwise:
            self._classwise(ev, eval_results, logger)
        for item in self.metric_items or COCO_ITEMS:
            eval_results[f'{metric}_{item}'] = float(f'{round(stats[item], 3)}')
        logger.info(f'{metric}_mAP_copypaste: ' +
                    ' '.join(f'{stats[k]:.3f}' for k in COCO_ITEMS))


@METRICS.register_module()
class FasterLVISMetric(_FasterEvalMixin, LVISMetric):
    """mmdet ``LVISMetric`` evaluated by faster-coco-eval with lvis-api's rules (see the
    module docstring); no ``lvis`` package needed.

    Args:
        ann_file: the LVIS-format evaluation file (required: every image must carry
            ``neg_category_ids`` and ``not_exhaustive_category_ids``).
        frequency_ann_file: optional training annotation file whose categories' ``frequency``
            (or, missing that, ``image_count``) defines the r/c/f groups (LVIS val files carry
            training frequencies; a file whose ``frequency`` was counted on the evaluation
            split itself does not).
        max_dets: detections kept per image (lvis-api's 300).
        Other arguments: as mmdet ``LVISMetric``; ``metric`` in 'bbox', 'segm',
        'proposal_fast'. Keys: ``<metric>_AP``, ``_AP50``, ``_AP75``, ``_APs/m/l``,
        ``_APr/c/f`` (or ``metric_items`` of those plus ``AR@<n>``, ``ARs/m/l@<n>``),
        ``<class>_precision`` with ``classwise=True``.
    """
    _lvis = True

    def __init__(self, ann_file: Optional[str] = None, metric='bbox', classwise: bool = False,
                 proposal_nums: Sequence[int] = (100, 300, 1000),
                 iou_thrs: Optional[Sequence[float]] = None,
                 metric_items: Optional[Sequence[str]] = None, format_only: bool = False,
                 outfile_prefix: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None, file_client_args: Optional[dict] = None,
                 backend_args: Optional[dict] = None,
                 frequency_ann_file: Optional[str] = None, max_dets: int = 300) -> None:
        _engine()
        if ann_file is None:
            raise ValueError('FasterLVISMetric: ann_file is required (LVIS evaluation needs the '
                             'neg_category_ids / not_exhaustive_category_ids of the images)')
        # LVISMetric.__init__ only checks for and loads lvis-api; the argument handling is
        # CocoMetric's, and the gt index is faster-coco-eval's (below).
        CocoMetric.__init__(self, None, metric, classwise, proposal_nums, iou_thrs, metric_items,
                            format_only, outfile_prefix, file_client_args, backend_args,
                            collect_device, prefix)
        if 'proposal' in self.metrics:
            raise ValueError("FasterLVISMetric: metric 'proposal' is not an LVIS evaluation; "
                             "use 'proposal_fast' or FasterCocoMetric(metric='proposal')")
        if int(max_dets) < 1:
            raise ValueError(f'FasterLVISMetric: max_dets must be >= 1, got {max_dets}')
        self.max_dets = int(max_dets)
        self._check_items(list(DEFAULT_LVIS_ITEMS) + [f'AR{s}@{self.max_dets}'
                                                      for s in ('', 's', 'm', 'l')])
        self.frequency_ann_file = frequency_ann_file
        self._coco_api = None
        self._lvis_api = self._make_api(self._read_ann_file(ann_file), ann_file)

    def _make_api(self, dataset: dict, path: str = 'ann_file'):
        dataset = dict(dataset)
        images = dataset.get('images', [])
        for im in images:
            if 'neg_category_ids' not in im or 'not_exhaustive_category_ids' not in im:
                raise KeyError(f'FasterLVISMetric: {path}: image {im.get("id")} lacks '
                               '"neg_category_ids"/"not_exhaustive_category_ids" (an LVIS-'
                               'format file is needed; use FasterCocoMetric for COCO files)')
        cats = [dict(c) for c in dataset.get('categories', [])]
        if self.frequency_ann_file is not None:
            freq = load_frequency(self.frequency_ann_file, self.backend_args)
            missing = sorted({c['id'] for c in cats} - set(freq))
            if missing:
                raise KeyError(f'frequency_ann_file lacks categories {missing[:10]} of the '
                               'evaluation file')
            for c in cats:
                c['frequency'] = freq[c['id']]
        for c in cats:
            if c.get('frequency') not in LVIS_FREQ:
                raise KeyError(f'FasterLVISMetric: {path}: category {c.get("id")} has no '
                               f'"frequency" in r/c/f (got {c.get("frequency")!r}); pass '
                               'frequency_ann_file=<training file>')
        dataset['categories'] = cats
        # lvis-api has no crowd regions and no ignore flags: every gt is a plain instance
        anns = []
        for a in dataset.get('annotations', []):
            if a.get('ignore'):
                raise ValueError(f'FasterLVISMetric: {path}: annotation {a.get("id")} has an '
                                 '"ignore" flag, which LVIS evaluation does not define')
            if a.get('iscrowd'):
                a = dict(a, iscrowd=0)
            anns.append(a)
        dataset['annotations'] = anns
        return faster_gt(dataset)

    def _class_cat_ids(self) -> List[int]:
        """Every category of the file in file order (as mmdet's LVISMetric / LVIS datasets)."""
        ids = [c['id'] for c in self._lvis_api.dataset['categories']]
        classes = (self.dataset_meta or {}).get('classes')
        if classes is not None and len(classes) != len(ids):
            raise ValueError(f'FasterLVISMetric: the dataset has {len(classes)} classes but '
                             f'the annotation file {len(ids)} categories')
        return ids

    def _evaluate_one(self, metric, dets, img_ids, eval_results, logger) -> None:
        ev = evaluate_faster(self._lvis_api, dets, metric, img_ids=img_ids, lvis=True,
                             max_dets=self.max_dets, iou_thrs=self.iou_thrs)
        stats = lvis_summary(ev, self._lvis_api)
        if self.classwise:
            self._classwise(ev, eval_results, logger)
        items = self.metric_items or DEFAULT_LVIS_ITEMS
        for k, v in stats.items():
            if k in items:
                eval_results[f'{metric}_{k}'] = float(f'{v:.3f}')
        logger.info(f'{metric}: ' + ' '.join(f'{k} {v:.3f}' for k, v in stats.items()))
