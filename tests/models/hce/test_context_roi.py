"""HierarchicalContextRoI: context RoI features, early-fusion shapes and values, the global
branch, the grid RoIAlign, the zero gate's requirements."""
import pytest
import torch
import torch.nn.functional as F

import hce_det  # noqa: F401  (registration)
from hce_det.models.hce.context_roi import GridRoIAlign, HierarchicalContextRoI, image_rois


def _context_module(early_fusion, use_global=True, layer='GridRoIAlign'):
    torch.manual_seed(0)
    m = HierarchicalContextRoI(in_channels=8, out_channels=6, featmap_stride=8,
                               roi_layer=dict(type=layer, output_size=7, sampling_ratio=2),
                               use_global=use_global, early_fusion=early_fusion)
    m.init_weights()
    return m


def _rois():
    return torch.tensor([[0, 4., 4., 60., 40.], [1, 10., 20., 30., 90.], [1, 0., 0., 127., 127.]])


@pytest.mark.parametrize('early_fusion', [None, 'sum', 'concat'])
@pytest.mark.parametrize('use_global', [True, False])
@pytest.mark.parametrize('layer', ['GridRoIAlign', 'RoIAlign'])
def test_context_roi_shapes_every_fusion(early_fusion, use_global, layer):
    m = _context_module(early_fusion, use_global, layer)
    embedded = torch.rand(2, 8, 16, 16)
    x_ctx = m(embedded, _rois())
    assert x_ctx.shape == (3, 6, 7, 7)
    roi_feats = torch.randn(3, 6, 7, 7)
    fused = m.fuse(roi_feats, x_ctx)
    assert fused.shape == roi_feats.shape
    if early_fusion is None:
        assert fused is roi_feats
    elif early_fusion == 'sum':
        assert torch.allclose(fused, roi_feats + x_ctx)


def test_context_roi_equals_conv_on_concat_of_instance_and_global():
    """x_context == ReLU(conv1x1(cat(RoIAlign(E, roi), RoIAlign(E, image box))))."""
    m = _context_module('sum')
    embedded = torch.rand(2, 8, 16, 16)
    rois = _rois()
    shapes = [(128, 128), (96, 120)]
    x_ctx = m(embedded, rois, m.global_context(embedded, shapes))
    x_inst = m.roi_layer(embedded, rois)
    x_glob = m.global_layer(embedded, image_rois(shapes, 'cpu'))[rois[:, 0].long()]
    weight = torch.cat([m.inst_proj.weight, m.global_proj.weight], dim=1)
    ref = F.relu(F.conv2d(torch.cat([x_inst, x_glob], 1), weight, m.global_proj.bias))
    assert torch.allclose(x_ctx, ref, atol=1e-5)
    # the global part is the same for every RoI of an image and differs between images
    g = m.global_context(embedded, shapes)
    assert g.shape == (2, 6, 7, 7) and not torch.allclose(g[0], g[1])


def test_context_roi_global_avg_pool_broadcasts_the_image_mean():
    """global_pool='avg': W_g (mean over the S x S grid of x_global) + b at every position."""
    m = _context_module('sum')
    m_avg = HierarchicalContextRoI(in_channels=8, out_channels=6, featmap_stride=8,
                                   global_pool='avg')
    m_avg.load_state_dict(m.state_dict())
    embedded = torch.rand(2, 8, 16, 16)
    shapes = [(128, 128), (96, 120)]
    x_glob = m.global_layer(embedded, image_rois(shapes, 'cpu'))
    ref = m.global_proj(x_glob.mean(dim=(2, 3), keepdim=True))        # (2, 6, 1, 1)
    g = m_avg.global_context(embedded, shapes)
    assert g.shape == (2, 6, 7, 7)
    assert torch.allclose(g, ref.expand_as(g), atol=1e-6)
    assert not torch.allclose(g, m.global_context(embedded, shapes))
    with pytest.raises(ValueError, match='global_pool'):
        HierarchicalContextRoI(in_channels=8, out_channels=6, featmap_stride=8,
                               global_pool='median')


def test_context_roi_global_max_pool_reads_the_valid_area_only():
    """global_pool='max': W_g (max of the embedded map over the image's unpadded cells) + b at
    every position; a larger value in the padding is not read."""
    m = _context_module('sum')
    m_max = HierarchicalContextRoI(in_channels=8, out_channels=6, featmap_stride=8,
                                   global_pool='max')
    m_max.load_state_dict(m.state_dict())
    embedded = torch.rand(2, 8, 16, 16)
    embedded[1, :, 12:, :] = 5.0   # image 1 is 90 px high: rows 12.. (>= 96 px) are padding
    embedded[1, 3, 5, 2] = 2.0     # a small object inside: the max, whatever its area
    shapes = [(128, 128), (90, 120)]
    g = m_max.global_context(embedded, shapes)
    x0 = embedded[0].amax(dim=(1, 2))
    x1 = embedded[1, :, :12, :15].amax(dim=(1, 2))
    assert x1[3] == 2.0 and (x1 < 5.0).all()
    ref = m.global_proj(torch.stack([x0, x1])[..., None, None])
    assert g.shape == (2, 6, 7, 7)
    assert torch.allclose(g, ref.expand_as(g), atol=1e-6)
    # the whole map without image shapes
    ref_all = m.global_proj(embedded.amax(dim=(2, 3), keepdim=True))
    assert torch.allclose(m_max.global_context(embedded, None), ref_all.expand_as(g), atol=1e-6)


@pytest.mark.parametrize('s', [1, 2, 3])
def test_grid_roi_align_matches_mmcv_inside_the_map(s):
    from mmcv.ops import RoIAlign
    torch.manual_seed(0)
    feats = torch.rand(2, 5, 16, 20)
    rois = torch.tensor([[0, 8., 8., 60., 40.], [1, 10., 20., 30., 90.], [1, 4., 4., 150., 120.],
                         [0, 33., 21., 34.5, 22.]])
    ref = RoIAlign((7, 7), 1 / 8, sampling_ratio=s, aligned=True)(feats, rois)
    out = GridRoIAlign(7, 1 / 8, sampling_ratio=s)(feats, rois)
    assert out.shape == ref.shape == (4, 5, 7, 7)
    assert torch.allclose(out, ref, atol=1e-5)


def test_gate_needs_sum_fusion():
    from hce_det.models.hce import HierarchicalContextRoI
    with pytest.raises(ValueError, match="early_fusion='sum'"):
        HierarchicalContextRoI(8, 8, 8.0, early_fusion='concat', gate='zero')
    with pytest.raises(ValueError, match='gate'):
        HierarchicalContextRoI(8, 8, 8.0, gate='one')
