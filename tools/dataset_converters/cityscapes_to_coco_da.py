"""Cityscapes gtFine instance masks -> tight boxes -> COCO JSON for Cityscapes -> Foggy Cityscapes.

The 8 detection classes of the DA literature (person, rider, car, truck, bus, train, motorcycle,
bicycle) are read from ``gtFine/<split>/<city>/*_gtFine_instanceIds.png`` (pixel value
``class_id * 1000 + k`` for instance k; k counts from 0; values < 1000 are crowd/group regions and are skipped).
A box is the tight box around an instance's pixels. Foggy Cityscapes images reuse the same
annotations: the foggy JSON differs only in ``file_name``
(``leftImg8bit_foggy/<split>/<city>/<stem>_leftImg8bit_foggy_beta_<beta>.png``).

Usage::

    python tools/dataset_converters/cityscapes_to_coco_da.py data/cityscapes \
        --out-dir data/cityscapes/annotations --splits train val --beta 0.02

writes ``cityscapes_da_{split}.json`` and ``foggy_cityscapes_da_{split}.json`` (paths relative
to the Cityscapes root, which is the ``data_root`` of configs/_base_/datasets/cityscapes_to_foggy_da.py).
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

import cv2
import numpy as np

#: (name, Cityscapes label id) in category-id order 1..8.
DA_CLASSES = (('person', 24), ('rider', 25), ('car', 26), ('truck', 27), ('bus', 28),
              ('train', 31), ('motorcycle', 32), ('bicycle', 33))
_LABEL_TO_CAT = {label: i + 1 for i, (_, label) in enumerate(DA_CLASSES)}
GT_SUFFIX = '_gtFine_instanceIds.png'
IMG_SUFFIX = '_leftImg8bit.png'


def instance_boxes(inst_ids: np.ndarray) -> List[Dict]:
    """Tight boxes of the 8-class instances in an instance-id map.

    Returns dicts with ``category_id`` (1..8), ``bbox`` ``[x, y, w, h]`` (w = x_max - x_min + 1,
    covering every pixel), ``area`` (pixel count) and the raw ``instance_id``.
    """
    if inst_ids.ndim != 2:
        raise ValueError(f'instance-id map must be 2-D (H, W), got shape {inst_ids.shape}')
    out = []
    for value in np.unique(inst_ids):
        value = int(value)
        if value < 1000:
            continue
        cat = _LABEL_TO_CAT.get(value // 1000)
        if cat is None:
            continue
        ys, xs = np.nonzero(inst_ids == value)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
        out.append(dict(category_id=cat, instance_id=value, area=int(len(xs)),
                        bbox=[int(x0), int(y0), int(x1 - x0 + 1), int(y1 - y0 + 1)]))
    return out


def foggy_name(img_rel: str, beta: float) -> str:
    """``leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png`` -> the Foggy Cityscapes path."""
    parts = img_rel.split('/')
    if parts[0] != 'leftImg8bit' or not parts[-1].endswith(IMG_SUFFIX):
        raise ValueError(f'not a Cityscapes leftImg8bit path: {img_rel}')
    stem = parts[-1][:-len(IMG_SUFFIX)]
    return '/'.join(['leftImg8bit_foggy'] + parts[1:-1] +
                    [f'{stem}_leftImg8bit_foggy_beta_{beta}.png'])


def _progress(items, enabled: bool):
    if not enabled:
        yield from items
        return
    try:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(items), file=sys.stderr)
    except ImportError:  # pragma: no cover - mmengine is a dependency
        bar = None
    for it in items:
        yield it
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stderr.write('\n')


def convert_split(root: str, split: str, beta: float = 0.02, check_foggy: bool = False,
                  progress: bool = True) -> Dict[str, dict]:
    """Return ``{'cityscapes': coco_dict, 'foggy': coco_dict}`` for one split."""
    gt_dir = osp.join(root, 'gtFine', split)
    img_dir = osp.join(root, 'leftImg8bit', split)
    for d, what in ((root, 'Cityscapes root'), (gt_dir, 'gtFine split directory'),
                    (img_dir, 'leftImg8bit split directory')):
        if not osp.isdir(d):
            raise FileNotFoundError(
                f'{what} not found: {d}. Expected <root>/gtFine/<split>/<city>/*{GT_SUFFIX} and '
                f'<root>/leftImg8bit/<split>/<city>/*{IMG_SUFFIX} (download gtFine_trainvaltest '
                'and leftImg8bit_trainvaltest from cityscapes-dataset.com)')
    gt_files = sorted(glob.glob(osp.join(gt_dir, '*', '*' + GT_SUFFIX)))
    if not gt_files:
        raise FileNotFoundError(f'no *{GT_SUFFIX} files under {gt_dir}/<city>/; is this the '
                                'gtFine directory of Cityscapes (with instance-id PNGs)?')
    categories = [dict(id=i + 1, name=n) for i, (n, _) in enumerate(DA_CLASSES)]
    images, annotations, foggy_images = [], [], []
    missing_foggy = []
    for img_id, gt_path in enumerate(_progress(gt_files, progress), start=1):
        city = osp.basename(osp.dirname(gt_path))
        stem = osp.basename(gt_path)[:-len(GT_SUFFIX)]
        img_rel = f'leftImg8bit/{split}/{city}/{stem}{IMG_SUFFIX}'
        if not osp.isfile(osp.join(root, img_rel)):
            raise FileNotFoundError(f'image for {gt_path} not found: {osp.join(root, img_rel)}')
        inst = cv2.imread(gt_path, cv2.IMREAD_UNCHANGED)
        if inst is None or inst.ndim != 2:
            raise ValueError(f'{gt_path} is not a single-channel instance-id PNG '
                             f'(got {None if inst is None else inst.shape})')
        h, w = inst.shape
        images.append(dict(id=img_id, file_name=img_rel, width=w, height=h, city=city))
        fog_rel = foggy_name(img_rel, beta)
        if check_foggy and not osp.isfile(osp.join(root, fog_rel)):
            missing_foggy.append(fog_rel)
        foggy_images.append(dict(images[-1], file_name=fog_rel, fog_beta=beta))
        for box in instance_boxes(inst):
            annotations.append(dict(id=len(annotations) + 1, image_id=img_id, iscrowd=0,
                                    category_id=box['category_id'], bbox=box['bbox'],
                                    area=box['area'], instance_id=box['instance_id']))
    if missing_foggy:
        raise FileNotFoundError(
            f'{len(missing_foggy)} Foggy Cityscapes images missing, e.g. '
            f'{osp.join(root, missing_foggy[0])}; unpack leftImg8bit_trainvaltest_foggy into the '
            'Cityscapes root or run without --check-foggy')
    base = dict(categories=categories, annotations=annotations)
    return dict(cityscapes=dict(base, images=images), foggy=dict(base, images=foggy_images))


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('root', help='Cityscapes root (contains gtFine/ and leftImg8bit/)')
    p.add_argument('--out-dir', default=None, help='default: <root>/annotations')
    p.add_argument('--splits', nargs='+', default=['train', 'val'])
    p.add_argument('--beta', type=float, default=0.02, help='Foggy Cityscapes beta')
    p.add_argument('--check-foggy', action='store_true', help='fail if foggy images are absent')
    p.add_argument('--no-progress', action='store_true')
    args = p.parse_args(argv)
    out_dir = args.out_dir or osp.join(args.root, 'annotations')
    os.makedirs(out_dir, exist_ok=True)
    for split in args.splits:
        res = convert_split(args.root, split, args.beta, args.check_foggy,
                            progress=not args.no_progress)
        for key, prefix in (('cityscapes', 'cityscapes_da'), ('foggy', 'foggy_cityscapes_da')):
            path = osp.join(out_dir, f'{prefix}_{split}.json')
            with open(path, 'w') as f:
                json.dump(res[key], f)
            print(f'{path}: {len(res[key]["images"])} images, '
                  f'{len(res[key]["annotations"])} boxes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
