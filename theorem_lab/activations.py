"""Activations φ with φ', φ'' and the constant Γ of Theorem 1.

Theorem 1 (T1-H2) asks |φ(0)|, sup|φ'|, sup|φ''| ≤ Γ with Γ ≥ 1. tanh, softplus and the scaled
erf φ(z) = √(π/2)·erf(z/√2) (so that φ'(z) = exp(-z²/2), spec §1.6) all have Γ = 1.
ReLU is allowed for experiments but is outside the theorem: φ'' is a Dirac mass at 0, so
``smooth`` is False and every report that uses it says so.

Each function takes an array of any namespace and returns the same namespace. ``phi_dphi``
returns (φ, φ') with one transcendental per element where the activation allows it (tanh:
φ' = 1 - φ²), which is what the training step uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
from array_api_compat import array_namespace, is_cupy_array, is_torch_array

from .errors import check_choice

ACTIVATIONS = ("tanh", "softplus", "erf", "relu")
_SQRT_HALF_PI = math.sqrt(math.pi / 2)


def _erf(z):
    """erf is not in the array API standard: dispatch to each library's special functions."""
    if is_torch_array(z):
        import torch
        return torch.special.erf(z)
    if is_cupy_array(z):
        import cupyx.scipy.special
        return cupyx.scipy.special.erf(z)
    import scipy.special
    return scipy.special.erf(z)


# --- tanh: Γ = max(|φ(0)|=0, sup φ'=1, sup|φ''|=4/(3√3)) -> 1 -------------------------------
def _tanh(z):
    return array_namespace(z).tanh(z)


def _tanh_d(z):
    a = array_namespace(z).tanh(z)
    return 1 - a * a


def _tanh_dd(z):
    a = array_namespace(z).tanh(z)
    return -2 * a * (1 - a * a)


def _tanh_both(z):
    a = array_namespace(z).tanh(z)
    return a, 1 - a * a


# --- softplus φ(z) = log(1+e^z): φ(0)=log 2, φ' = sigmoid ≤ 1, φ'' ≤ 1/4 -> Γ = 1 ------------
def _softplus(z):
    xp = array_namespace(z)
    return xp.where(z > 0, z, xp.zeros_like(z)) + xp.log1p(xp.exp(-xp.abs(z)))


def _sigmoid(z):
    xp = array_namespace(z)
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _softplus_dd(z):
    s = _sigmoid(z)
    return s * (1 - s)


def _softplus_both(z):
    xp = array_namespace(z)
    e = xp.exp(-xp.abs(z))
    phi = xp.where(z > 0, z, xp.zeros_like(z)) + xp.log1p(e)
    return phi, xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


# --- erf: φ(z) = √(π/2) erf(z/√2), φ' = exp(-z²/2), φ'' = -z exp(-z²/2), sup|φ''| = e^{-1/2} -
def _erf_phi(z):
    return _SQRT_HALF_PI * _erf(z / math.sqrt(2))


def _erf_d(z):
    return array_namespace(z).exp(-0.5 * z * z)


def _erf_dd(z):
    return -z * array_namespace(z).exp(-0.5 * z * z)


def _erf_both(z):
    return _erf_phi(z), _erf_d(z)


# --- relu: φ' = 1{z>0}; φ'' = 0 almost everywhere (a Dirac at 0: unbounded) ------------------
def _relu(z):
    xp = array_namespace(z)
    return xp.where(z > 0, z, xp.zeros_like(z))


def _relu_d(z):
    xp = array_namespace(z)
    return xp.astype(z > 0, z.dtype)


def _relu_dd(z):
    return array_namespace(z).zeros_like(z)


def _relu_both(z):
    return _relu(z), _relu_d(z)


def _sup_abs(g: Callable) -> float:
    """sup_z |g(z)| for a bounded g whose maximiser lies well inside [-40, 40].

    A grid of step 8e-4 brackets the maximiser; two zooms of 10⁴ points around it locate it to
    ~1e-10 in z, so a smooth maximum is found to ~1e-13 (the error of a grid maximum is second
    order in the step). numpy only: scipy.optimize cost 0.85 s to import, per process."""
    z = np.linspace(-40.0, 40.0, 100_001)
    best = 0.0
    for _ in range(3):
        vals = np.abs(g(z))
        i = int(np.argmax(vals))
        best = max(best, float(vals[i]))
        lo, hi = z[max(i - 2, 0)], z[min(i + 2, z.size - 1)]
        z = np.linspace(lo, hi, 10_001)
    return best


@dataclass(frozen=True)
class Activation:
    """φ and its derivatives, plus Γ of Theorem 1 (T1-H2)."""

    name: str
    phi: Callable
    dphi: Callable
    ddphi: Callable
    phi_dphi: Callable
    smooth: bool  # True iff sup|φ''| < ∞, i.e. the activation satisfies Theorem 1's hypothesis

    @cached_property
    def Gamma(self) -> float:
        """Γ = max(1, |φ(0)|, sup|φ'|, sup|φ''|), the sups found numerically.

        A grid of step 8e-4 on [-40, 40] brackets each sup (all four activations have their
        extrema of φ', φ'' within |z| ≤ 3 and decay or are constant outside); a bounded scalar
        search then refines it to ~1e-12. For ReLU only |φ(0)| and sup|φ'| enter: φ'' is
        unbounded (``smooth`` is False).
        """
        terms = [1.0, abs(float(self.phi(np.zeros(1))[0])), _sup_abs(self.dphi)]
        if self.smooth:
            terms.append(_sup_abs(self.ddphi))
        return max(terms)

    @property
    def note(self) -> str:
        """What a report should say about this activation and Theorem 1."""
        if self.smooth:
            return f"{self.name}: satisfies Theorem 1's smoothness hypothesis with Γ = {self.Gamma:g}"
        return (f"{self.name}: OUTSIDE Theorem 1's hypothesis (φ'' unbounded); "
                f"Γ = {self.Gamma:g} bounds |φ(0)| and |φ'| only")


_REGISTRY = {
    "tanh": Activation("tanh", _tanh, _tanh_d, _tanh_dd, _tanh_both, smooth=True),
    "softplus": Activation("softplus", _softplus, _sigmoid, _softplus_dd, _softplus_both, smooth=True),
    "erf": Activation("erf", _erf_phi, _erf_d, _erf_dd, _erf_both, smooth=True),
    "relu": Activation("relu", _relu, _relu_d, _relu_dd, _relu_both, smooth=False),
}


def get_activation(activation: "str | Activation", owner: str = "TwoLayerNet.init") -> Activation:
    """Look an activation up by name (an ``Activation`` passes through)."""
    if isinstance(activation, Activation):
        return activation
    return _REGISTRY[check_choice("activation", activation, owner, ACTIVATIONS)]
