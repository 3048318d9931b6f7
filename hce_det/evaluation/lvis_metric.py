"""LVIS evaluation on the official lvis-api (AP, APr, APc, APf for bbox and segm) on numpy 2.

The package's configs evaluate with :class:`hce_det.evaluation.FasterLVISMetric`
(faster-coco-eval, same numbers, no ``lvis`` package); :class:`HceLVISMetric` is kept as the
lvis-api reference it is cross-checked against (tests, ``tools/analysis/benchmark_eval.py``) and
needs ``pip install lvis==0.5.3`` (the ``test`` extra). It is mmdet's ``LVISMetric`` with:

* the numpy-2 shim of :func:`hce_det.compat.lvis_numpy2_aliases` applied (PyPI ``lvis`` 0.5.3
  calls the removed ``np.float``);
* defined results when there are no detections at all (upstream ``LVISResults`` raises
  IndexError on an empty list and mmdet then returns no metrics): the real LVIS evaluation of
  an empty result set, i.e. 0 for every group with ground truth and −1 (LVIS's "undefined") for
  groups without;
* evaluation restricted to the images actually processed (mmdet sets ``params.imgIds``, which
  ``LVISEval`` ignores -- it reads ``params.img_ids``);
* optional ``frequency_ann_file``: take the r/c/f groups from the training annotation file
  (LVIS val files carry training frequencies; a file whose ``frequency`` was computed on the
  evaluation split itself, like the built-in ``lt_val.json``, does not).
"""
import copy
import json
import logging
from collections import OrderedDict
from typing import Dict, List, Optional

from mmdet.evaluation.metrics import LVISMetric
from mmdet.registry import METRICS
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger, print_log

from ..compat import lvis_numpy2_aliases
from ..datasets.lvis_frequency import lvis_frequency

__all__ = ['HceLVISMetric', 'lvis_frequency_from_count', 'load_frequency', 'DEFAULT_LVIS_ITEMS']

DEFAULT_LVIS_ITEMS = ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr', 'APc', 'APf')


# the r/c/f rule lives in hce_det.datasets.lvis_frequency; this name is kept for importers
lvis_frequency_from_count = lvis_frequency


def load_frequency(path: str, backend_args: Optional[dict] = None) -> Dict[int, str]:
    """``{category id: 'r'|'c'|'f'}`` from an annotation file's categories (``frequency``, or
    missing that, ``image_count``); errors name the file and the category."""
    try:
        with get_local_path(path, backend_args=backend_args) as local, open(local) as f:
            cats = json.load(f)['categories']
    except FileNotFoundError as e:
        raise FileNotFoundError(f'frequency_ann_file={path!r} not found') from e
    freq = {}
    for c in cats:
        if 'frequency' in c:
            freq[c['id']] = c['frequency']
        elif 'image_count' in c:
            freq[c['id']] = lvis_frequency(c['image_count'])
        else:
            raise KeyError(f'{path}: category {c["id"]} has neither "frequency" nor '
                           f'"image_count"')
    return freq


def _import_lvis():
    lvis_numpy2_aliases()
    try:
        from lvis import LVISEval, LVISResults
    except ImportError as e:
        raise RuntimeError('HceLVISMetric needs the official LVIS API: pip install lvis==0.5.3 '
                           '(numpy 2 is handled by hce_det.compat)') from e
    return LVISEval, LVISResults


@METRICS.register_module()
class HceLVISMetric(LVISMetric):
    """mmdet ``LVISMetric`` working on numpy 2, with defined empty results and optional
    training-file frequency groups (see module docstring).

    Args:
        ann_file: the LVIS-format evaluation file (required: it carries ``neg_category_ids`` and
            ``not_exhaustive_category_ids`` that federated LVIS evaluation needs).
        frequency_ann_file: optional training annotation file whose categories' ``frequency``
            (or, missing that, ``image_count``) defines the r/c/f groups.
        Other arguments: as mmdet ``LVISMetric``.
    """

    def __init__(self, ann_file: Optional[str] = None, *args,
                 frequency_ann_file: Optional[str] = None, **kwargs) -> None:
        _import_lvis()
        if ann_file is None:
            raise ValueError('HceLVISMetric: ann_file is required (LVIS evaluation needs the '
                             'neg_category_ids / not_exhaustive_category_ids of the images)')
        super().__init__(ann_file, *args, **kwargs)
        self.frequency_ann_file = frequency_ann_file
        if frequency_ann_file is not None:
            self._apply_frequency(self._lvis_api, self._load_frequency(frequency_ann_file))

    # ------------------------------------------------------------------ helpers
    def _load_frequency(self, path: str) -> Dict[int, str]:
        return load_frequency(path, self.backend_args)

    @staticmethod
    def _apply_frequency(api, freq: Dict[int, str]) -> None:
        missing = sorted(set(api.cats) - set(freq))
        if missing:
            raise KeyError(f'frequency_ann_file lacks categories {missing[:10]} of the '
                           f'evaluation file')
        for cat in api.dataset['categories']:
            cat['frequency'] = freq[cat['id']]
        api._create_index()

    @staticmethod
    def _subset(api, img_ids: List[int]):
        """The LVIS api restricted to ``img_ids`` (the same object if that is all images)."""
        ids = set(img_ids)
        if ids == set(api.get_img_ids()):
            return api
        unknown = ids - set(api.get_img_ids())
        if unknown:
            raise KeyError(f'HceLVISMetric: images {sorted(unknown)[:10]} are not in ann_file')
        sub = copy.copy(api)
        sub.dataset = dict(api.dataset)
        sub.dataset['images'] = [im for im in api.dataset['images'] if im['id'] in ids]
        sub.dataset['annotations'] = [a for a in api.dataset['annotations']
                                      if a['image_id'] in ids]
        sub._create_index()
        return sub

    def _empty_results(self, api) -> Dict[str, float]:
        """Real LVIS evaluation of an empty detection set (upstream LVISResults cannot)."""
        LVISEval, LVISResults = _import_lvis()
        empty = LVISResults.__new__(LVISResults)
        empty.dataset = copy.deepcopy(api.dataset)
        empty.dataset['annotations'] = []
        empty.logger = logging.getLogger('lvis.results')
        empty._create_index()
        out = OrderedDict()
        items = self.metric_items or DEFAULT_LVIS_ITEMS
        for metric in self.metrics:
            if metric not in ('bbox', 'segm'):
                continue
            ev = LVISEval(api, empty, metric)
            ev.params.img_ids = sorted(api.get_img_ids())
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            for k, v in ev.get_results().items():
                if k in items:
                    out[f'{metric}_{k}'] = round(float(v), 3)
        return out

    # ------------------------------------------------------------------ main
    def compute_metrics(self, results: list) -> Dict[str, float]:
        logger: MMLogger = MMLogger.get_current_instance()
        gts, preds = zip(*results)
        full_api, full_ids = self._lvis_api, self.img_ids
        self._lvis_api = self._subset(full_api, [g['img_id'] for g in gts])
        self.img_ids = self._lvis_api.get_img_ids()
        if self.cat_ids is None:
            self.cat_ids = self._lvis_api.get_cat_ids()
        try:
            if sum(len(p['labels']) for p in preds) == 0 and not self.format_only:
                print_log('HceLVISMetric: no detections at all; reporting the LVIS evaluation '
                          'of an empty result set (0 where there is ground truth, -1 where '
                          'a group has none)', logger=logger, level=logging.WARNING)
                return self._empty_results(self._lvis_api)
            return super().compute_metrics(results)
        finally:
            self._lvis_api, self.img_ids = full_api, full_ids
