"""tools/analysis/plot_lvis_groups.py: APr/APc/APf bars (mean over seeds) and seed dots from a
compare.py ladder JSON; single LVIS result files still work; writes a PNG."""
import json
import os.path as osp
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import plot_lvis_groups as plg  # noqa: E402

PNG = b'\x89PNG\r\n\x1a\n'


def _run(variant, seed, AP, APr, APc, APf):
    return dict(variant=variant, seed=seed, seconds=1.0, curve=[],
                metrics=dict(AP=AP, APr=APr, APc=APc, APf=APf))


LADDER = dict(ladder='long_tail', metric='APr', iters=500, data_seed=0, git='abc',
              keys=['AP', 'APr', 'APc', 'APf'],
              runs=[_run('softmax-ce', 0, 0.30, 0.10, 0.20, 0.40),
                    _run('softmax-ce', 1, 0.32, 0.20, 0.30, 0.50),
                    _run('softmax-ce', 2, 0.28, 0.00, 0.25, 0.45),
                    _run('gumbel', 1, 0.35, 0.30, None, 0.41),   # APc not measurable
                    _run('gumbel', 0, 0.33, 0.20, None, 0.39),
                    _run('seesaw', 0, 0.31, 0.15, 0.22, 0.44)])
MEANS = {'softmax-ce': [0.10, 0.25, 0.45], 'gumbel': [0.25, None, 0.40],
         'seesaw': [0.15, 0.22, 0.44]}


def _heights(ax):
    return [p.get_height() for p in ax.patches]


def test_ladder_bars_are_seed_means_and_dots_are_seeds(tmp_path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    values = plg.load_ladder(LADDER)
    assert list(values) == ['softmax-ce', 'gumbel', 'seesaw']   # ladder order
    assert values['gumbel']['APr'] == [0.20, 0.30]              # sorted by seed
    fig, ax = plt.subplots()
    bars = plg.draw(ax, values)
    want = [0 if m is None else 100 * m for v in values for m in MEANS[v]]
    assert _heights(ax) == pytest.approx(want)
    for v, means in MEANS.items():
        assert [b.get_height() for b in bars[v]] == pytest.approx(
            [0 if m is None else 100 * m for m in means])
    # dots: one per measurable (variant, group, seed), at the seed's value
    dots = sorted(round(float(y), 6) for c in ax.collections for _, y in c.get_offsets())
    seeds = sorted(round(100 * r['metrics'][g], 6) for r in LADDER['runs']
                   for g in ('APr', 'APc', 'APf') if r['metrics'][g] is not None)
    assert dots == seeds
    assert 'n/a' in [t.get_text() for t in ax.texts]            # gumbel APc
    plt.close(fig)


def test_ladder_cli_picks_variants_and_writes_png(tmp_path):
    path = tmp_path / 'long_tail.json'
    path.write_text(json.dumps(LADDER))
    out = tmp_path / 'groups.png'
    assert plg.main([str(path), '--variants', 'seesaw', 'softmax-ce', '--out', str(out)]) \
        == str(out)
    assert out.read_bytes()[:8] == PNG
    values = plg.load_ladder(str(path), ['seesaw', 'softmax-ce'], ['AP', 'APr'])
    assert list(values) == ['seesaw', 'softmax-ce']
    assert values['softmax-ce']['AP'] == [0.30, 0.32, 0.28]
    with pytest.raises(KeyError, match='available'):
        plg.load_ladder(LADDER, ['eqlv2'])
    hce = dict(LADDER, ladder='hce', runs=[dict(variant='vanilla', seed=0,
                                                metrics=dict(mAP=0.3, ctxAP=0.2))])
    with pytest.raises(KeyError, match='long_tail or recognition'):
        plg.load_ladder(hce)
    with pytest.raises(SystemExit):  # one ladder at a time
        plg.main([str(path), str(path), '--out', str(out)])


def test_reads_metric_files_and_json_lines_logs(tmp_path):
    a = tmp_path / 'a.json'
    a.write_text(json.dumps({'lvis/bbox_AP': 0.3, 'lvis/bbox_APr': 0.1, 'lvis/bbox_APc': 0.25,
                             'lvis/bbox_APf': 0.4, 'lvis/segm_APr': 0.05}))
    b = tmp_path / 'b.log.json'  # mmengine scalars log: one JSON object per line
    b.write_text('\n'.join([json.dumps({'loss': 1.0, 'iter': 10}),
                            json.dumps({'lvis/bbox_AP': 0.2, 'lvis/bbox_APr': -1.0,
                                        'lvis/bbox_APc': 0.2, 'lvis/bbox_APf': 0.3})]))
    assert plg.load_groups(str(a)) == dict(AP=0.3, APr=0.1, APc=0.25, APf=0.4)
    assert plg.load_groups(str(b))['APr'] == -1.0
    out = tmp_path / 'groups.png'
    plg.main([str(a), str(b), '--labels', 'gol', 'softmax', '--out', str(out)])
    assert out.read_bytes()[:8] == PNG


def test_missing_metrics_and_label_mismatch_are_reported(tmp_path):
    f = tmp_path / 'x.json'
    f.write_text(json.dumps({'coco/bbox_mAP': 0.3}))
    with pytest.raises(KeyError, match='no LVIS bbox metrics'):
        plg.load_groups(str(f))
    g = tmp_path / 'y.json'
    g.write_text(json.dumps({'lvis/segm_AP': 0.3, 'lvis/segm_APr': 0.1}))
    with pytest.raises(KeyError, match='missing'):
        plg.load_groups(str(g), 'segm')
    with pytest.raises(SystemExit):
        plg.main([str(f), '--labels', 'a', 'b'])
