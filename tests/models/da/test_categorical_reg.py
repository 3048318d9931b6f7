"""ICR targets and loss, CCR weights against hand computations (batch > 1)."""
import math

import pytest
import torch
import torch.nn.functional as F

from hce_det.models.da import ImageCategoryClassifier, ccr_weights, image_labels_from_gt


def test_icr_targets_from_gt_labels():
    labels = [torch.tensor([2, 0, 2]), torch.tensor([], dtype=torch.long), torch.tensor([3])]
    t = image_labels_from_gt(labels, 4)
    assert torch.equal(t, torch.tensor([[1., 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1]]))
    with pytest.raises(ValueError, match='num_classes'):
        image_labels_from_gt([torch.tensor([4])], 4)
    icr = ImageCategoryClassifier(in_channels=6, num_classes=4)
    logits = icr(torch.randn(3, 6, 5, 5))
    assert logits.shape == (3, 4)
    assert torch.allclose(icr.loss(logits, labels),
                          F.binary_cross_entropy_with_logits(logits, t))


def test_ccr_weights_hand_computation():
    # two target images, 3 foreground classes (+ background last)
    img_logits = torch.tensor([[2.0, -1.0, 0.0], [-3.0, 0.5, 1.0]], requires_grad=True)
    probs = torch.tensor([[0.7, 0.1, 0.1, 0.1],     # img 0, class 0
                          [0.1, 0.1, 0.1, 0.7],     # img 0, background -> 1
                          [0.1, 0.6, 0.2, 0.1],     # img 1, class 1
                          [0.2, 0.1, 0.5, 0.2]], requires_grad=True)  # img 1, class 2
    roi_img = torch.tensor([0, 0, 1, 1])
    w = ccr_weights(img_logits, roi_img, probs, lam=1.0)
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    hand = [math.exp(abs(sig(2.0) - 0.7)), 1.0, math.exp(abs(sig(0.5) - 0.6)),
            math.exp(abs(sig(1.0) - 0.5))]
    assert torch.allclose(w, torch.tensor(hand), atol=1e-6)
    assert not w.requires_grad
    w2 = ccr_weights(img_logits, roi_img, probs, lam=2.0)
    assert torch.allclose(w2, torch.tensor(hand) ** 2, atol=1e-5)
    assert ccr_weights(img_logits, roi_img[:0], probs[:0]).numel() == 0
    with pytest.raises(ValueError, match='background'):
        ccr_weights(img_logits, roi_img, probs[:, :3])
