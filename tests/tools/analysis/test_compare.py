"""The comparison harness (tools/analysis/compare.py): shared initialisation, resumability,
the ladder JSON schema and the paired-difference table."""
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook

from tools.analysis.compare import (build_variant_runner, configure, load_config, markdown,
                                    report, run_ladder, train_and_eval)
from tools.analysis.ladders import LADDERS

pytestmark = pytest.mark.usefixtures('one_thread')


class _Stop(Exception):
    pass


class _SnapshotAndStop(Hook):
    """Capture the model's state when training is about to take its first step, then stop."""
    def __init__(self, into):
        self.into = into

    def before_train(self, runner):
        self.into.update({k: v.clone() for k, v in runner.model.state_dict().items()})
        raise _Stop


def _state_at_first_step(runner):
    state = {}
    runner.register_hook(_SnapshotAndStop(state), priority='LOWEST')
    with pytest.raises(_Stop):
        runner.train()
    return state


def test_variants_start_bit_identical_in_shared_modules(tiny_data, tmp_path):
    ladder = LADDERS['hce']
    out = str(tmp_path)
    vanilla = _state_at_first_step(build_variant_runner(
        ladder, ladder.variant('vanilla'), 0, 2, tiny_data, out, {}))
    hce = _state_at_first_step(build_variant_runner(
        ladder, ladder.variant('both'), 0, 2, tiny_data, out, {}))
    shared = [k for k in vanilla if k in hce and hce[k].shape == vanilla[k].shape]
    assert len(shared) > 50 and len(hce) > len(shared)   # HCE has modules of its own
    for k in shared:
        assert torch.equal(vanilla[k], hce[k]), k
    # negative control: without the shared init the extra HCE modules shift the random stream
    # and the shared detector starts from other weights
    from mmengine.runner import Runner
    cfg = configure(load_config(ladder.variant('both')), ladder, ladder.variant('both'), 0, 2,
                    tiny_data, str(tmp_path / 'control'), None, {})
    control = _state_at_first_step(Runner.from_cfg(cfg))
    assert any(not torch.equal(vanilla[k], control[k]) for k in shared)


class _CountVals(Hook):
    def __init__(self):
        self.n = 0

    def after_val_epoch(self, runner, metrics=None):
        self.n += 1


def test_a_plain_run_validates_once_after_training(tiny_data, tmp_path):
    """mmengine's train loop validates at its last iteration whatever ``val_interval`` is;
    a plain (no curve) run must leave that to ``runner.val()`` alone."""
    ladder = LADDERS['hce']
    runner = build_variant_runner(ladder, ladder.variant('vanilla'), 0, 2, tiny_data,
                                  str(tmp_path), {})
    count = _CountVals()
    runner.register_hook(count)
    runner.train()
    assert count.n == 0
    runner.val()
    assert count.n == 1


def test_a_killed_ladder_resumes_without_rerunning_finished_pairs(tmp_path):
    ladder = LADDERS['hce']
    variants = [ladder.variant('vanilla'), ladder.variant('both')]
    calls = []

    def fake(ladder, v, seed, iters, data_root, out, ctx, curve_every=0, kill_after=None):
        calls.append((v.name, seed))
        if kill_after is not None and len(calls) > kill_after:
            raise KeyboardInterrupt
        ap = 0.1 * (1 + seed) + (0.05 if v.name == 'both' else 0.0)
        return dict(variant=v.name, seed=seed, seconds=1.0,
                    metrics=dict(mAP=ap, ctxAP=ap, twin_confusion=0.3), curve=[])
    with pytest.raises(KeyboardInterrupt):
        run_ladder(ladder, variants, [0, 1], 10, 0, str(tmp_path), data_root='unused/',
                   runner_fn=lambda *a: fake(*a, kill_after=3))
    assert calls == [('vanilla', 0), ('both', 0), ('vanilla', 1), ('both', 1)]
    assert sorted(os.listdir(tmp_path / 'runs')) == [
        'both__seed0.json', 'vanilla__seed0.json', 'vanilla__seed1.json']
    calls.clear()
    result = run_ladder(ladder, variants, [0, 1], 10, 0, str(tmp_path), data_root='unused/',
                        runner_fn=fake)
    assert calls == [('both', 1)]
    assert len(result['runs']) == 4
    md = (tmp_path / 'hce.md').read_text()
    # paired differences: +5.0 in both seeds, sd 0, 2/2 seeds positive
    assert '| both | +5.0 | +5.0 | +5.0 ± 0.0 | 2/2 |' in md
    assert (tmp_path / 'hce.png').stat().st_size > 1000


def test_curve_runs_and_plain_runs_do_not_mix(tmp_path):
    """Validating during training draws from the RNG: a ladder of ``--curve-every K`` runs only
    holds runs of that interval, and the report's command repeats the flag."""
    ladder = LADDERS['hce']
    variants = [ladder.variant('vanilla'), ladder.variant('both')]

    def fake(ladder, v, seed, iters, data_root, out, ctx, curve_every=0):
        ap = 0.2 if curve_every else 0.1
        return dict(variant=v.name, seed=seed, seconds=1.0, curve=[],
                    metrics=dict(mAP=ap, ctxAP=ap, twin_confusion=0.3))
    out = tmp_path / 'hce'
    run_ladder(ladder, variants, [0], 10, 0, str(out), data_root='unused/', runner_fn=fake)
    variants2 = [ladder.variant('vanilla')]
    with open(out / 'runs' / 'vanilla__seed0.json') as f:
        assert json.load(f)['curve_every'] == 0
    os.remove(out / 'runs' / 'vanilla__seed0.json')
    result = run_ladder(ladder, variants2, [0], 10, 0, str(out), curve_every=5,
                        data_root='unused/', runner_fn=fake)
    assert result['curve_every'] == 5
    assert [(r['variant'], r['metrics']['mAP']) for r in result['runs']] == [('vanilla', 0.2)]
    os.makedirs(tmp_path / 'results')
    with open(tmp_path / 'results' / 'hce_curve.json', 'w') as f:
        json.dump(result, f)
    report(str(tmp_path / 'results'), str(tmp_path / 'RESULTS.md'))
    text = (tmp_path / 'RESULTS.md').read_text()
    assert '--iters 10 --data-seed 0 --curve-every 5' in text
    assert "## `hce` ladder, `hce_curve.json`" in text


def test_markdown_mean_sd_and_sign_count():
    result = dict(ladder='x', metric='m', iters=5, data_seed=0, git='g', keys=['m'], runs=[
        dict(variant='a', seed=s, metrics=dict(m=v)) for s, v in enumerate((0.1, 0.2, 0.3))] + [
        dict(variant='b', seed=s, metrics=dict(m=v)) for s, v in enumerate((0.2, 0.1, 0.5))])
    md = markdown(result)
    assert '| a | 3 | 20.0 ± 10.0 |' in md             # mean 0.2, sd 0.1
    assert '| b | +10.0 | -10.0 | +20.0 | +6.7 ± 15.3 | 2/3 |' in md


def test_ladder_json_schema_from_real_runs(tiny_data, tmp_path):
    """Two real 2-iteration runs on the tiny data: the JSON has every documented field and the
    HCE ladder's metrics (COCO AP, per-class AP, context AP, twin confusion) as fractions."""
    ladder = LADDERS['hce']
    variants = [ladder.variant('vanilla'), ladder.variant('embloss')]
    result = run_ladder(ladder, variants, [0], 2, 0, str(tmp_path), data_root=tiny_data)
    with open(tmp_path / 'hce.json') as f:
        assert json.load(f) == result
    assert set(result) >= {'ladder', 'metric', 'iters', 'data_seed', 'git', 'runs'}
    assert result['ladder'] == 'hce' and result['metric'] == 'ctxAP' and result['iters'] == 2
    assert [(r['variant'], r['seed']) for r in result['runs']] == [('vanilla', 0), ('embloss', 0)]
    for r in result['runs']:
        assert r['seconds'] > 0
        m = r['metrics']
        assert {'mAP', 'AP50', 'ctxAP', 'twin_confusion', 'AP_boat', 'AP_ring'} <= set(m)
        for k in ('mAP', 'AP50', 'ctxAP', 'AP_boat'):
            assert m[k] is None or 0.0 <= m[k] <= 1.0, (k, m[k])
    # each run trained on the headroom split and evaluated on its val split
    cfg_dump = [f for f in os.listdir(tmp_path / 'work' / 'vanilla__seed0') if f.endswith('.py')]
    text = open(tmp_path / 'work' / 'vanilla__seed0' / cfg_dump[0]).read()
    assert 'context_cooc_train.json' in text and 'context_cooc_val.json' in text
    assert 'annotations/context_train.json' not in text


def test_report_writes_tables_plots_and_one_command_per_seed_set(tmp_path):
    from tools.analysis.compare import report
    res = tmp_path / 'results'
    res.mkdir()
    runs = [dict(variant=v, seed=s, seconds=1.0, metrics=dict(ctxAP=0.1 * (s + 1) + d))
            for v, d, seeds in (('vanilla', 0.0, (0, 1, 2)), ('both', 0.05, (0, 1, 2)),
                                ('gated', 0.0, (0,))) for s in seeds]
    with open(res / 'hce.json', 'w') as f:
        json.dump(dict(ladder='hce', metric='ctxAP', iters=300, data_seed=0, git='g',
                       keys=['ctxAP'], runs=runs), f)
    out = tmp_path / 'RESULTS.md'
    report(str(res), str(out))
    text = out.read_text()
    assert 'compare.py hce --variants vanilla both --seeds 0 1 2 --iters 300' in text
    assert 'compare.py hce --variants gated --seeds 0 --iters 300' in text
    assert '| both | +5.0 | +5.0 | +5.0 | +5.0 ± 0.0 | 3/3 |' in text
    assert '![hce](results/hce.png)' in text and (res / 'hce.png').is_file()


def test_report_embeds_the_frequency_group_plot_for_long_tail_ladders(tmp_path):
    """A ladder with APr/APc/APf keys gets plot_lvis_groups' bars in RESULTS.md; others do not."""
    from tools.analysis.compare import report
    res = tmp_path / 'results'
    res.mkdir()
    lt = [dict(variant=v, seed=s, seconds=1.0,
               metrics=dict(AP=0.3 + d, APr=0.1 + d, APc=0.2, APf=0.4))
          for v, d in (('softmax-ce', 0.0), ('apa-droploss', 0.05)) for s in (0, 1)]
    with open(res / 'long_tail.json', 'w') as f:
        json.dump(dict(ladder='long_tail', metric='APr', iters=500, data_seed=0, git='g',
                       keys=['AP', 'APr', 'APc', 'APf'], runs=lt), f)
    with open(res / 'hce.json', 'w') as f:
        json.dump(dict(ladder='hce', metric='ctxAP', iters=5, data_seed=0, git='g',
                       keys=['ctxAP'], runs=[dict(variant='vanilla', seed=0, seconds=1.0,
                                                  metrics=dict(ctxAP=0.1))]), f)
    out = tmp_path / 'RESULTS.md'
    report(str(res), str(out))
    text = out.read_text()
    assert '![long_tail by frequency group](results/long_tail_groups.png)' in text
    assert (res / 'long_tail_groups.png').stat().st_size > 1000
    assert not (res / 'hce_groups.png').exists() and 'hce by frequency group' not in text


def test_summarise_keeps_per_class_ap_of_coco_and_lvis_metrics(tmp_path):
    """Per-class AP as ``AP_<class>`` from either metric; the context-class mean only from the
    COCO metric of the context ladders (the LVIS ladder's classes share some names)."""
    from tools.analysis.compare import summarise
    lvis = summarise({'lvis/bbox_AP': 0.5, 'lvis/bbox_APr': 0.25, 'lvis/ring_precision': 0.25,
                      'lvis/boat_precision': 0.75}, str(tmp_path), LADDERS['long_tail'])
    assert lvis == {'AP_ring': 0.25, 'AP_boat': 0.75, 'AP': 0.5, 'APr': 0.25}
    coco = summarise({'coco/bbox_mAP': 0.5, 'coco/bbox_mAP_50': 0.75, 'coco/boat_precision': 0.5,
                      'coco/car_precision': 0.25}, str(tmp_path), LADDERS['hce'])
    assert coco['AP_boat'] == 0.5 and coco['mAP'] == coco['AP'] == 0.5
    assert coco['ctxAP'] == pytest.approx(0.375)
