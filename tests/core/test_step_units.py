"""step_units.UnitsStep (threads over hidden units, φ' kept as (k, n)) against the reference
TwoLayerNet.forward / .gradient, for every activation, elementwise form and dtype; tolerances as
in test_step.py (norm-wise relative: float64 1e-12, float32 2e-5 against the float64 reference).
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theorem_lab as tl
from tests.conftest import examples
from tests.core.test_step import NEEDS_NUMBA, RTOL32, RTOL64, reference, rel_err
from tests.strategies import step_problems
from theorem_lab.errors import ParameterError
from theorem_lab.step_units import UnitsStep

UFUNCS = ["numpy", "exp", pytest.param("numba", marks=NEEDS_NUMBA)]


@pytest.mark.parametrize("dtype, rtol", [("float64", RTOL64), ("float32", RTOL32)])
@pytest.mark.parametrize("ufuncs", UFUNCS)
@pytest.mark.parametrize("activation", tl.ACTIVATIONS)
@settings(max_examples=examples(15))
@given(p=step_problems())
def test_units_step_matches_reference(p, activation, ufuncs, dtype, rtol):
    if dtype == "float32":
        p["W"] = p["W"] / np.abs(p["W"]).max() * 2.0   # z = O(1), as test_step.py's float32 tests
    f_ref, g_ref = reference(p, activation)
    X, W, v, y = (p[a].astype(dtype) for a in ("X", "W", "v", "y"))
    step = UnitsStep(X, v, activation, threads=p["threads"], block_rows=p["block_rows"],
                     ufuncs=ufuncs)
    f = step.forward(W)
    g = step.gradient(f - y)
    assert f.dtype == g.dtype == np.dtype(dtype) and g.shape == W.shape
    assert rel_err(f, f_ref) <= rtol
    assert rel_err(g, g_ref) <= rtol
    W_new, sq = step.descend(W, f - y)
    assert rel_err(W_new, p["W"] - g_ref) <= rtol
    sq_ref = float((g_ref ** 2).sum())
    assert abs(float(sq) - sq_ref) <= 10 * rtol * sq_ref + 1e-12


@settings(max_examples=examples(10))
@given(p=step_problems(), scale=st.floats(0.5, 3.0))
def test_a_user_built_activation_runs_through_its_own_phi_dphi(p, scale):
    """An Activation that is not the built-in one of its name is trusted only by phi_dphi."""
    phi = lambda z: np.tanh(scale * z)                                  # noqa: E731
    dphi = lambda z: scale * (1 - np.tanh(scale * z) ** 2)              # noqa: E731
    act = dataclasses.replace(tl.get_activation("tanh"), phi=phi, dphi=dphi,
                              phi_dphi=lambda z: (phi(z), dphi(z)))
    net = tl.TwoLayerNet(W=p["W"], v=p["v"], activation=act)
    step = UnitsStep(p["X"], p["v"], act, threads=p["threads"])
    f = step.forward(p["W"])
    assert rel_err(f, net.forward(p["X"])) <= RTOL64
    assert rel_err(step.gradient(f - p["y"]), net.gradient(p["X"], p["y"])) <= RTOL64


def test_bad_input_is_refused_with_the_parameter_named():
    X, v = np.ones((5, 3)), np.ones(4)
    with pytest.raises(ParameterError, match="'X' parameter of UnitsStep"):
        UnitsStep(X.tolist(), v, "tanh")
    with pytest.raises(ParameterError, match="'v' parameter of UnitsStep"):
        UnitsStep(X, np.ones((4, 1)), "tanh")
    with pytest.raises(ParameterError, match="'threads' parameter of UnitsStep"):
        UnitsStep(X, v, "tanh", threads=0)
    with pytest.raises(ParameterError, match="'ufuncs' parameter of UnitsStep"):
        UnitsStep(X, v, "tanh", ufuncs="fortran")
    step = UnitsStep(X, v, "tanh")
    with pytest.raises(RuntimeError, match="forward"):
        step.descend(np.ones((4, 3)), np.ones(5))
    with pytest.raises(ParameterError, match=r"shape \(k, d\) = \(4, 3\)"):
        step.forward(np.ones((3, 4)))
