"""tools/analysis/benchmark_overhead.py: round-robin timing and the ``da`` mode (training-step
overhead of the cr_da ladder's variants over plain Faster R-CNN)."""
import json
import os.path as osp
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import benchmark_overhead as bo  # noqa: E402

pytestmark = pytest.mark.usefixtures('one_thread')


def test_round_robin_rotates_the_start_and_times_every_setting_once_per_round():
    calls = []

    def fn(name, t):
        def f(r):
            calls.append((name, r))
            return t * (r + 1)
        return f
    times = bo.round_robin([fn('a', 1.0), fn('b', 2.0), fn('c', 3.0)], warmup=2, repeats=4)
    assert calls[:6] == [('a', 0), ('b', 0), ('c', 0)] * 2          # warm-up, untimed
    rounds = [calls[6 + 3 * r: 9 + 3 * r] for r in range(4)]
    assert [[n for n, _ in rd] for rd in rounds] == [list('abc'), list('bca'), list('cab'),
                                                      list('abc')]
    assert all(r == i + 1 for i, rd in enumerate(rounds) for _, r in rd)
    assert times == [[1.0 * (r + 2) for r in range(4)], [2.0 * (r + 2) for r in range(4)],
                     [3.0 * (r + 2) for r in range(4)]]
    # two settings: A B, B A, ... and medians, as before
    calls.clear()
    assert bo.interleaved(fn('a', 1.0), fn('b', 2.0), 1, 3) == (3.0, 6.0)
    assert [n for n, _ in calls] == list('ab' 'ab' 'ba' 'ab')


@pytest.mark.slow
def test_da_mode_times_ladder_variants_against_both_plain_baselines(tiny_data, tmp_path):
    out = tmp_path / 'da.json'
    res = bo.main(['da', '--variants', 'SW-Faster+ICR+CCR-no-context', '--iters', '2',
                   '--warmup', '0', '--data-root', tiny_data, '--out', str(out)])
    labels = list(res)
    assert labels == ['plain Faster R-CNN, 2 source img', 'plain Faster R-CNN, 4 source img',
                      'SW-Faster+ICR+CCR-no-context (2+2)']
    assert [res[k]['batch'] for k in labels] == [2, 4, 4]
    assert res[labels[0]]['ratio_same_labelled'] == pytest.approx(1.0)
    assert res[labels[1]]['ratio_same_total'] == pytest.approx(1.0)
    assert all(r['median_s'] > 0 and r['ratio_same_total'] > 0 for r in res.values())
    # the no-context edit (ladders._no_sw_context) was applied: fewer parameters than SW+ctx
    model, _, batches = bo.da_setting('SW-Faster+ICR+CCR', 4, tiny_data, 'cpu', 1)
    assert model.sw_context is not None and len(batches) == 1
    assert {k: sum(x is not None for x in v) for k, v in batches[0]['inputs'].items()} == \
        {'source': 2, 'target': 2}
    assert sum(p.numel() for p in model.parameters()) / 1e6 > \
        res['SW-Faster+ICR+CCR-no-context (2+2)']['params_M']
    saved = json.loads(out.read_text())
    assert saved['iters'] == 2 and list(saved['settings']) == labels


@pytest.mark.slow
def test_da_mode_same_images_baseline(tiny_data):
    """``--same-images``: plain Faster R-CNN on the DA variant's own 2 + 2 images (one batch of
    4, target images without boxes), timed in the same rounds; one round only (a smoke test of
    the script, not a measurement)."""
    res = bo.main(['da', '--variants', 'DA-Faster', '--same-images', '--iters', '1',
                   '--warmup', '0', '--data-root', tiny_data])
    assert list(res)[-2:] == ['DA-Faster (2+2)', bo.SAME_IMAGES]
    assert res[bo.SAME_IMAGES]['ratio_same_images'] == pytest.approx(1.0)
    assert all(r['ratio_same_images'] > 0 for r in res.values())
    assert '| ratio vs plain, same 2+2 imgs |' in bo.da_table(res).splitlines()[0]
    _, _, batches = bo.da_setting('DA-Faster', 4, tiny_data, 'cpu', 1)
    plain = bo.plain_batch(batches[0])
    src, tgt = ([x for x in batches[0]['inputs'][d] if x is not None]
                for d in ('source', 'target'))
    assert len(plain['inputs']) == len(plain['data_samples']) == len(src) + len(tgt) == 4
    assert all(a is b for a, b in zip(plain['inputs'], src + tgt))
    assert [len(s.gt_instances) for s in plain['data_samples'][2:]] == [0, 0]
    assert all(len(s.gt_instances) > 0 for s in plain['data_samples'][:2])


def test_val_data_and_trained_weights(tiny_data, tmp_path):
    """``--val-data``: the ladder's renamed val split, the same pixels for both models;
    ``--checkpoints``: the saved weights, not the random ones."""
    import torch
    cfg = bo.load_cfg(osp.join(ROOT, 'configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py'))
    a = bo.build_model(cfg, 'cpu')
    batch = a.data_preprocessor(bo.val_data(cfg, 3, 'hce', data_root=tiny_data), True)
    samples = batch['data_samples']
    assert batch['inputs'].shape[:2] == (3, 3) and len(samples) == 3
    assert all(s.img_path.startswith(tiny_data) for s in samples)
    with open(osp.join(tiny_data, 'annotations', 'context_cooc_val.json')) as f:
        first = json.load(f)['images'][0]['file_name']
    with open(osp.join(tiny_data, 'annotations', 'context_val.json')) as f:
        plain = json.load(f)['images'][0]['file_name']
    assert first != plain and samples[0].img_path.endswith(first)
    b = bo.build_model(cfg, 'cpu')
    with torch.no_grad():
        for p in a.parameters():
            p.add_(1.0)
    torch.save(dict(state_dict=a.state_dict(), meta={}), tmp_path / 'a.pth')
    assert not torch.equal(a.backbone.conv1.weight, b.backbone.conv1.weight)
    bo.load_weights(b, str(tmp_path / 'a.pth'))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_shared_detector_copies_the_common_tensors_and_keeps_b_own_modules(tiny_data):
    """``--shared-detector``: B (HCE) takes every tensor it shares with A (vanilla), keeps its
    HCE modules; then both propose the same boxes (``box_counts``), which is the point."""
    import torch
    demo = osp.join(ROOT, 'configs/demo/')
    cfg_a = bo.load_cfg(demo + 'faster-rcnn_r18-thin_fpn_1k_synth-context.py')
    cfg_b = bo.load_cfg(osp.join(
        ROOT, 'configs/hce/hce-late-conv-gs0p3-gmax-p23_faster-rcnn_r18-thin_fpn_1k_synth-'
              'context.py'))
    a, b = bo.build_model(cfg_a, 'cpu'), bo.build_model(cfg_b, 'cpu')
    with torch.no_grad():
        for p in a.parameters():
            p.mul_(1.5)
    own_before = {k: v.clone() for k, v in b.state_dict().items() if 'context' in k}
    copied, own = bo.share_detector(a, b)
    assert copied == len(a.state_dict())
    assert own and all(k.startswith(('roi_head.context_embedding', 'roi_head.context_roi',
                                     'roi_head.context_cls')) for k in own)
    sb = b.state_dict()
    assert all(torch.equal(v, sb[k]) for k, v in a.state_dict().items())
    assert all(torch.equal(v, sb[k]) for k, v in own_before.items())
    batch = a.data_preprocessor(bo.val_data(cfg_a, 2, 'hce', data_root=tiny_data), True)
    (pa, da), (pb, db) = bo.box_counts(a, batch), bo.box_counts(b, batch)
    assert pa == pb and 0 < pa <= cfg_a.model.test_cfg.rpn.max_per_img
    assert 0 <= da <= cfg_a.model.test_cfg.rcnn.max_per_img
