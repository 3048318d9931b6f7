"""tools/analysis/show_context.py draws a PNG for an HCE config (random weights), with the
ground truth."""
import glob
import importlib.util
import os.path as osp

import pytest

from conftest import ROOT


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
               img, '--out', str(out), '--cls', 'boat',
               '--ann-file', osp.join(tiny_data, 'annotations', 'context_val.json')])
    assert out.stat().st_size > 1000
    with pytest.raises(SystemExit, match='not in'):
        tool.main([osp.join(ROOT, 'configs/demo/hce_faster-rcnn_r18-thin_fpn_1k_synth-context.py'),
                   img, '--out', str(out), '--cls', 'zebra'])
    with pytest.raises(SystemExit, match='no HCE'):
        tool.main([osp.join(ROOT, 'configs/demo/faster-rcnn_r18-thin_fpn_1k_synth-context.py'),
                   img, '--out', str(out)])


def _render(draw, h=80, w=100):
    """Run ``draw(ax)`` on a gray h x w image, 1 data unit = 1 pixel; returns the RGB canvas."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    fig = plt.figure(figsize=(w / 100, h / 100), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(np.full((h, w, 3), 0.5))
    ax.axis('off')
    draw(ax)
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int).copy()
    plt.close(fig)
    return rgb, ax


def test_show_context_draws_gt_dashed_and_labelled():
    # issue 17: without ground truth a wrong detection looked right
    tool = _load_tool('show_context')
    out = {}
    rgb, ax = _render(lambda ax: out.update(a=tool.draw_gt(ax, [[20, 20, 70, 60]], ['boat'])))
    magenta = (rgb[..., 0] - rgb[..., 1] > 60) & (rgb[..., 2] - rgb[..., 1] > 60)
    top = magenta[19:23, 24:67].any(0)  # along the top edge, away from the corners
    left = magenta[24:57, 18:23].any(1)
    for edge in (top, left):
        runs = (edge[1:] != edge[:-1]).sum()
        assert 0.4 < edge.mean() < 0.95 and runs >= 4  # dashes: drawn, with gaps
    assert not magenta[30:50, 30:60].any()  # an outline, not a filled box
    assert [t.get_text() for t in ax.texts] == ['gt boat']
    assert magenta[61:72, 20:45].any()  # the label's box, under the bottom-left corner


def test_show_context_finds_the_images_gt(tiny_data):
    import json

    import numpy as np
    tool = _load_tool('show_context')
    ann = osp.join(tiny_data, 'annotations', 'context_val.json')
    with open(ann) as f:
        coco = json.load(f)
    im = coco['images'][0]
    anns = [a for a in coco['annotations'] if a['image_id'] == im['id']]
    boxes, names = tool.load_gt(ann, osp.join(tiny_data, im['file_name']))
    assert len(names) == len(anns) > 0 and boxes.shape == (len(anns), 4)
    x, y, w, h = anns[0]['bbox']
    assert np.allclose(boxes[0], [x, y, x + w, y + h])
    assert tool.load_gt(ann, '/elsewhere/not_an_image.png')[1] == []
