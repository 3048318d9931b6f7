"""CategoricalEmbedding: image-level targets and BCE loss, category maps (GAP + GMP logits),
hidden convs."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData

import hce_det  # noqa: F401  (registration)
from hce_det.models.hce.categorical_embedding import CategoricalEmbedding, image_level_targets


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


def test_conv_channels_narrows_the_hidden_convs_and_their_cost():
    """``conv_channels``: the 3x3 convs' width (default the input width); the class maps read
    the last conv; the weights shrink in proportion (COCO configs: 256 -> 128, half the MACs)."""
    torch.manual_seed(0)
    emb = CategoricalEmbedding(num_classes=5, in_channels=8, embed_channels=12, in_levels=(0,),
                               num_convs=2, conv_channels=3)
    emb.init_weights()
    assert [tuple(c.weight.shape) for c in emb.convs] == [(3, 8, 3, 3), (3, 3, 3, 3)]
    assert tuple(emb.cat_conv.weight.shape) == (5, 3, 1, 1)
    x = torch.randn(2, 8, 7, 7)
    cat_maps, logits, embedded = emb([x])
    h = F.relu(emb.convs[1](F.relu(emb.convs[0](x))))
    assert torch.allclose(cat_maps, emb.cat_conv(h))
    assert cat_maps.shape == (2, 5, 7, 7) and embedded.shape == (2, 12, 7, 7)
    full = CategoricalEmbedding(num_classes=5, in_channels=256, num_convs=1)
    half = CategoricalEmbedding(num_classes=5, in_channels=256, num_convs=1, conv_channels=128)
    assert half.convs[0].weight.numel() * 2 == full.convs[0].weight.numel()
    assert tuple(full.convs[0].weight.shape) == (256, 256, 3, 3)
    with pytest.raises(ValueError, match='conv_channels'):
        CategoricalEmbedding(num_classes=5, in_channels=6, num_convs=1, conv_channels=0)


@pytest.mark.parametrize('scale', [1.0, 0.1, 0.0])
def test_input_grad_scale_scales_the_gradient_into_the_fpn_only(scale):
    """``input_grad_scale``: same outputs, the FPN input's gradient times the factor, the
    embedding's own parameters' gradients unchanged; 0 is ``detach_input``."""
    def run(**kw):
        torch.manual_seed(0)
        emb = CategoricalEmbedding(num_classes=5, in_channels=6, embed_channels=12,
                                   in_levels=(0,), num_convs=1, **kw)
        emb.init_weights()
        x = torch.randn(2, 6, 9, 9, generator=torch.Generator().manual_seed(1),
                        requires_grad=True)
        outs = emb([x])
        sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum() for o in outs).backward()
        return outs, x.grad, emb.convs[0].weight.grad
    outs_ref, gx_ref, gw_ref = run()
    outs, gx, gw = run(input_grad_scale=scale)
    for a, b in zip(outs, outs_ref):
        assert torch.equal(a, b)
    assert torch.equal(gw, gw_ref)
    if scale == 0.0:
        assert gx is None
        assert run(detach_input=True)[1] is None
    else:
        torch.testing.assert_close(gx, scale * gx_ref)
    with pytest.raises(ValueError, match='input_grad_scale'):
        CategoricalEmbedding(num_classes=5, in_channels=6, input_grad_scale=1.5)


def test_finer_level_resized_to_the_first_is_its_2x2_average_and_gets_scaled_gradient():
    """``in_levels=(1, 0)`` (the demo's P3 + P2): P2 resized to P3's size by bilinear
    interpolation is exactly P2's 2x2 average, and the gradient reaching P2 through the sum is
    ``input_grad_scale`` times the unscaled one."""
    def run(scale):
        torch.manual_seed(0)
        emb = CategoricalEmbedding(num_classes=5, in_channels=6, embed_channels=12,
                                   in_levels=(1, 0), num_convs=1, input_grad_scale=scale)
        emb.init_weights()
        g = torch.Generator().manual_seed(1)
        feats = [torch.randn(2, 6, 16, 16, generator=g, requires_grad=True),
                 torch.randn(2, 6, 8, 8, generator=g, requires_grad=True)]
        cat_maps, logits, embedded = emb(feats)
        (logits.sum() + embedded.mean()).backward()
        return emb, feats, cat_maps
    emb, feats, cat_maps = run(1.0)
    x = emb.select_input(feats)
    assert torch.allclose(x, feats[1] + F.avg_pool2d(feats[0], 2), atol=1e-6)
    assert cat_maps.shape == (2, 5, 8, 8)  # the first level's size
    _, feats_s, _ = run(0.3)
    for a, b in zip(feats_s, feats):
        assert b.grad.abs().sum() > 0
        torch.testing.assert_close(a.grad, 0.3 * b.grad)
