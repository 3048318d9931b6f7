"""Domain discriminators (image, instance, local, global) and the reference initialisations
(discriminators and ICR conv) against hand computations (batch > 1)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hce_det.models.da import (GlobalDomainDiscriminator, ImageCategoryClassifier,
                               ImageDomainDiscriminator, InstanceDomainDiscriminator,
                               LocalDomainDiscriminator, focal_domain_loss)


def test_image_discriminator_shapes_loss_and_reversal():
    torch.manual_seed(0)
    d = ImageDomainDiscriminator(in_channels=8, grl_coeff=0.1)
    x = torch.randn(3, 8, 5, 6, requires_grad=True)
    logits = d(x)
    assert logits.shape == (3, 2, 5, 6)
    loss = d.loss(logits, 1)
    hand = -F.log_softmax(logits, 1)[:, 1].mean()
    assert torch.allclose(loss, hand)
    loss.backward()
    g_rev = x.grad.clone()
    # same computation without the GRL: gradient must be -1/0.1 times the reversed one
    x.grad = None
    d.set_grl_scale(0.0)
    x2 = x.detach().clone().requires_grad_()
    h = d.conv2(F.relu(d.conv1(x2)))
    d.loss(h, 1).backward()
    assert torch.allclose(g_rev, -0.1 * x2.grad, atol=1e-7)
    p = d.source_prob_per_image(logits)
    assert p.shape == (3, )
    assert torch.allclose(p[1], F.softmax(logits, 1)[1, 1].mean())


def test_instance_discriminator_weighted_bce_and_errors():
    torch.manual_seed(0)
    d = InstanceDomainDiscriminator(in_channels=16).eval()
    feats = torch.randn(7, 16)
    logits = d(feats)
    assert logits.shape == (7, )
    w = torch.rand(7) + 0.5
    p = torch.sigmoid(logits)
    hand = (-(w * torch.log(1 - p))).mean()          # target label 0
    assert torch.allclose(d.loss(logits, 0, w), hand, atol=1e-6)
    assert torch.allclose(d.loss(logits, 1), (-torch.log(p)).mean(), atol=1e-6)
    empty = d.loss(logits[:0], 0)
    assert empty.item() == 0 and not torch.isnan(empty)
    with pytest.raises(ValueError, match='in_channels'):
        d(torch.randn(4, 15))


def test_local_discriminator_least_squares():
    d = LocalDomainDiscriminator(in_channels=4)
    prob, ctx = d(torch.randn(2, 4, 6, 6))
    assert prob.shape == (2, 1, 6, 6) and ctx.shape == (2, 128)
    assert ((prob > 0) & (prob < 1)).all()
    assert torch.allclose(d.loss(prob, 1), ((prob - 1) ** 2).mean())
    assert torch.allclose(d.loss(prob, 0), (prob ** 2).mean())


def test_local_discriminator_vgg_input_relu_hand_computation():
    """VGG16 reference netD_pixel: ReLU on the feature it reads, then 1x1 convs (float64, N=2)."""
    torch.manual_seed(0)
    d = LocalDomainDiscriminator(in_channels=4, input_relu=True).double()
    x = torch.randn(2, 4, 3, 5, dtype=torch.float64)
    w1, w2, w3 = (m.weight[:, :, 0, 0] for m in (d.conv1, d.conv2, d.conv3))

    def conv(w, t):
        return torch.einsum('oc,nchw->nohw', w, t)
    h = F.relu(conv(w2, F.relu(conv(w1, F.relu(x)))))
    prob, ctx = d(x)
    torch.testing.assert_close(prob, torch.sigmoid(conv(w3, h)))
    torch.testing.assert_close(ctx, h.mean(dim=(2, 3)))
    # the default (ResNet reference) reads the feature as is: differs on negative inputs
    d.input_relu = False
    h_raw = F.relu(conv(w2, F.relu(conv(w1, x))))
    torch.testing.assert_close(d(x)[0], torch.sigmoid(conv(w3, h_raw)))
    assert not torch.allclose(d(x)[0], prob)


def test_discriminator_and_icr_init_follow_the_reference():
    """PyTorch default init (the layers built in the same order from the same seed) for the SW
    global discriminator, the VGG16 local discriminator and the SW ICR conv; N(0, std) where the
    reference re-initialises (ResNet local discriminator, DA-Faster ICR conv)."""
    def replay(seed, *layers):
        torch.manual_seed(seed)
        return [f() for f in layers]
    torch.manual_seed(0)
    g = GlobalDomainDiscriminator(in_channels=8)
    ref = replay(0, lambda: nn.Conv2d(8, 512, 3, 2, 1, bias=False),
                 lambda: nn.Conv2d(512, 128, 3, 2, 1, bias=False),
                 lambda: nn.Conv2d(128, 128, 3, 2, 1, bias=False), lambda: nn.Linear(128, 2))
    for got, want in zip([*g.convs, g.fc], ref):
        torch.testing.assert_close(got.weight, want.weight)
    torch.testing.assert_close(g.fc.bias, ref[-1].bias)
    torch.manual_seed(1)
    vgg_local = LocalDomainDiscriminator(in_channels=4, input_relu=True, init_std=None)
    ref = replay(1, lambda: nn.Conv2d(4, 256, 1, bias=False),
                 lambda: nn.Conv2d(256, 128, 1, bias=False),
                 lambda: nn.Conv2d(128, 1, 1, bias=False))
    for got, want in zip((vgg_local.conv1, vgg_local.conv2, vgg_local.conv3), ref):
        torch.testing.assert_close(got.weight, want.weight)
    torch.manual_seed(2)
    sw_icr = ImageCategoryClassifier(in_channels=64, num_classes=4, init_std=None)
    (ref, ) = replay(2, lambda: nn.Conv2d(64, 4, 1))
    torch.testing.assert_close(sw_icr.conv.weight, ref.weight)
    torch.testing.assert_close(sw_icr.conv.bias, ref.bias)
    # N(0, 0.01), zero bias: ResNet local discriminator, DA-Faster ICR (the defaults)
    resnet_local = LocalDomainDiscriminator(in_channels=256)
    da_icr = ImageCategoryClassifier(in_channels=512, num_classes=64)
    for w in (resnet_local.conv1.weight, da_icr.conv.weight):
        assert w.std().item() == pytest.approx(0.01, rel=0.05)
    assert (da_icr.conv.bias == 0).all()
    g_old = GlobalDomainDiscriminator(in_channels=8, init_std=0.01)
    assert g_old.convs[0].weight.std().item() == pytest.approx(0.01, rel=0.05)


def test_global_discriminator_focal():
    torch.manual_seed(0)
    d = GlobalDomainDiscriminator(in_channels=8, gamma=5.0).eval()
    logits, ctx = d(torch.randn(3, 8, 16, 16))
    assert logits.shape == (3, 2) and ctx.shape == (3, 128)
    lab = torch.tensor([1, 0, 1])
    p = F.softmax(logits, 1)[torch.arange(3), lab]
    hand = (-(1 - p) ** 5 * torch.log(p)).mean()
    assert torch.allclose(focal_domain_loss(logits, lab, 5.0), hand, atol=1e-6)
    assert torch.allclose(focal_domain_loss(logits, lab, 0.0), F.cross_entropy(logits, lab),
                          atol=1e-6)
    assert torch.allclose(d.loss(logits, 1),
                          focal_domain_loss(logits, torch.ones(3, dtype=torch.long), 5.0))
