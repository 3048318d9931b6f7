"""tools/analysis/plot_lvis_groups.py: reads LVIS metrics from result files, writes a PNG."""
import json
import os.path as osp
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import plot_lvis_groups as plg  # noqa: E402


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
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


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
