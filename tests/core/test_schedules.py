"""α_t schedules (Theorem 1's T1-H5) and the label functions h of Algorithm 1."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theorem_lab as tl
from theorem_lab.schedules import T2, h_sign, label_function


@given(kind=st.sampled_from(["constant", "linear", "exponential", "inverse-time"]),
       steps=st.integers(1, 5000))
def test_default_schedules_are_valid(kind, steps):
    a = tl.parse_schedule(kind, steps).values(steps)
    assert a.min() >= 0 and a.max() <= 1 and np.all(np.diff(a) <= 0)


@given(kind=st.sampled_from(["constant", "linear", "exponential", "inverse-time"]),
       steps=st.integers(0, 3000), a=st.floats(0, 1), b=st.floats(0.01, 5000))
def test_the_alpha_table_equals_alpha_t(kind, steps, a, b):
    """``values`` (the engine's α table, computed on whole arrays) against ``alpha(t)``."""
    spec = {"constant": f"constant:value={a!r}", "linear": f"linear:start={a * b!r},end={b + a * b!r}",
            "exponential": f"exponential:tau={b!r}", "inverse-time": f"inverse-time:tau={b!r}"}[kind]
    sched = tl.parse_schedule(spec, steps)
    table = sched.values(steps)
    assert table.dtype == np.float64 and table.shape == (steps + 1,)
    assert table.tolist() == [sched.alpha(t) for t in range(steps + 1)]


def test_schedule_formulas():
    assert tl.parse_schedule("linear:start=10,end=20", 100).alpha(15) == pytest.approx(0.5)
    assert tl.parse_schedule("linear:start=10,end=20", 100).alpha(5) == 1.0
    assert tl.parse_schedule("exponential:tau=10", 100).alpha(10) == pytest.approx(math.exp(-1))
    assert tl.parse_schedule("inverse-time:tau=10", 100).alpha(30) == pytest.approx(0.25)
    assert tl.parse_schedule("constant:value=0.3", 100).alpha(99) == 0.3
    assert tl.parse_schedule("adaptive:lam=1.5", 100).alpha(0, acc=0.9) == 0.0   # clipped (I-20)
    assert tl.parse_schedule("linear", 1000).spec == "linear:end=500,start=0"


def test_a_non_monotone_schedule_is_rejected():
    bad = tl.Schedule("linear", {"start": 0.0, "end": 10.0})
    object.__setattr__(bad, "values", lambda steps: 0.5 + 0.4 * np.sin(np.arange(steps + 1)))
    with pytest.raises(tl.ParameterError, match="non-increasing"):
        tl.parse_schedule(bad, 20)


def test_T2():
    n = 100  # threshold 1/(24·10) = 1/240
    assert T2(np.array([1.0, 0.5, 1 / 240, 1 / 241]), n) == 3
    assert T2(np.ones(5), n) is None


@given(st.floats(0.0, 0.49), st.floats(-3, 3))
def test_clipped_h_is_the_theorems_h(rho, x):
    """h(x) = 4x/(1−2ρ) on |x| ≤ (1−2ρ)/4 and sgn(x) beyond (spec §1.4); |h| ≤ 1; odd."""
    h = label_function("clipped", rho)
    got = float(h(np.array([x]))[0])
    threshold = (1 - 2 * rho) / 4
    want = 4 * x / (1 - 2 * rho) if abs(x) <= threshold else math.copysign(1.0, x)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert float(h(np.array([-x]))[0]) == pytest.approx(-got, abs=1e-15)


def test_other_label_functions():
    f = np.array([-2.0, -0.1, 0.0, 0.3])
    np.testing.assert_array_equal(h_sign(f), [-1, -1, 0, 1])
    np.testing.assert_array_equal(label_function("identity", 0.1)(f), f)
    with pytest.raises(tl.ParameterError, match="'rho' parameter of the 'clipped' label function"):
        label_function("clipped", 0.5)
