"""COCO-format datasets that fail loudly on bad annotations instead of dropping them.

mmdet's ``CocoDataset`` silently skips zero-size boxes, raises a bare ``KeyError`` for an unknown
category id and leaves missing or corrupt image files to fail deep inside the pipeline. These
subclasses check every record once, at load time, and raise :class:`DatasetError` naming the
annotation file, the record and the fix -- or, with ``bad_box_policy='skip'``, drop the bad box
with a logged warning (never silently).
"""
import json
import math
import os.path as osp
from typing import List

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .synthetic import CLASSES, CONTEXT_CLASSES


class DatasetError(ValueError):
    """A problem in the data on disk; the message names the file and the fix."""


def _finite_number(v):
    """``v`` (a number or a numeric string) as a finite float; ``None`` for anything else."""
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        return None
    try:
        f = float(v)
    except ValueError:
        return None
    return f if math.isfinite(f) else None


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """``CocoDataset`` with validation.

    Args:
        bad_box_policy: ``'error'`` (default) raises on a box that is degenerate (w or h < 1 px)
            or reaches outside its image; ``'skip'`` drops it with a logged warning;
            ``'clip'`` clips it to the image (and drops it, logged, if nothing is left).
        check_image_files: verify every referenced image file exists at load time.
        box_tolerance: pixels a box may exceed the image border before it counts as outside.
    """

    def __init__(self, *args, bad_box_policy: str = 'error', check_image_files: bool = True,
                 box_tolerance: float = 1.0, **kwargs):
        if bad_box_policy not in ('error', 'skip', 'clip'):
            raise ValueError(f"bad_box_policy must be 'error', 'skip' or 'clip', "
                             f'got {bad_box_policy!r}')
        self.bad_box_policy = bad_box_policy
        self.check_image_files = check_image_files
        self.box_tolerance = box_tolerance
        self.num_bad_boxes = 0
        self.num_converted_strings, self.first_converted = 0, None
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ loading
    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise DatasetError(
                f'annotation file {self.ann_file!r} not found. Check data_root/ann_file in the '
                f'config; for the built-in data run `python tools/make_dataset.py --out <data_root>`.')
        try:
            data_list = super().load_data_list()
        except json.JSONDecodeError as e:
            raise DatasetError(f'annotation file {self.ann_file!r} is not valid JSON ({e}); '
                               'regenerate or repair it.') from None
        except KeyError as e:
            raise DatasetError(f'annotation file {self.ann_file!r} lacks the COCO key {e} '
                               "(expected 'images', 'annotations', 'categories').") from None
        if not data_list:
            raise DatasetError(f'annotation file {self.ann_file!r} lists no images; point '
                               'ann_file at a split with images (for domain adaptation: the '
                               'target-domain list must not be empty).')
        if self.num_converted_strings:
            print_log(f'{self.ann_file}: {self.num_converted_strings} annotations give bbox/area '
                      f'values as strings (first: {self.first_converted}); converted to numbers',
                      logger='current', level=30)
        if self.num_bad_boxes:
            print_log(f'{self.ann_file}: {self.num_bad_boxes} bad boxes handled with '
                      f"bad_box_policy={self.bad_box_policy!r}", logger='current', level=30)
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        img = raw_data_info['raw_img_info']
        where = f"{self.ann_file}: image id {img['id']} ({img['file_name']})"
        if self.check_image_files:
            path = osp.join(self.data_prefix.get('img', ''), img['file_name'])
            if not osp.isfile(path):
                raise DatasetError(f'{where}: image file {path!r} is missing. Restore the file or '
                                   'remove the image and its annotations from the JSON.')
        checked = []
        for ann in raw_data_info['raw_ann_info']:
            ann = self._check_ann(ann, img, where)
            if ann is not None:
                checked.append(ann)
        raw_data_info = dict(raw_data_info, raw_ann_info=checked)
        return super().parse_data_info(raw_data_info)

    def _check_ann(self, ann: dict, img: dict, where: str):
        cat = ann.get('category_id')
        if cat not in self.cat_ids:
            raise DatasetError(f"{where}: annotation id {ann.get('id')} has category_id {cat}, "
                               f'which is not in the dataset classes (ids {sorted(self.cat_ids)}). '
                               'Fix the annotation or add the class to metainfo/categories.')
        bbox = ann.get('bbox')
        if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
            raise DatasetError(f"{where}: annotation id {ann.get('id')} has bbox {bbox!r}; "
                               'expected [x, y, w, h].')
        ann = self._numeric_fields(ann, where)
        bbox = ann['bbox']
        x, y, w, h = bbox
        W, H, tol = float(img['width']), float(img['height']), self.box_tolerance
        problem = None
        if not (w >= 1 and h >= 1):
            problem = f'degenerate box {bbox} (width/height < 1 px)'
        elif x < -tol or y < -tol or x + w > W + tol or y + h > H + tol:
            problem = f'box {bbox} reaches outside the {img["width"]}x{img["height"]} image'
        if problem is None:
            return ann
        self.num_bad_boxes += 1
        msg = f"{where}: annotation id {ann.get('id')}: {problem}"
        if self.bad_box_policy == 'error':
            raise DatasetError(msg + ". Fix it, or set bad_box_policy='skip' or 'clip' "
                               'in the dataset config.')
        if self.bad_box_policy == 'clip' and w > 0 and h > 0:
            x1, y1 = max(x, 0.), max(y, 0.)
            x2, y2 = min(x + w, W), min(y + h, H)
            if x2 - x1 >= 1 and y2 - y1 >= 1:
                print_log(msg + ' -> clipped', logger='current', level=30)
                return dict(ann, bbox=[x1, y1, x2 - x1, y2 - y1])
        print_log(msg + ' -> skipped', logger='current', level=30)
        return None

    def _numeric_fields(self, ann: dict, where: str) -> dict:
        """``bbox``/``area`` values given as numeric strings (``"12.5"``) become floats (counted,
        logged once per file); a value that is not a finite number is a :class:`DatasetError`.
        (mmdet's parser fails on strings 19 frames deep, naming neither file nor annotation.)"""
        fixed = {}
        for key in ('bbox', 'area'):
            if key not in ann:
                continue
            vals = ann[key] if key == 'bbox' else [ann[key]]
            nums = [_finite_number(v) for v in vals]
            if None in nums:
                raise DatasetError(
                    f"{where}: annotation id {ann.get('id')} has {key} {ann[key]!r}: a value is "
                    'not a finite number. Write numbers (bbox = [x, y, w, h] in pixels).')
            if any(isinstance(v, str) for v in vals):
                fixed[key] = nums if key == 'bbox' else nums[0]
        if not fixed:
            return ann
        self.num_converted_strings += 1
        self.first_converted = (self.first_converted
                                or f"annotation id {ann.get('id')} {({k: ann[k] for k in fixed})}")
        return dict(ann, **fixed)

    def filter_data(self) -> List[dict]:
        kept = super().filter_data()
        dropped = len(self.data_list) - len(kept)
        if self.data_list and not kept:
            raise DatasetError(f'{self.ann_file}: filter_cfg={self.filter_cfg} removed all '
                               f'{len(self.data_list)} images (none has a usable annotation); '
                               'fix the annotations or relax filter_cfg.')
        if dropped:
            print_log(f'{self.ann_file}: {dropped} of {len(self.data_list)} images filtered out '
                      f'by filter_cfg={self.filter_cfg} (no usable annotations or too small)',
                      logger='current', level=20)
        return kept


@DATASETS.register_module()
class SynthScenesDataset(CheckedCocoDataset):
    """The built-in procedural dataset (see :mod:`hce_det.datasets.synthetic`)."""
    METAINFO = dict(
        classes=CLASSES,
        context_classes=CONTEXT_CLASSES,
        palette=[(220, 20, 60), (119, 11, 32), (0, 0, 142), (0, 0, 230), (106, 0, 228),
                 (0, 60, 100), (0, 80, 100), (0, 0, 70), (0, 0, 192), (250, 170, 30)])
