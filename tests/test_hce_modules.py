"""HCE building blocks: image-level targets and loss, category maps, context RoI features,
early-fusion shapes, late-fusion probabilities."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData

import hce_det  # noqa: F401  (registration)
from hce_det.models.hce.categorical_embedding import CategoricalEmbedding, image_level_targets
from hce_det.models.hce.context_classifier import ContextClassifier, fuse_class_probs
from hce_det.models.hce.context_roi import GridRoIAlign, HierarchicalContextRoI, image_rois


def _inst(labels):
    return InstanceData(labels=torch.tensor(labels, dtype=torch.long),
                        bboxes=torch.zeros(len(labels), 4))


def test_image_targets_positives_ignored_and_empty():
    gts = [_inst([0, 2, 2]), _inst([]), _inst([1])]
    ignores = [None, _inst([3]), _inst([1, 4])]
    t, w = image_level_targets(gts, ignores, num_classes=5)
    assert t.tolist() == [[1, 0, 1, 0, 0], [0] * 5, [0, 1, 0, 0, 0]]
    # class 3 only ignored in image 1 -> weight 0; class 1 in image 2 is also a real gt -> kept
    assert w.tolist() == [[1] * 5, [1, 1, 1, 0, 1], [1, 1, 1, 1, 0]]


def test_image_targets_bad_label_is_clear_error():
    with pytest.raises(ValueError, match='num_classes'):
        image_level_targets([_inst([7])], None, num_classes=5)


def test_bce_loss_matches_hand_computation():
    emb = CategoricalEmbedding(num_classes=3, in_channels=4, embed_channels=8,
                               loss_img_cls=dict(type='CrossEntropyLoss', use_sigmoid=True,
                                                 loss_weight=2.0))
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 1.0, -3.0]])
    gts = [_inst([0]), _inst([])]
    ignores = [None, _inst([2])]
    loss = emb.loss(logits, gts, ignores)['loss_img_cls']
    # image 0: targets (1,0,0); image 1: targets (0,0,0) with class 2 ignored (weight 0)
    def bce(z, y):
        p = 1 / (1 + math.exp(-z))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))
    terms = [bce(2.0, 1), bce(-1.0, 0), bce(0.5, 0), bce(0.0, 0), bce(1.0, 0)]
    assert loss.item() == pytest.approx(2.0 * sum(terms) / 5, rel=1e-5)


def test_embedding_shapes_and_gap_gmp_logits():
    torch.manual_seed(0)
    emb = CategoricalEmbedding(num_classes=5, in_channels=6, embed_channels=12, in_levels=(1,))
    emb.init_weights()
    feats = [torch.randn(2, 6, 32, 32), torch.randn(2, 6, 16, 16), torch.randn(2, 6, 8, 8)]
    cat_maps, logits, embedded = emb(feats)
    assert cat_maps.shape == (2, 5, 16, 16)
    assert embedded.shape == (2, 12, 16, 16) and (embedded >= 0).all()
    expected = cat_maps.mean(dim=(2, 3)) + cat_maps.flatten(2).max(dim=2).values
    assert torch.allclose(logits, expected)
    # several levels: resized to the first and summed
    emb2 = CategoricalEmbedding(num_classes=5, in_channels=6, in_levels=(1, 2))
    x = emb2.select_input(feats)
    ref = feats[1] + F.interpolate(feats[2], size=(16, 16), mode='bilinear',
                                   align_corners=False)
    assert torch.allclose(x, ref)
    with pytest.raises(ValueError, match='in_levels'):
        CategoricalEmbedding(num_classes=5, in_channels=6, in_levels=(5,)).select_input(feats)
    with pytest.raises(ValueError, match='pool'):
        CategoricalEmbedding(num_classes=5, pool='median')


def test_embedding_hidden_convs_feed_the_class_maps():
    """``num_convs``: 3x3 conv + ReLU layers before the 1x1 class-map conv (hand-computed)."""
    torch.manual_seed(0)
    emb = CategoricalEmbedding(num_classes=5, in_channels=6, embed_channels=12, in_levels=(0,),
                               num_convs=2)
    emb.init_weights()
    x = torch.randn(2, 6, 9, 9, requires_grad=True)
    cat_maps, _, _ = emb([x])
    h = F.relu(emb.convs[1](F.relu(emb.convs[0](x))))
    assert torch.allclose(cat_maps, emb.cat_conv(h))
    assert cat_maps.shape == (2, 5, 9, 9)
    cat_maps.sum().backward()
    assert emb.convs[0].weight.grad.abs().sum() > 0 and x.grad.abs().sum() > 0
    # num_convs=0 keeps the paper's single 1x1 conv (no extra parameters)
    assert len(CategoricalEmbedding(num_classes=5, in_channels=6).convs) == 0
    with pytest.raises(ValueError, match='num_convs'):
        CategoricalEmbedding(num_classes=5, in_channels=6, num_convs=-1)


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


def test_fuse_probs_sum_to_one_and_hand_values():
    torch.manual_seed(0)
    s, c = torch.randn(5, 4), torch.randn(5, 4)
    for mode in ('mean', 'weighted', 'geometric'):
        p = fuse_class_probs(s, c, mode, det_weight=0.3)
        assert torch.allclose(p.sum(-1), torch.ones(5), atol=1e-6)
        assert (p >= 0).all()
    mean = fuse_class_probs(s, c, 'mean')
    assert torch.allclose(mean, (s.softmax(-1) + c.softmax(-1)) / 2)
    w = fuse_class_probs(s, c, 'weighted', 0.3)
    assert torch.allclose(w, 0.3 * s.softmax(-1) + 0.7 * c.softmax(-1))
    g = fuse_class_probs(s, c, 'geometric', 0.3)
    ref = s.softmax(-1) ** 0.3 * c.softmax(-1) ** 0.7
    assert torch.allclose(g, ref / ref.sum(-1, keepdim=True), atol=1e-6)


def test_test_scores_softmax_recovers_fused_probs_and_single_branch():
    torch.manual_seed(0)
    clf = ContextClassifier(in_channels=6, num_classes=3)
    clf.init_weights()
    x_ctx = torch.rand(4, 6, 7, 7)
    det = torch.randn(4, 4)
    ctx_logits = clf(x_ctx)
    assert ctx_logits.shape == (4, 4)
    fused = clf.test_scores(det, x_ctx).softmax(-1)
    assert torch.allclose(fused, (det.softmax(-1) + ctx_logits.softmax(-1)) / 2, atol=1e-6)
    clf.test_branch = 'det'
    assert torch.equal(clf.test_scores(det, None), det)
    clf.test_branch = 'context'
    assert torch.allclose(clf.test_scores(det, x_ctx), ctx_logits)
    with pytest.raises(ValueError, match='test_branch'):
        ContextClassifier(6, 3, test_branch='left')


def test_context_classifier_loss_is_ce():
    clf = ContextClassifier(in_channels=6, num_classes=3)
    logits = torch.randn(4, 4)
    labels = torch.tensor([0, 3, 2, 3])
    out = clf.loss(logits, labels, torch.ones(4))
    assert out['loss_ctx_cls'].item() == pytest.approx(F.cross_entropy(logits, labels).item(),
                                                       rel=1e-5)
