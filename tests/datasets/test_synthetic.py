"""SynthScenes (the built-in data): determinism, annotations, class profiles, fog, the
co-occurrence split and the suite."""
import hashlib
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from hce_det.datasets.synthetic import (CLASS_SCENE, CLASSES, SplitSpec, apply_fog,
                                        class_weights, generate_split, render_image)


def _digest(root, data):
    h = hashlib.sha1(json.dumps(data['annotations'], sort_keys=True).encode())
    for im in data['images']:
        h.update(open(osp.join(root, im['file_name']), 'rb').read())
    return h.hexdigest()


def test_deterministic_by_seed(tmp_path):
    a = generate_split(SplitSpec('s', 6, seed=3), str(tmp_path / 'a'))
    b = generate_split(SplitSpec('s', 6, seed=3), str(tmp_path / 'b'))
    c = generate_split(SplitSpec('s', 6, seed=4), str(tmp_path / 'c'))
    assert _digest(tmp_path / 'a', a) == _digest(tmp_path / 'b', b)
    assert _digest(tmp_path / 'a', a) != _digest(tmp_path / 'c', c)


def test_image_independent_of_count():
    w = class_weights(1.0)
    img3, _, obj3 = render_image(SplitSpec('s', 3), 2, w)
    img9, _, obj9 = render_image(SplitSpec('s', 9), 2, w)
    np.testing.assert_array_equal(img3, img9)
    assert obj3 == obj9


def test_annotations_valid(tiny_data):
    for split in ('context_train', 'lt_train', 'fog_target_val'):
        data = json.load(open(osp.join(tiny_data, 'annotations', split + '.json')))
        imgs = {im['id']: im for im in data['images']}
        cats = {c['id']: c['name'] for c in data['categories']}
        assert [cats[i + 1] for i in range(len(CLASSES))] == list(CLASSES)
        assert data['annotations'], split
        for a in data['annotations']:
            im = imgs[a['image_id']]
            x, y, w, h = a['bbox']
            assert w >= 1 and h >= 1
            assert x >= 0 and y >= 0 and x + w <= im['width'] and y + h <= im['height']
            assert a['category_id'] in cats
            name = cats[a['category_id']]
            # context classes only ever appear in their scene
            assert CLASS_SCENE.get(name, im['scene']) == im['scene']
            assert 0 < a['area'] <= w * h
            arr = cv2.imread(osp.join(tiny_data, im['file_name']))
            assert arr.shape == (im['height'], im['width'], 3)


def test_every_class_present_in_context_split(tmp_path):
    data = generate_split(SplitSpec('context_train', 300), str(tmp_path), write_images=False)
    counts = np.bincount([a['category_id'] for a in data['annotations']], minlength=11)[1:]
    assert (counts > 0).all()
    # balanced split: context classes are as frequent as others (within sampling noise)
    assert counts.max() / counts.min() < 2


def test_long_tail_frequencies_and_lvis_fields(tmp_path):
    data = generate_split(SplitSpec('lt_train', 300, imbalance=100), str(tmp_path),
                          write_images=False)
    by_name = {c['name']: c for c in data['categories']}
    for c in data['categories']:
        n_img = len({a['image_id'] for a in data['annotations'] if a['category_id'] == c['id']})
        assert c['image_count'] == n_img
        assert c['frequency'] == ('r' if n_img <= 10 else 'c' if n_img <= 100 else 'f')
    assert by_name['disc']['instance_count'] > 10 * by_name['ring']['instance_count']
    assert {c['frequency'] for c in data['categories']} == {'r', 'c', 'f'}
    for im in data['images']:
        present = {a['category_id'] for a in data['annotations'] if a['image_id'] == im['id']}
        assert not present & set(im['neg_category_ids'])
        assert set(im['not_exhaustive_category_ids']) <= present


def test_class_weights_profile():
    w = class_weights(100.0)
    vals = list(w.values())
    assert vals[0] == pytest.approx(1.0) and vals[-1] == pytest.approx(0.01)
    assert all(a > b for a, b in zip(vals, vals[1:]))
    with pytest.raises(ValueError):
        class_weights(0.5)


def test_fog_model_matches_formula():
    img = np.full((2, 2, 3), 100, np.uint8)
    depth = np.array([[0., 10.], [50., 1000.]], np.float32)
    out = apply_fog(img, depth, beta=0.02, airlight=0.8)
    t = np.exp(-0.02 * depth)
    expect = (100 / 255 * t + 0.8 * (1 - t)) * 255
    np.testing.assert_allclose(out[..., 0], expect, atol=0.51)
    assert out[0, 0, 0] == 100  # depth 0: no fog


def test_fog_split_is_foggier(tmp_path):
    clear, _, _ = render_image(SplitSpec('x', 1), 0, class_weights(1.0))
    foggy, _, _ = render_image(SplitSpec('x', 1, fog_beta=0.02), 0, class_weights(1.0))
    # fog lowers contrast, more at the top (far) than at the bottom (near)
    assert foggy[:16].std() < clear[:16].std()
    assert np.abs(foggy[-4:].astype(int) - clear[-4:]).mean() < np.abs(
        foggy[:4].astype(int) - clear[:4]).mean()


def test_val_splits_carry_training_frequencies(tiny_data):
    def cats(split):
        return json.load(open(osp.join(tiny_data, 'annotations', split + '.json')))['categories']
    for train, val in (('lt_train', 'lt_val'), ('context_train', 'context_val')):
        t, v = cats(train), cats(val)
        assert [(c['frequency'], c['image_count']) for c in t] == \
            [(c['frequency'], c['image_count']) for c in v]


# ------------------------------------------------------------- headroom (co-occurrence) split
def _cooc_spec(n=60, **kw):
    from hce_det.datasets.synthetic import COOC
    return SplitSpec('context_cooc_train', n, seed=5, **{**COOC, **kw})


def test_cooccurrence_split_is_deterministic(tmp_path):
    a = generate_split(_cooc_spec(8), str(tmp_path / 'a'))
    b = generate_split(_cooc_spec(8), str(tmp_path / 'b'))
    assert _digest(tmp_path / 'a', a) == _digest(tmp_path / 'b', b)
    img3, _, obj3 = render_image(_cooc_spec(3), 2, class_weights(1.0))
    img9, _, obj9 = render_image(_cooc_spec(9), 2, class_weights(1.0))
    np.testing.assert_array_equal(img3, img9)
    assert obj3 == obj9


def test_cooccurrence_cue_is_absent_from_the_neighbourhood():
    """Every context object's pad keeps ``cue_gap`` px from every companion's pad, companions
    name the scene (disjoint sets), and the background is one texture for both scenes."""
    from hce_det.datasets.synthetic import COMPANIONS, CONTEXT_CLASSES
    spec = _cooc_spec(120)
    gap = spec.cue_gap * spec.img_size
    w = class_weights(1.0)
    ring = {'water': [], 'road': []}
    n_twins = 0
    for i in range(spec.num_images):
        img, scene, objs = render_image(spec, i, w)
        twins = [b for c, b in objs if c in CONTEXT_CLASSES]
        comps = [(c, b) for c, b in objs if c not in CONTEXT_CLASSES]
        assert comps, 'every image names its scene by at least one companion'
        assert all(c in COMPANIONS[scene] for c, _ in comps)
        assert all(CLASS_SCENE[c] == scene for c, _ in objs if c in CONTEXT_CLASSES)
        for x, y, bw, bh in twins:
            n_twins += 1
            # the twin's neighbourhood: its pad (1.5x box) grown by the gap; no companion
            # pixel (its whole pad) may fall inside it
            pw, ph = int(bw * spec.pad_ratio), int(bh * spec.pad_ratio)
            px, py = x - (pw - bw) // 2, y - (ph - bh) // 2
            for _, (cx, cy, cw, ch) in comps:
                cpw, cph = int(cw * spec.pad_ratio), int(ch * spec.pad_ratio)
                cpx, cpy = cx - (cpw - cw) // 2, cy - (cph - ch) // 2
                dx = max(px, cpx) - min(px + pw, cpx + cpw)
                dy = max(py, cpy) - min(py + ph, cpy + cph)
                assert max(dx, dy) >= gap - 1, (i, (x, y, bw, bh), (cx, cy, cw, ch))
        # background statistics far from any object: the same for both scenes
        mask = np.ones(img.shape[:2], bool)
        for _, (x, y, bw, bh) in objs:
            m = int(max(bw, bh))
            mask[max(0, y - m):y + bh + m, max(0, x - m):x + bw + m] = False
        if mask.sum() > 200:
            ring[scene].append(img[mask].mean(0))
    assert n_twins > 100
    water, road = np.array(ring['water']), np.array(ring['road'])
    assert len(water) > 5 and len(road) > 5
    # mean background colour differs by far less than its spread between images
    assert np.abs(water.mean(0) - road.mean(0)).max() < 0.5 * np.concatenate([water, road]).std(0).max() + 2


def test_suite_val_splits_can_measure(tmp_path):
    """The default suite's val splits hold >= 150 instances of each context class (both context
    splits), >= 100 of each rare class in lt_val, >= 100 of each class in fog_target_val."""
    from hce_det.datasets.synthetic import CONTEXT_CLASSES, SuiteSpec
    specs = SuiteSpec().build()

    def counts(split, train_cats=None):
        data = generate_split(specs[split], str(tmp_path), write_images=False,
                              train_categories=train_cats)
        names = {c['id']: c['name'] for c in data['categories']}
        out = {n: 0 for n in CLASSES}
        for a in data['annotations']:
            out[names[a['category_id']]] += 1
        return out, data
    for split in ('context_val', 'context_cooc_val'):
        n, _ = counts(split)
        assert min(n[c] for c in CONTEXT_CLASSES) >= 150, (split, n)
    _, train = counts('lt_train')
    n, data = counts('lt_val', train['categories'])
    rare = [c['name'] for c in data['categories'] if c['frequency'] == 'r']
    assert rare and min(n[c] for c in rare) >= 100, (rare, n)
    n, _ = counts('fog_target_val')
    assert min(n.values()) >= 100, n


def test_unknown_context_cue_is_refused():
    with pytest.raises(ValueError, match='context_cue'):
        render_image(SplitSpec('x', 1, context_cue='smell'), 0, class_weights(1.0))
