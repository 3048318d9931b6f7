"""APA / AGLU: values and gradients vs the direct formulas, special cases, extreme inputs."""
import math

import pytest
import torch
import torch.nn.functional as F

import hce_det  # noqa: F401
from hce_det.models.layers.apa import AGLU, APA, apa, log1mexp


def direct_apa(z, lam, kappa):
    """The paper's formula as written, (λe^(−κz) + 1)^(−1/λ) (float64, moderate z only)."""
    return (lam * torch.exp(-kappa * z) + 1) ** (-1 / lam)


def _fixed(cls, lam, kappa, n=1):
    m = cls(num_parameters=n, lambda_init=lam, kappa_init=kappa)
    return m.double()


@pytest.mark.parametrize('lam,kappa', [(1.0, 1.0), (0.3, 1.2), (2.5, 0.7), (0.01, -0.5)])
def test_apa_matches_formula_and_gradients(lam, kappa):
    z = torch.linspace(-6, 6, 41, dtype=torch.float64, requires_grad=True)
    m = _fixed(APA, lam, kappa)
    out = m(z)
    # float32-initialised parameters, compared at their exact (double) values
    lam_t = m.lambda_param.detach().squeeze().clone().requires_grad_()
    kap_t = m.kappa_param.detach().squeeze().clone().requires_grad_()
    ref = direct_apa(z, lam_t, kap_t)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-12)
    g = torch.randn(41, dtype=torch.float64)
    gz, gl, gk = torch.autograd.grad((out * g).sum(), [z, m.lambda_param, m.kappa_param])
    rz, rl, rk = torch.autograd.grad((ref * g).sum(), [z, lam_t, kap_t])
    torch.testing.assert_close(gz, rz, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(gl.squeeze(), rl, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(gk.squeeze(), rk, rtol=1e-8, atol=1e-10)


def test_aglu_is_z_times_apa_and_special_cases():
    z = torch.linspace(-8, 8, 33, dtype=torch.float64)
    a = _fixed(AGLU, 0.5, 1.25)  # exactly representable parameters
    torch.testing.assert_close(a(z), z * direct_apa(z, torch.tensor(0.5, dtype=torch.float64), 1.25))
    # λ = κ = 1: sigmoid and SiLU
    torch.testing.assert_close(_fixed(APA, 1.0, 1.0)(z), torch.sigmoid(z))
    torch.testing.assert_close(_fixed(AGLU, 1.0, 1.0)(z), F.silu(z))
    # λ -> 0: Gumbel CDF exp(-exp(-κz)); error shrinks with λ
    gumbel = torch.exp(-torch.exp(-1.3 * z.clamp(min=-3)))
    zz = z.clamp(min=-3)
    errs = [(_fixed(APA, lam, 1.3)(zz) - gumbel).abs().max().item() for lam in (1e-1, 1e-2, 1e-4)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-2


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize('cls', [APA, AGLU])
@pytest.mark.parametrize('lam,kappa', [(1.0, 1.0), (1e-4, 1.0), (0.5, -1.0), (3.0, 1.3)])
def test_extreme_inputs_finite(dtype, cls, lam, kappa):
    z = torch.tensor([-1e4, -1e3, -60., -1., 0., 1., 60., 1e3, 1e4], dtype=dtype,
                     requires_grad=True)
    m = cls(lambda_init=lam, kappa_init=kappa)
    out = m(z)
    assert out.dtype == dtype
    assert torch.isfinite(out).all()
    out.float().sum().backward()
    for g in (z.grad, m.lambda_param.grad, m.kappa_param.grad):
        assert torch.isfinite(g).all()
    if cls is APA:
        assert ((out >= 0) & (out <= 1)).all()


def test_extreme_values_are_the_limits():
    m = APA(lambda_init=0.5, kappa_init=1.0)
    out = m(torch.tensor([-1e4, 1e4]))
    assert out[0].item() == 0.0 and out[1].item() == 1.0
    aglu = AGLU(lambda_init=0.5, kappa_init=1.0)(torch.tensor([-1e4, 1e4]))
    assert aglu[0].item() == 0.0 and aglu[1].item() == 1e4


def test_lambda_clamp_and_kappa_range():
    m = APA(lambda_init=-3.0, kappa_init=50.0, lambda_min=1e-3, kappa_range=(0.1, 2.0))
    lam, kappa = m.params_for(torch.zeros(1))
    assert lam.item() == pytest.approx(1e-3) and kappa.item() == pytest.approx(2.0)
    z = torch.tensor([0.3], dtype=torch.float64)
    lam = torch.tensor(1e-3, dtype=torch.float32).double()  # lambda_min is applied in double here
    torch.testing.assert_close(m.double()(z), direct_apa(z, torch.tensor(1e-3, dtype=torch.float64), 2.0))
    del lam


def test_per_channel_parameters_broadcast():
    m = AGLU(num_parameters=3, lambda_init=(0.2, 0.9), kappa_init=(1.0, 1.3))
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    m = m.double()
    out = m(x)
    for c in range(3):
        lam = m.lambda_param[c].clamp(min=1e-4)
        ref = x[:, c] * direct_apa(x[:, c], lam, m.kappa_param[c])
        torch.testing.assert_close(out[:, c], ref)
    with pytest.raises(ValueError, match='channels'):
        m(torch.randn(2, 4, 3, 3, dtype=torch.float64))


def test_uniform_init_ranges_and_bad_init():
    torch.manual_seed(0)
    m = AGLU(num_parameters=1000)  # reference backbone init λ~U(0,1), κ~U(1,1.3)
    assert 0 <= m.lambda_param.min() and m.lambda_param.max() <= 1
    assert 1 <= m.kappa_param.min() and m.kappa_param.max() <= 1.3
    with pytest.raises(ValueError, match='lambda_init'):
        APA(lambda_init=(1.0, 0.0))
    with pytest.raises(ValueError, match='lambda_min'):
        APA(lambda_min=0.0)


def test_fixed_apa_has_no_parameters():
    m = APA(learnable=False, lambda_init=0.5)
    assert list(m.parameters()) == [] and 'lambda_param' in dict(m.named_buffers())


def test_log1mexp_stable():
    a = torch.tensor([-1e-30, -1e-8, -0.5, -1.0, -50.0], dtype=torch.float64)
    ref = torch.tensor([math.log(1e-30), math.log(-math.expm1(-1e-8)), math.log(1 - math.exp(-0.5)),
                        math.log(1 - math.exp(-1)), math.log1p(-math.exp(-50))], dtype=torch.float64)
    torch.testing.assert_close(log1mexp(a), ref)
    assert torch.isfinite(log1mexp(torch.tensor([0.0]))).all()


def test_functional_apa_half_uses_float32_internally():
    z = torch.tensor([30.0, -30.0], dtype=torch.float16)
    out = apa(z, torch.tensor(1e-4), torch.tensor(1.0))
    assert out.dtype == torch.float16 and torch.isfinite(out).all()


def test_registered_for_mmcv_activation_builders():
    from mmcv.cnn import ConvModule, build_activation_layer
    from mmengine.registry import MODELS as ROOT
    from mmdet.registry import MODELS
    assert isinstance(build_activation_layer(dict(type='AGLU')), AGLU)
    assert isinstance(build_activation_layer(dict(type='APA', lambda_init=0.5)), APA)
    assert ROOT.get('AGLU') is AGLU and MODELS.get('APA') is APA
    conv = ConvModule(3, 4, 3, padding=1, act_cfg=dict(type='AGLU'))  # passes inplace=True
    assert isinstance(conv.activate, AGLU)
    assert conv(torch.randn(1, 3, 8, 8)).shape == (1, 4, 8, 8)
