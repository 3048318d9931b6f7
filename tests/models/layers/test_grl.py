"""Gradient reversal: identity forward, -coeff * grad backward."""
import pytest
import torch

from hce_det.models.layers.grl import GradientReversal, grad_reverse


@pytest.mark.parametrize('coeff', [0.1, 1.0, 2.5])
def test_forward_identity_backward_reversed(coeff):
    x = torch.randn(3, 4, requires_grad=True)
    y = grad_reverse(x, coeff)
    assert torch.equal(y, x)
    w = torch.randn(3, 4)
    (y * w).sum().backward()
    assert torch.allclose(x.grad, -coeff * w)


def test_module_coeff_is_mutable_and_zero_blocks_gradient():
    grl = GradientReversal(0.1)
    x = torch.ones(2, requires_grad=True)
    grl(x).sum().backward()
    assert torch.allclose(x.grad, torch.full((2, ), -0.1))
    grl.coeff = 0.0
    x.grad = None
    grl(x).sum().backward()
    assert torch.count_nonzero(x.grad) == 0
    assert 'coeff=0.0' in repr(grl)


def test_grl_chain_reverses_only_upstream():
    """Parameters after the GRL get the normal gradient, the input before it the reversed one."""
    lin = torch.nn.Linear(3, 1, bias=False)
    x = torch.randn(5, 3, requires_grad=True)
    lin(grad_reverse(x, 0.5)).sum().backward()
    g_x_rev, g_w_rev = x.grad.clone(), lin.weight.grad.clone()
    x.grad, lin.weight.grad = None, None
    lin(x).sum().backward()
    assert torch.allclose(g_x_rev, -0.5 * x.grad)
    assert torch.allclose(g_w_rev, lin.weight.grad)


def test_negative_coeff_rejected():
    with pytest.raises(ValueError, match='coeff'):
        GradientReversal(-1.0)
