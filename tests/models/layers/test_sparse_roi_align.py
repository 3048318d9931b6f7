"""SparseRoIAlign / SparseRoIExtractor against mmcv's CPU roi_align and mmdet's
SingleRoIExtractor: outputs and input gradients, edge-case RoIs, delegation, empty RoIs."""
import pytest
import torch
from mmcv.ops import RoIAlign, RoIPool, roi_align
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS

import hce_det  # noqa: F401
from hce_det.models.layers import SparseRoIAlign, SparseRoIExtractor
from hce_det.models.layers import sparse_roi_align as sra

pytestmark = pytest.mark.usefixtures('one_thread')

N, C, H, W = 3, 5, 11, 13
SCALE = 0.5  # rois below are in "image" coordinates, the map covers [0, 26] x [0, 22]
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}

# (x1, y1, x2, y2) in image coordinates
EDGE_BOXES = [
    (2.0, 3.0, 15.0, 18.0),        # inside
    (2.3, 1.7, 20.9, 12.2),        # inside, fractional
    (-6.0, -4.0, 10.0, 9.0),       # partially outside (top-left)
    (15.0, 14.0, 40.0, 33.0),      # partially outside (bottom-right)
    (-10.0, 2.0, 8.0, 12.0),       # more than one pixel outside on the left
    (3.0, -9.0, 12.0, 30.0),       # more than one pixel outside on top and bottom
    (40.0, 40.0, 60.0, 70.0),      # fully outside (beyond the map)
    (-30.0, -20.0, -10.0, -5.0),   # fully outside (before the map)
    (-3.0, -3.0, -1.5, -1.2),      # outside, within the one-pixel band
    (5.3, 6.1, 5.9, 6.4),          # tiny (< 1 feature pixel)
    (7.0, 4.0, 7.0, 9.0),          # zero width
    (-50.0, -40.0, 200.0, 150.0),  # huge: many adaptive samples, mostly outside
    (0.0, 0.0, 26.0, 22.0),        # exactly the map, ends on its border
    (24.0, 20.0, 27.0, 23.5),      # around the last pixel
]
DEGENERATE_BOXES = [(12.0, 5.0, 4.0, 14.0), (3.0, 9.0, 8.0, 2.5)]  # x2 < x1, y2 < y1


def _rois(boxes, seed=0, n_random=40, dtype=torch.float64):
    """The given boxes plus random ones (inside and around the map), batch indices mixed and
    the rows shuffled."""
    g = torch.Generator().manual_seed(seed)
    boxes = torch.tensor(boxes, dtype=torch.float64).view(-1, 4)
    ctr = torch.rand(n_random, 2, generator=g) * torch.tensor([40.0, 34.0]) - 7
    size = torch.rand(n_random, 2, generator=g) ** 2 * 30
    boxes = torch.cat([boxes, torch.cat([ctr - size / 2, ctr + size / 2], 1)])
    batch = torch.randint(0, N, (len(boxes), 1), generator=g).double()
    rois = torch.cat([batch, boxes], 1)
    return rois[torch.randperm(len(rois), generator=g)].to(dtype)


def _both(x, rois, output_size, sampling_ratio, aligned, spatial_scale=SCALE, seed=1):
    """(ours, mmcv) outputs and input gradients for one random upstream gradient."""
    results = []
    grad_out = None
    for fn in ('sparse', 'mmcv'):
        xi = x.detach().clone().requires_grad_()
        if fn == 'sparse':
            layer = SparseRoIAlign(output_size, spatial_scale, sampling_ratio, 'avg', aligned)
            out = layer(xi, rois)
        else:
            # mmcv reads the raw storage as NCHW: give it a contiguous copy
            out = roi_align(xi.contiguous(), rois, output_size, spatial_scale, sampling_ratio,
                            'avg', aligned)
        if grad_out is None:
            g = torch.Generator().manual_seed(seed)
            grad_out = torch.randn(out.shape, generator=g, dtype=torch.float64).to(out.dtype)
        out.backward(grad_out)
        results.append((out.detach(), xi.grad))
    return results


def _assert_close(a, b, dtype):
    tol = TOL[dtype]
    torch.testing.assert_close(a, b, atol=tol, rtol=tol)


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
@pytest.mark.parametrize('output_size', [(7, 7), (3, 5)])
def test_matches_mmcv(dtype, aligned, sampling_ratio, output_size):
    torch.manual_seed(0)
    x = torch.randn(N, C, H, W, dtype=dtype)
    boxes = EDGE_BOXES + ([] if aligned else DEGENERATE_BOXES)
    rois = _rois(boxes, dtype=dtype)
    assert set(rois[:, 0].long().tolist()) == set(range(N))
    assert not torch.equal(rois[:, 0], rois[:, 0].sort().values)  # batch order mixed
    (out, grad), (ref, ref_grad) = _both(x, rois, output_size, sampling_ratio, aligned)
    assert out.shape == ref.shape == (len(rois), C, *output_size)
    assert out.dtype == dtype and grad.dtype == dtype and out.is_contiguous()
    assert ref.abs().sum() > 0 and ref_grad.abs().sum() > 0
    _assert_close(out, ref, dtype)
    _assert_close(grad, ref_grad, dtype)


def test_single_pixel_maps_and_strided_input():
    """H = 1 / W = 1 maps (every sample clamps to the only row/column) and a channels-last
    input (mmcv itself needs a contiguous one); spatial scale 1/8."""
    torch.manual_seed(0)
    rois = _rois(EDGE_BOXES, seed=3, n_random=20) * torch.tensor([1.0, 4, 4, 4, 4]).double()
    for shape in [(N, C, 1, 7), (N, C, 6, 1), (N, C, 9, 10)]:
        x = torch.randn(*shape, dtype=torch.float64).contiguous(
            memory_format=torch.channels_last)
        (out, grad), (ref, ref_grad) = _both(x, rois, (4, 3), 0, True, spatial_scale=1 / 8)
        _assert_close(out, ref, torch.float64)
        _assert_close(grad, ref_grad, torch.float64)


def test_degenerate_rois_raise_when_aligned_as_mmcv():
    x = torch.randn(N, C, H, W)
    rois = _rois(DEGENERATE_BOXES[:1], n_random=3, dtype=torch.float32)
    with pytest.raises(RuntimeError):
        roi_align(x, rois, 7, SCALE, 0, 'avg', True)
    with pytest.raises(RuntimeError):
        SparseRoIAlign(7, SCALE, 0, aligned=True)(x, rois)


def test_chunked_build_matches(monkeypatch):
    """Tiny chunks (one RoI at a time) give the same matrix as one chunk."""
    torch.manual_seed(0)
    x = torch.randn(N, C, H, W, dtype=torch.float64)
    rois = _rois(EDGE_BOXES, seed=5)
    (out, grad), _ = _both(x, rois, (7, 7), 0, True)
    monkeypatch.setattr(sra, '_CHUNK_ELEMS', 1)
    (out1, grad1), (ref, ref_grad) = _both(x, rois, (7, 7), 0, True)
    _assert_close(out1, out, torch.float64)
    _assert_close(grad1, grad, torch.float64)
    _assert_close(out1, ref, torch.float64)
    _assert_close(grad1, ref_grad, torch.float64)


def test_gradcheck_tiny():
    torch.manual_seed(0)
    x = torch.randn(2, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[1, 1.2, 0.7, 7.9, 8.3], [0, -2.0, 3.0, 4.5, 12.0],
                         [1, 6.0, 5.0, 13.0, 11.5]], dtype=torch.float64)
    layer = SparseRoIAlign((2, 3), 0.5, 0, aligned=True)
    assert torch.autograd.gradcheck(lambda t: layer(t, rois), (x, ))


def test_no_gradient_for_rois():
    x = torch.randn(1, 2, 6, 6, requires_grad=True)
    rois = torch.tensor([[0, 1.0, 1.0, 9.0, 8.0]], requires_grad=True)
    out = SparseRoIAlign(2, 0.5)(x, rois)
    out.sum().backward()
    assert rois.grad is None and x.grad.abs().sum() > 0


def test_no_grad_input_and_all_rois_outside():
    x = torch.randn(2, 3, 6, 7)
    rois = torch.tensor([[0, 40.0, 40.0, 50.0, 50.0], [1, -30.0, -30.0, -5.0, -4.0]])
    with torch.no_grad():
        out = SparseRoIAlign(3, 0.5)(x, rois)
    assert out.shape == (2, 3, 3, 3) and not out.any()
    xg = x.clone().requires_grad_()
    SparseRoIAlign(3, 0.5)(xg, rois).sum().backward()
    assert xg.grad.shape == x.shape and not xg.grad.any()


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32])
def test_empty_rois(dtype):
    x = torch.randn(N, C, H, W, dtype=dtype, requires_grad=True)
    rois = torch.zeros(0, 5, dtype=dtype)
    out = SparseRoIAlign((7, 5), SCALE)(x, rois)
    assert out.shape == (0, C, 7, 5) and out.dtype == dtype
    out.sum().backward()
    assert x.grad.shape == x.shape and not x.grad.any()
    ref = roi_align(x.detach(), rois, (7, 5), SCALE, 0, 'avg', True)
    assert ref.shape == out.shape


def test_delegates_max_pool_and_other_dtypes_to_mmcv():
    torch.manual_seed(0)
    x = torch.randn(N, C, H, W)
    rois = _rois(EDGE_BOXES, dtype=torch.float32)
    layer = SparseRoIAlign(7, SCALE, 2, pool_mode='max', aligned=True)
    assert isinstance(layer, RoIAlign)
    ref = RoIAlign(7, SCALE, 2, pool_mode='max', aligned=True)
    assert torch.equal(layer(x, rois), ref(x, rois))
    assert 'SparseRoIAlign(output_size=(7, 7)' in repr(layer)


def _extractor(kind, roi_layer):
    return MODELS.build(dict(type=kind, roi_layer=roi_layer, out_channels=4,
                             featmap_strides=[4, 8, 16, 32]))


def test_extractor_matches_single_roi_extractor():
    torch.manual_seed(0)
    roi_layer = dict(type='RoIAlign', output_size=7, sampling_ratio=0)
    ours, ref = _extractor('SparseRoIExtractor', roi_layer), _extractor('SingleRoIExtractor',
                                                                           roi_layer)
    assert isinstance(ours, SparseRoIExtractor) and isinstance(ours, SingleRoIExtractor)
    assert all(type(m) is SparseRoIAlign for m in ours.roi_layers)
    assert [m.spatial_scale for m in ours.roi_layers] == [1 / 4, 1 / 8, 1 / 16, 1 / 32]
    ref.load_state_dict(ours.state_dict())
    # 2 images of 128 x 160, RoIs of 4-700 px so that every FPN level gets some
    g = torch.Generator().manual_seed(0)
    n = 120
    ctr = torch.rand(n, 2, generator=g) * torch.tensor([160.0, 128.0])
    size = 4 * 175 ** torch.rand(n, 2, generator=g)
    rois = torch.cat([torch.randint(0, 2, (n, 1), generator=g).double(), ctr - size / 2,
                      ctr + size / 2], 1)
    levels = ref.map_roi_levels(rois, 4)
    assert set(levels.tolist()) == {0, 1, 2, 3}
    feats = [torch.randn(2, 4, 32 // 2**i, 40 // 2**i, dtype=torch.float64) for i in range(4)]
    outs, grads = [], []
    grad_out = None
    for ext in (ours, ref):
        fs = [f.clone().requires_grad_() for f in feats]
        out = ext(fs, rois)
        if grad_out is None:
            grad_out = torch.randn_like(out)
        out.backward(grad_out)
        outs.append(out.detach())
        grads.append([f.grad for f in fs])
    _assert_close(outs[0], outs[1], torch.float64)
    for a, b in zip(*grads):
        _assert_close(a, b, torch.float64)


def test_extractor_other_layer_types_defer_to_parent():
    ext = _extractor('SparseRoIExtractor', dict(type='RoIPool', output_size=7))
    assert all(type(m) is RoIPool for m in ext.roi_layers)
