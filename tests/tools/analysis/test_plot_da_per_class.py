"""tools/analysis/plot_da_per_class.py: per-class AP50 bars from VOCPerClassAP50Metric tables
and from a compare.py cr_da ladder JSON."""
import json

import pytest

from conftest import AP50_CLASSES as CLASSES, ROOT, ap50_case
from hce_det.evaluation.voc_per_class import per_class_ap50


def _plot_mod():
    import os.path as osp
    import sys
    sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
    import plot_da_per_class
    return plot_da_per_class


def _da_run(variant, seed, a, b, c=None):
    aps = [v for v in (a, b, c) if v is not None]
    return dict(variant=variant, seed=seed, seconds=1.0, curve=[],
                metrics=dict(mAP50=sum(aps) / len(aps), mAP50_11pt=0.3, AP50=0.3,
                             AP50_a=a, AP50_b=b, AP50_c=c))


# a compare.py cr_da ladder JSON: per-class AP50 (area) as AP50_<class>; None = no GT
DA_LADDER = dict(ladder='cr_da', metric='mAP50', iters=500, data_seed=0, git='abc',
                 keys=['mAP50', 'mAP50_11pt', 'AP50'],
                 runs=[_da_run('source-only', 0, 0.2, 0.4), _da_run('source-only', 1, 0.4, 0.2),
                       _da_run('DA-Faster', 1, 0.5, 0.7, 0.9), _da_run('DA-Faster', 0, 0.3, 0.5),
                       _da_run('DA-Faster', 2, 0.4, 0.6)])


def test_plot_per_class_from_tables(tmp_path):
    plot_mod = _plot_mod()
    preds, gts = ap50_case()
    table = per_class_ap50(preds, gts, CLASSES, use_legacy_coordinate=False)
    (tmp_path / 't.json').write_text(json.dumps(table))
    ap = plot_mod.from_table(str(tmp_path / 't.json'))
    assert list(ap) == ['a', 'b'] and ap['b'] == pytest.approx(0.5)
    out = tmp_path / 'bars.png'
    plot_mod.main(['--runs', f"src={tmp_path / 't.json'}", '--out', str(out)])
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_plot_per_class_from_compare_ladder(tmp_path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    plot_mod = _plot_mod()
    src = plot_mod.from_ladder(DA_LADDER, 'source-only')
    da = plot_mod.from_ladder(DA_LADDER, 'DA-Faster')
    assert src == pytest.approx({'a': 0.3, 'b': 0.3})          # no c: never measurable
    assert list(da) == ['a', 'b', 'c']
    assert da == pytest.approx({'a': 0.4, 'b': 0.6, 'c': 0.9})  # c: the one seed with GT
    with pytest.raises(KeyError, match='available'):
        plot_mod.from_ladder(DA_LADDER, 'SW-Faster')
    with pytest.raises(KeyError, match='cr_da'):
        plot_mod.from_ladder(dict(ladder='hce', runs=[dict(variant='v', seed=0,
                                                          metrics=dict(mAP=0.1))]), 'v')
    fig, ax = plt.subplots()
    bars = plot_mod.draw(ax, {'DA-Faster': da, 'source-only': src})
    nan = float('nan')
    assert [b.get_height() for b in bars['DA-Faster']] == pytest.approx([40, 60, 90, 190 / 3])
    assert [b.get_height() for b in bars['source-only']] == pytest.approx([30, 30, nan, 30],
                                                                        nan_ok=True)
    assert [t.get_text() for t in ax.get_xticklabels()] == ['a', 'b', 'c', 'mAP']
    plt.close(fig)

    path = tmp_path / 'cr_da.json'
    path.write_text(json.dumps(DA_LADDER))
    out = tmp_path / 'per_class.png'
    assert plot_mod.main(['--ladder', str(path), '--variants', 'DA-Faster', 'source-only',
                          '--out', str(out)]) == str(out)
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    for bad in (['--variants', 'DA-Faster'], ['--ladder', str(path), '--mode', '11points'], []):
        with pytest.raises(SystemExit):
            plot_mod.main(bad + ['--out', str(out)])
