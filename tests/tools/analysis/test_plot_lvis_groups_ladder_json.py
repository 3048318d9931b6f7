"""plot_lvis_groups.py on the minimal ladder JSON of compare.py (ladder, metric, iters, data_seed,
git, runs[variant, seed, seconds, metrics]); no ``keys`` / ``curve`` needed."""
import json
import os.path as osp
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import plot_lvis_groups as plg  # noqa: E402

MINIMAL = {'ladder': 'recognition', 'metric': 'APr', 'iters': 400, 'data_seed': 0, 'git': 'x',
           'runs': [{'variant': v, 'seed': s, 'seconds': 1.0,
                     'metrics': {'AP': ap, 'APr': r, 'APc': c, 'APf': f, 'AP50': 0.5}}
                    for v, s, ap, r, c, f in [('softmax', 0, .30, .10, .20, .40),
                                              ('softmax', 1, .30, .30, .20, .40),
                                              ('bbn', 1, .31, .25, .21, .39),
                                              ('bbn', 0, .29, .15, .19, .41)]]}


def test_minimal_ladder_json_bars_and_seed_dots(tmp_path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    path = tmp_path / 'recognition.json'
    path.write_text(json.dumps(MINIMAL))
    values = plg.load_ladder(str(path))
    assert list(values) == ['softmax', 'bbn'] and values['bbn']['APr'] == [0.15, 0.25]
    fig, ax = plt.subplots()
    plg.draw(ax, values)
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([20.0, 20.0, 40.0, 20.0, 20.0, 40.0])  # APr APc APf x 2
    assert sum(len(c.get_offsets()) for c in ax.collections) == 12         # 2 seeds x 3 x 2
    plt.close(fig)
    out = tmp_path / 'groups.png'
    assert plg.main([str(path), '--out', str(out)]) == str(out)
    assert out.read_bytes()[:4] == b'\x89PNG'
