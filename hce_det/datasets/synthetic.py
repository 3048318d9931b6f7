"""Procedural detection data ("SynthScenes"): real image files + COCO/LVIS-style JSON.

Three phenomena the package targets are built in, each behind a knob:

* **Context-dependent classes** -- pairs of classes drawn pixel-identically (same shape, same
  colour distribution, same neutral pad around the object) that differ only by the scene they
  appear in: ``boat``/``car`` and ``buoy``/``cone`` share a shape; the first of each pair lives on
  *water*, the second on *road*. Only context beyond the object's pad tells them apart. Two cues:
  ``context_cue='scene'`` (the ``context`` splits): the whole background is water or road, so
  any receptive field larger than the pad sees it (the do-no-harm check);
  ``context_cue='cooccur'`` (the ``context_cooc`` splits): one plain background for every image,
  and the scene is told only by *which other classes* are in the image (``COMPANIONS``), each
  placed at least ``cue_gap`` away from every twin's pad -- the cue is absent from an object's
  neighbourhood by construction (the headroom split).
* **Long-tailed frequencies** -- per-class sampling weights ``r**(-rank/(C-1))`` for an imbalance
  ratio ``r``, plus LVIS fields (``frequency`` r/c/f from training image counts,
  ``image_count``, ``instance_count``, ``neg_category_ids``, ``not_exhaustive_category_ids``).
* **Fog domain shift** -- the Foggy Cityscapes model ``I = R*t + A*(1-t)``, ``t = exp(-beta*depth)``
  (Sakaridis et al., IJCV 2018, eq. 2) with a synthetic depth map growing towards the horizon.

Everything is deterministic by seed: image ``i`` of a split depends only on
``(seed, split name, i)``, so changing an image count does not change the other images.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import zlib
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .lvis_frequency import lvis_frequency  # noqa: F401  (also imported from here)

#: Class names; index = ``category_id - 1``.
CLASSES: Tuple[str, ...] = ('boat', 'car', 'buoy', 'cone', 'disc', 'square', 'diamond', 'star',
                            'cross', 'ring')
#: Shape drawn for each class (context pairs share a shape).
CLASS_SHAPE = dict(boat='hull', car='hull', buoy='spike', cone='spike', disc='disc',
                   square='square', diamond='diamond', star='star', cross='cross', ring='ring')
#: Scene a context-dependent class may appear in (others appear anywhere).
CLASS_SCENE = dict(boat='water', car='road', buoy='water', cone='road')
#: The classes whose identity is given by the scene only.
CONTEXT_CLASSES: Tuple[str, ...] = tuple(CLASS_SCENE)
SCENES: Tuple[str, ...] = ('water', 'road', 'field')
#: Co-occurrence cue (``context_cue='cooccur'``): the context-free classes that accompany the
#: context classes of each scene; the two sets are disjoint, so they name the scene.
COMPANIONS = dict(water=('disc', 'ring', 'star'), road=('square', 'cross', 'diamond'))
#: Each context class's twin (same shape, other scene).
TWINS = dict(boat='car', car='boat', buoy='cone', cone='buoy')
#: Rank order for long-tailed sampling (most to least frequent), fixed so that every frequency
#: group holds context-dependent and context-free classes alike.
LONG_TAIL_ORDER: Tuple[str, ...] = ('disc', 'car', 'square', 'boat', 'star', 'cone', 'diamond',
                                    'buoy', 'cross', 'ring')


@dataclass
class SplitSpec:
    """What one split looks like. Defaults give the balanced context split."""
    name: str
    num_images: int
    img_size: int = 128
    seed: int = 0
    imbalance: float = 1.0            # head/tail sampling-weight ratio (1 = balanced)
    max_objects: int = 4
    min_size: float = 0.11            # object size range, fraction of img_size
    max_size: float = 0.28
    pad_ratio: float = 1.5            # neutral pad around each object, relative to its size
    fog_beta: float = 0.0             # 0 = clear; Foggy Cityscapes uses 0.005/0.01/0.02
    depth_range: Tuple[float, float] = (5.0, 150.0)   # metres, bottom row -> horizon
    atmospheric_light: float = 0.86
    neg_per_image: int = 2            # LVIS neg_category_ids sampled per image
    not_exhaustive_prob: float = 0.0  # chance an image lists a present class as not exhaustive
    # Context classes live in one scene of three; this weight factor (solved from
    # a/(2a+6) = 2/(2a+6) + 1/6) gives them the same expected frequency as context-free classes.
    context_boost: float = 4.5
    context_cue: str = 'scene'        # 'scene' | 'cooccur' (see the module docstring)
    cue_gap: float = 0.12             # cooccur: min. gap, fraction of img_size, twin pad <-> companion pad


#: The headroom split's settings: smaller objects, so that companions fit beyond ``cue_gap``.
COOC = dict(context_cue='cooccur', min_size=0.10, max_size=0.20)


@dataclass
class SuiteSpec:
    """The package's built-in dataset: context, long-tail and fog splits."""
    img_size: int = 128
    seed: int = 0
    context_train: int = 480
    # validation sizes give >= 150 instances of each context class, >= 100 of each rare class in
    # lt_val and of each class in fog_target_val (counted by tests/datasets/test_synthetic.py)
    context_val: int = 840
    context_cooc_train: int = 480
    context_cooc_val: int = 480
    lt_train: int = 600
    lt_val: int = 480
    lt_imbalance: float = 100.0
    fog_train: int = 400
    fog_val: int = 120
    fog_target_val: int = 520
    fog_beta: float = 0.02
    splits: Dict[str, SplitSpec] = field(default_factory=dict)

    def build(self) -> Dict[str, SplitSpec]:
        s, k = self.seed, self.img_size
        specs = [
            SplitSpec('context_train', self.context_train, k, s),
            SplitSpec('context_val', self.context_val, k, s + 1),
            SplitSpec('lt_train', self.lt_train, k, s + 2, imbalance=self.lt_imbalance,
                      not_exhaustive_prob=0.05),
            # balanced validation so rare classes have enough instances to be measured
            SplitSpec('lt_val', self.lt_val, k, s + 3),
            SplitSpec('fog_source_train', self.fog_train, k, s + 4),
            SplitSpec('fog_source_val', self.fog_val, k, s + 5),
            SplitSpec('fog_target_train', self.fog_train, k, s + 6, fog_beta=self.fog_beta),
            SplitSpec('fog_target_val', self.fog_target_val, k, s + 7, fog_beta=self.fog_beta),
            SplitSpec('context_cooc_train', self.context_cooc_train, k, s + 8, **COOC),
            SplitSpec('context_cooc_val', self.context_cooc_val, k, s + 9, **COOC),
        ]
        return {sp.name: sp for sp in specs}


def class_weights(imbalance: float, order: Sequence[str] = LONG_TAIL_ORDER) -> Dict[str, float]:
    """Exponential long-tail profile: ``w_rank = imbalance ** (-rank / (C - 1))``."""
    if imbalance < 1:
        raise ValueError(f'imbalance must be >= 1, got {imbalance}')
    n = len(order)
    return {c: float(imbalance ** (-i / (n - 1))) for i, c in enumerate(order)}


def _rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(split.encode()), index])


# ----------------------------------------------------------------------------- rendering
def _scene(rng: np.random.Generator, kind: str, size: int) -> np.ndarray:
    """Scene texture (uint8 BGR). Water: blue waves; road: grey, lane marks; field: green; plain."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    noise = rng.normal(0, 6, (size, size, 1)).astype(np.float32)
    if kind == 'water':
        base = np.array([170, 110, 40], np.float32) + rng.uniform(-15, 15, 3)
        phase, freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.25, 0.45)
        wave = 18 * np.sin(freq * yy + 3 * np.sin(0.08 * xx + phase))[..., None]
        img = base + wave + noise
    elif kind == 'road':
        base = np.array([105, 105, 110], np.float32) + rng.uniform(-12, 12, 1)
        img = np.broadcast_to(base, (size, size, 3)) + noise
        img = np.ascontiguousarray(img)
        period = max(8, size // 8)
        for y in rng.choice(np.arange(period, size - period), size=2, replace=False):
            on = (xx[0] // period) % 2 == 0
            img[int(y):int(y) + max(2, size // 48), on] = (40, 200, 230)
    elif kind == 'field':
        base = np.array([60, 150, 70], np.float32) + rng.uniform(-15, 15, 3)
        img = base + noise * 2
    elif kind == 'plain':  # the co-occurrence split's one background: no scene cue at all
        base = np.array([95, 120, 135], np.float32) + rng.uniform(-10, 10, 1)
        img = base + noise * 2
    else:
        raise KeyError(f'unknown scene {kind!r}')
    return np.clip(img, 0, 255).astype(np.uint8)


def _shape_mask(kind: str, w: int, h: int) -> np.ndarray:
    """Binary mask (h, w) of a shape filling its box."""
    m = np.zeros((h, w), np.uint8)
    W, H = w - 1, h - 1
    if kind == 'hull':
        cv2.ellipse(m, (W // 2, int(H * .62)), (W // 2, int(H * .38)), 0, 0, 180, 1, -1)
        cv2.rectangle(m, (0, int(H * .45)), (W, int(H * .62)), 1, -1)
        cv2.rectangle(m, (int(W * .3), 0), (int(W * .62), int(H * .45)), 1, -1)
    elif kind == 'spike':
        cv2.fillPoly(m, [np.array([[W // 2, 0], [W, int(H * .8)], [0, int(H * .8)]])], 1)
        cv2.rectangle(m, (0, int(H * .8)), (W, H), 1, -1)
    elif kind == 'disc':
        cv2.ellipse(m, (W // 2, H // 2), (W // 2, H // 2), 0, 0, 360, 1, -1)
    elif kind == 'square':
        m[:] = 1
    elif kind == 'diamond':
        cv2.fillPoly(m, [np.array([[W // 2, 0], [W, H // 2], [W // 2, H], [0, H // 2]])], 1)
    elif kind == 'star':
        ang = np.pi / 2 + np.arange(10) * np.pi / 5
        rad = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        pts = np.stack([W / 2 + W / 2 * rad * np.cos(ang), H / 2 - H / 2 * rad * np.sin(ang)], 1)
        cv2.fillPoly(m, [pts.round().astype(np.int32)], 1)
        m[0, W // 2] = 1  # keep the box tight at the top tip
    elif kind == 'cross':
        t = max(1, int(round(min(W, H) * .18)))
        m[H // 2 - t:H // 2 + t + 1, :] = 1
        m[:, W // 2 - t:W // 2 + t + 1] = 1
    elif kind == 'ring':
        cv2.ellipse(m, (W // 2, H // 2), (W // 2, H // 2), 0, 0, 360, 1, -1)
        cv2.ellipse(m, (W // 2, H // 2), (max(1, int(W * .28)), max(1, int(H * .28))), 0, 0, 360, 0, -1)
    else:
        raise KeyError(f'unknown shape {kind!r}')
    return m


def _depth(size: int, depth_range: Tuple[float, float]) -> np.ndarray:
    """Synthetic depth (metres): near at the bottom row, far at the top, quadratic in height."""
    near, far = depth_range
    v = 1.0 - np.arange(size, dtype=np.float32) / max(size - 1, 1)
    col = near + (far - near) * v ** 2
    return np.repeat(col[:, None], size, axis=1)


def apply_fog(img: np.ndarray, depth: np.ndarray, beta: float, airlight: float = 0.86) -> np.ndarray:
    """Foggy Cityscapes model: ``I = R*t + A*(1-t)``, ``t = exp(-beta*depth)`` (IJCV 2018, eq. 2)."""
    t = np.exp(-beta * depth)[..., None]
    out = img.astype(np.float32) / 255.0 * t + airlight * (1.0 - t)
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _overlaps(box, boxes, thr=0.05) -> bool:
    x, y, w, h = box
    for bx, by, bw, bh in boxes:
        iw = min(x + w, bx + bw) - max(x, bx)
        ih = min(y + h, by + bh) - max(y, by)
        if iw > 0 and ih > 0 and iw * ih / min(w * h, bw * bh) > thr:
            return True
    return False


def _gap(a, b) -> float:
    """Chebyshev gap (pixels) between two xywh rectangles; 0 when they touch or overlap."""
    dx = max(a[0], b[0]) - min(a[0] + a[2], b[0] + b[2])
    dy = max(a[1], b[1]) - min(a[1] + a[3], b[1] + b[3])
    return float(max(dx, dy, 0))


def _place(rng, spec: SplitSpec, pads, far_from=(), gap: float = 0.0):
    """Draw an object box and its neutral pad that overlaps no pad in ``pads`` and keeps ``gap``
    pixels from every pad in ``far_from``. Returns ((x, y, w, h), pad) or None after 20 tries."""
    S = spec.img_size
    for _attempt in range(20):
        s = rng.uniform(spec.min_size, spec.max_size) * S
        w = int(round(s * rng.uniform(0.8, 1.25)))
        h = int(round(s * rng.uniform(0.8, 1.25)))
        pw, ph = int(w * spec.pad_ratio), int(h * spec.pad_ratio)
        if pw >= S or ph >= S:
            continue
        pad = (int(rng.integers(0, S - pw)), int(rng.integers(0, S - ph)), pw, ph)
        if not _overlaps(pad, pads) and all(_gap(pad, f) >= gap for f in far_from):
            return (pad[0] + (pw - w) // 2, pad[1] + (ph - h) // 2, w, h), pad
    return None


def _draw(rng, img: np.ndarray, cls: str, box, pad) -> None:
    """Neutral pad (identical local surroundings for every class), then the class's shape."""
    px, py, pw, ph = pad
    x, y, w, h = box
    cv2.rectangle(img, (px, py), (px + pw - 1, py + ph - 1), (128, 128, 128), -1)
    color = cv2.cvtColor(np.uint8([[[rng.integers(0, 180), rng.integers(150, 256),
                                     rng.integers(130, 256)]]]), cv2.COLOR_HSV2BGR)[0, 0]
    mask = _shape_mask(CLASS_SHAPE[cls], w, h).astype(bool)
    img[y:y + h, x:x + w][mask] = color


def _pick(rng, classes: Sequence[str], weights: Dict[str, float], boost: float = 1.0) -> str:
    p = np.array([weights[c] * (boost if c in CLASS_SCENE else 1.0) for c in classes])
    return classes[rng.choice(len(classes), p=p / p.sum())]


def render_image(spec: SplitSpec, index: int, weights: Dict[str, float]):
    """Render image ``index`` of a split. Returns (BGR uint8 image, scene, [(class, xywh), ...]).

    ``scene`` is the scene that decides the context classes: the background's kind for
    ``context_cue='scene'``, the latent scene named by the companions for ``'cooccur'``.
    """
    render = dict(scene=_render_scene, cooccur=_render_cooccur).get(spec.context_cue)
    if render is None:
        raise ValueError(f"context_cue must be 'scene' or 'cooccur', got {spec.context_cue!r}")
    img, scene, objects = render(spec, index, weights)
    if spec.fog_beta > 0:
        img = apply_fog(img, _depth(spec.img_size, spec.depth_range), spec.fog_beta,
                        spec.atmospheric_light)
    return img, scene, objects


def _render_scene(spec: SplitSpec, index: int, weights: Dict[str, float]):
    """Scene-visible split: the whole background is the scene (water, road or field)."""
    rng = _rng(spec.seed, spec.name, index)
    S = spec.img_size
    scene = SCENES[rng.integers(len(SCENES))]
    img = _scene(rng, scene, S)
    allowed = [c for c in CLASSES if CLASS_SCENE.get(c, scene) == scene]
    n_obj = int(rng.integers(1, spec.max_objects + 1))
    objects: List[Tuple[str, Tuple[int, int, int, int]]] = []
    pads: List[Tuple[int, int, int, int]] = []
    for _ in range(n_obj):
        cls = _pick(rng, allowed, weights, spec.context_boost)
        placed = _place(rng, spec, pads)
        if placed is None:
            continue
        box, pad = placed
        pads.append(pad)
        _draw(rng, img, cls, box, pad)
        objects.append((cls, box))
    return img, scene, objects


def _render_cooccur(spec: SplitSpec, index: int, weights: Dict[str, float]):
    """Headroom split: plain background for every image; 1-2 companions of the latent scene
    (``COMPANIONS``) first, then 1-2 context objects whose pads keep ``cue_gap * img_size``
    pixels from every companion's pad. Only co-occurrence beyond that gap names the scene."""
    rng = _rng(spec.seed, spec.name, index)
    S = spec.img_size
    scene = ('water', 'road')[rng.integers(2)]
    img = _scene(rng, 'plain', S)
    twins = [c for c in CONTEXT_CLASSES if CLASS_SCENE[c] == scene]
    objects: List[Tuple[str, Tuple[int, int, int, int]]] = []
    pads: List[Tuple[int, int, int, int]] = []
    companion_pads: List[Tuple[int, int, int, int]] = []
    for kind, n in (('companion', int(rng.integers(1, 3))), ('twin', int(rng.integers(1, 3)))):
        for _ in range(n):
            if kind == 'companion':
                cls = _pick(rng, COMPANIONS[scene], weights)
                placed = _place(rng, spec, pads)
            else:
                cls = _pick(rng, twins, weights)
                placed = _place(rng, spec, pads, companion_pads, spec.cue_gap * S)
            if placed is None:
                continue
            box, pad = placed
            pads.append(pad)
            if kind == 'companion':
                companion_pads.append(pad)
            _draw(rng, img, cls, box, pad)
            objects.append((cls, box))
    return img, scene, objects


# ----------------------------------------------------------------------------- writing
def generate_split(spec: SplitSpec, out_dir: str, ann_name: Optional[str] = None,
                   write_images: bool = True, train_categories: Optional[list] = None) -> dict:
    """Write ``images/<split>/*.png`` and ``annotations/<split>.json`` under ``out_dir``.

    The JSON is COCO format (``file_name`` relative to ``out_dir``) with LVIS extras.
    ``train_categories``: as in LVIS val files, take the categories' ``frequency``,
    ``image_count`` and ``instance_count`` from the training split instead of this one.
    Returns the JSON dict.
    """
    weights = class_weights(spec.imbalance)
    img_dir = osp.join(out_dir, 'images', spec.name)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    images, anns = [], []
    cat_ids = {c: i + 1 for i, c in enumerate(CLASSES)}
    for i in range(spec.num_images):
        img, scene, objects = render_image(spec, i, weights)
        fname = f'images/{spec.name}/{i:06d}.png'
        if write_images:
            cv2.imwrite(osp.join(out_dir, fname), img)
        rng = _rng(spec.seed, spec.name + '/lvis', i)
        present = sorted({cat_ids[c] for c, _ in objects})
        absent = [k for k in cat_ids.values() if k not in present]
        neg = sorted(rng.choice(absent, size=min(spec.neg_per_image, len(absent)),
                                replace=False).tolist()) if absent else []
        not_exh = [k for k in present if rng.random() < spec.not_exhaustive_prob]
        images.append(dict(id=i + 1, file_name=fname, width=spec.img_size, height=spec.img_size,
                           scene=scene, fog_beta=spec.fog_beta, neg_category_ids=neg,
                           not_exhaustive_category_ids=not_exh))
        for cls, (x, y, w, h) in objects:
            mask = _shape_mask(CLASS_SHAPE[cls], w, h)
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            seg = [(c.reshape(-1, 2) + [x, y]).astype(float).ravel().tolist()
                   for c in contours if len(c) >= 3]
            anns.append(dict(id=len(anns) + 1, image_id=i + 1, category_id=cat_ids[cls],
                             bbox=[float(x), float(y), float(w), float(h)], area=float(mask.sum()),
                             segmentation=seg, iscrowd=0))
    img_count = {k: 0 for k in cat_ids.values()}
    inst_count = {k: 0 for k in cat_ids.values()}
    seen = set()
    for a in anns:
        inst_count[a['category_id']] += 1
        if (a['image_id'], a['category_id']) not in seen:
            seen.add((a['image_id'], a['category_id']))
            img_count[a['category_id']] += 1
    categories = [{'id': k, 'name': c, 'synset': f'{c}.n.01', 'synonyms': [c],
                   'def': f'synthetic {c}', 'shape': CLASS_SHAPE[c],
                   'context_scene': CLASS_SCENE.get(c), 'image_count': img_count[k],
                   'instance_count': inst_count[k], 'frequency': lvis_frequency(img_count[k])}
                  for c, k in cat_ids.items()]
    if train_categories is not None:
        stats = {c['id']: c for c in train_categories}
        for c in categories:
            for key in ('image_count', 'instance_count', 'frequency'):
                c[key] = stats[c['id']][key]
    data = dict(info=dict(description='hce_det SynthScenes', split=asdict(spec)),
                images=images, annotations=anns, categories=categories, licenses=[])
    path = osp.join(out_dir, 'annotations', (ann_name or spec.name) + '.json')
    with open(path, 'w') as f:
        json.dump(data, f)
    return data


def generate_suite(out_dir: str, suite: Optional[SuiteSpec] = None,
                   only: Optional[Sequence[str]] = None, progress=None) -> Dict[str, dict]:
    """Generate every split of the built-in dataset (or the ``only`` ones) under ``out_dir``."""
    suite = suite or SuiteSpec()
    specs = suite.build()
    unknown = set(only or ()) - set(specs)
    if unknown:
        raise KeyError(f'unknown split(s) {sorted(unknown)}; choose from {sorted(specs)}')
    out = {}
    for name, spec in specs.items():
        if only and name not in only:
            continue
        if progress:
            progress(f'{name}: {spec.num_images} images')
        train = out.get(name[:-len('_val')] + '_train') if name.endswith('_val') else None
        out[name] = generate_split(spec, out_dir,
                                   train_categories=train['categories'] if train else None)
    with open(osp.join(out_dir, 'suite.json'), 'w') as f:
        json.dump(dict(suite={k: v for k, v in asdict(suite).items() if k != 'splits'},
                       classes=CLASSES, context_classes=CONTEXT_CLASSES), f, indent=1)
    return out
