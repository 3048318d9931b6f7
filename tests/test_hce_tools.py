"""tools/analysis/show_context.py draws a PNG for an HCE config (random weights)."""
import glob
import importlib.util
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _load_tool(name):
    path = osp.join(ROOT, 'tools/analysis', name + '.py')
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_show_context_writes_png(tiny_data, tmp_path):
    img = sorted(glob.glob(osp.join(tiny_data, 'images', 'context_val', '*.png')))[0]
    out = tmp_path / 'ctx.png'
    tool = _load_tool('show_context')
    tool.main([osp.join(ROOT, 'configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'),
               img, '--out', str(out), '--cls', 'boat'])
    assert out.stat().st_size > 1000
    with pytest.raises(SystemExit, match='not in'):
        tool.main([osp.join(ROOT, 'configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'),
                   img, '--out', str(out), '--cls', 'zebra'])
    with pytest.raises(SystemExit, match='no HCE'):
        tool.main([osp.join(ROOT, 'configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py'),
                   img, '--out', str(out)])
