"""Valid (non-padded) area of each image on a feature map and the masked mean
(:mod:`hce_det.models.da.valid_area`) against hand computations."""
import pytest
import torch

from hce_det.models.da.valid_area import (masked_mean, rescale_valid_mask, valid_mask,
                                          valid_sizes)


def test_valid_sizes_and_masks_hand_computation():
    # 100 x 60 image in a 128 x 128 input: stride-4 map (32 x 32) keeps ceil(25) x ceil(15)
    # cells, stride-32 (4 x 4) ceil(3.125) x ceil(1.875), stride-64 (2 x 2) ceil(1.56) x 1
    img = [(100, 60), (128, 128)]
    assert valid_sizes(img, (128, 128), (32, 32)).tolist() == [[25, 15], [32, 32]]
    assert valid_sizes(img, (128, 128), (4, 4)).tolist() == [[4, 2], [4, 4]]
    assert valid_sizes(img, (128, 128), (2, 2)).tolist() == [[2, 1], [2, 2]]
    assert valid_sizes([(101, 1)], (128, 128), (32, 32)).tolist() == [[26, 1]]
    # a 96 x 96 batch: the stride-64 level has 2 x 2 cells (the second starts at pixel 64), so a
    # 64 x 96 image keeps 1 x 2 of them; the stride-32 level (3 x 3) keeps 2 x 3
    assert valid_sizes([(64, 96)], (96, 96), (2, 2)).tolist() == [[1, 2]]
    assert valid_sizes([(64, 96)], (96, 96), (3, 3)).tolist() == [[2, 3]]
    # VGG16 conv5_3 (stride 16, floor sizes): 600 x 1000 batch -> 37 x 62; 500 x 700 image
    assert valid_sizes([(500, 700)], (600, 1000), (37, 62)).tolist() == [[32, 44]]
    m = valid_mask(img, (128, 128), (4, 4))
    assert m.dtype == torch.bool and m.shape == (2, 4, 4)
    assert m[0].tolist() == [[True, True, False, False]] * 4 and m[1].all()
    assert valid_mask([(128, 128)] * 3, (128, 128), (8, 8)) is None      # nothing padded
    # carried through stride-2 convs: 25 x 15 of 32 x 32 -> 13 x 8 of 16 x 16 -> 1 x 1 of 1 x 1
    m = valid_mask(img, (128, 128), (32, 32))
    assert rescale_valid_mask(m, (16, 16)).sum((1, 2)).tolist() == [13 * 8, 256]
    assert rescale_valid_mask(m, (1, 1)).all() and rescale_valid_mask(None, (3, 3)) is None


def test_masked_mean_hand_computation_garbage_and_gradient():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    valid = torch.zeros(2, 4, 5, dtype=torch.bool)
    valid[0] = True
    valid[1, :2, :3] = True
    hand = torch.stack([x[0].mean((1, 2)), x[1, :, :2, :3].mean((1, 2))])
    torch.testing.assert_close(masked_mean(x, valid), hand, rtol=0, atol=1e-15)
    torch.testing.assert_close(masked_mean(x[:, 0], valid), hand[:, 0], rtol=0, atol=1e-15)
    torch.testing.assert_close(masked_mean(x, None), x.mean((2, 3)))
    # whatever sits in the padding (inf, nan) never reaches the mean or its gradient
    y = x.clone()
    y[1, :, 2:] = float('nan')
    y[1, :, :, 3:] = float('inf')
    y.requires_grad_()
    out = masked_mean(y, valid)
    torch.testing.assert_close(out, hand, rtol=0, atol=1e-15)
    out.sum().backward()
    assert (y.grad[1][:, ~valid[1]] == 0).all()
    assert torch.allclose(y.grad[1][:, valid[1]], torch.full((3, 6), 1 / 6, dtype=x.dtype))
    with pytest.raises(ValueError, match='does not match'):
        masked_mean(x, valid[:, :3])
