"""Activations (derivatives, Γ) and the two-layer network (init, forward, analytic gradient)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given

import theorem_lab as tl
from tests.conftest import as_namespace
from tests.strategies import small_problems

# Γ = max(1, |φ(0)|, sup|φ'|, sup|φ''|), by hand: tanh 4/(3√3) < 1; softplus log 2, 1, 1/4;
# erf: 0, 1, e^{-1/2}; relu: 0, 1 (φ'' unbounded, not counted).
GAMMA = {"tanh": 1.0, "softplus": 1.0, "erf": 1.0, "relu": 1.0}
# sup|φ''| and where it is attained
SUP_DDPHI = {"tanh": (4 / (3 * math.sqrt(3)), math.atanh(1 / math.sqrt(3))),
             "softplus": (0.25, 0.0), "erf": (math.exp(-0.5), 1.0)}
TORCH_PHI = {"tanh": torch.tanh, "softplus": torch.nn.functional.softplus,
             "erf": lambda z: math.sqrt(math.pi / 2) * torch.special.erf(z / math.sqrt(2)),
             "relu": torch.relu}


@pytest.mark.parametrize("name", tl.ACTIVATIONS)
def test_gamma_per_activation(name):
    act = tl.get_activation(name)
    assert act.Gamma == pytest.approx(GAMMA[name], abs=1e-12)
    assert act.smooth == (name != "relu")
    z = np.linspace(-40, 40, 400001)
    if act.smooth:
        sup, argmax = SUP_DDPHI[name]
        assert abs(act.ddphi(np.array([argmax]))[0]) == pytest.approx(sup, rel=1e-14)
        assert np.max(np.abs(act.ddphi(z))) <= sup * (1 + 1e-14)
    assert ("OUTSIDE" in act.note) == (name == "relu")


@pytest.mark.parametrize("name", tl.ACTIVATIONS)
def test_derivatives_match_autograd(name):
    act = tl.get_activation(name)
    z = torch.linspace(-6, 6, 1001, dtype=torch.float64)
    z = z[z.abs() > 1e-3].requires_grad_(True)        # relu: avoid the kink
    phi = TORCH_PHI[name](z)
    (d1,) = torch.autograd.grad(phi.sum(), z, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), z)
    zn = z.detach().numpy()
    np.testing.assert_allclose(act.phi(zn), phi.detach().numpy(), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(act.dphi(zn), d1.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(act.ddphi(zn), d2.numpy(), rtol=1e-10, atol=1e-13)
    both = act.phi_dphi(zn)
    np.testing.assert_allclose(both[0], act.phi(zn), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(both[1], act.dphi(zn), rtol=1e-12, atol=1e-15)


def test_init_follows_the_paper():
    net = tl.TwoLayerNet.init(d=7, k=10, activation="tanh", seed=4)
    assert net.W.shape == (10, 7)
    np.testing.assert_allclose(net.v, np.r_[np.ones(5), -np.ones(5)] / math.sqrt(10))
    assert np.linalg.norm(net.v) == pytest.approx(1.0)
    assert np.array_equal(net.W, tl.TwoLayerNet.init(d=7, k=10, seed=4).W)
    big = tl.TwoLayerNet.init(d=50, k=4000, seed=0).W
    assert abs(big.mean()) < 0.01 and abs(big.std() - 1) < 0.01


@pytest.mark.parametrize("kwargs, name", [(dict(k=7), "k"), (dict(k=0), "k"), (dict(d=0), "d"),
                                          (dict(activation="sigmoid"), "activation"),
                                          (dict(seed=-2), "seed")])
def test_init_rejects_bad_parameters(kwargs, name):
    with pytest.raises(tl.ParameterError, match=f"'{name}' parameter"):
        tl.TwoLayerNet.init(**{"d": 3, "k": 4, **kwargs})


@given(small_problems(activations=tl.ACTIVATIONS))
def test_analytic_gradient_equals_autograd(problem):
    data, net = problem
    X = torch.as_tensor(data.X)
    W = torch.as_tensor(net.W).requires_grad_(True)
    v = torch.as_tensor(net.v)
    f = TORCH_PHI[net.activation.name](X @ W.T) @ v
    loss = 0.5 * ((f - torch.as_tensor(data.y)) ** 2).sum()
    (g_auto,) = torch.autograd.grad(loss, W)
    g = net.gradient(data.X, data.y)
    np.testing.assert_allclose(g, g_auto.numpy(), rtol=1e-12, atol=1e-12 * np.abs(g).max())
    np.testing.assert_allclose(net.forward(data.X), f.detach().numpy(), rtol=1e-12, atol=1e-13)
    assert net.loss(data.X, data.y) == pytest.approx(float(loss.detach()), rel=1e-12)


def test_forward_returns_the_input_namespace(xp_name):
    data = tl.make_clusterable(n=20, K=2, d=4, eps=0.1, rho=0.1, seed=0)
    net = tl.TwoLayerNet.init(d=4, k=8, seed=0)
    X = as_namespace(data.X, xp_name)
    f, g = net.forward(X), net.gradient(X, as_namespace(data.y, xp_name))
    assert type(f) is type(X) and type(g) is type(X)
    np.testing.assert_allclose(tl.to_numpy(f), net.forward(data.X), rtol=1e-12)
    np.testing.assert_allclose(tl.to_numpy(g), net.gradient(data.X, data.y), rtol=1e-12, atol=1e-14)
