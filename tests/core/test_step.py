"""GradientStep's fast paths (numpy: threaded cache blocks; torch: in-place ops) against the
simple reference TwoLayerNet.forward / .gradient, for every activation, backend and shape.

Tolerances (norm-wise relative, ‖a − ref‖ ≤ rtol‖ref‖ + 1e-14):
    float64: 1e-12, the fast path against the float64 reference;
    float32: 2e-5 (≈ 170 float32 ulps), the fast path in float32 against the float64 reference.
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theorem_lab as tl
from tests.conftest import as_namespace, examples
from tests.strategies import step_problems
from theorem_lab.step import GradientStep, numba_available, split

RTOL64, RTOL32 = 1e-12, 2e-5
NEEDS_NUMBA = pytest.mark.skipif(not numba_available(),
                                 reason="numba not installed (pip install 'theorem-lab[fast]')")
BACKENDS = ("numpy", "torch")
# (backend, engine, the path GradientStep must take)
ENGINES = [pytest.param("numpy", "auto", "numpy-torch", id="numpy-torch"),
           pytest.param("numpy", "threads", "numpy", id="numpy-threads"),
           pytest.param("torch", "auto", "torch", id="torch")]


def rel_err(a, ref):
    a, ref = tl.to_numpy(a).astype(np.float64), np.asarray(ref, dtype=np.float64)
    assert a.shape == ref.shape
    return np.linalg.norm(a - ref) / (np.linalg.norm(ref) + 1e-14 / RTOL64)


def reference(p, activation):
    net = tl.TwoLayerNet(W=p["W"], v=p["v"], activation=tl.get_activation(activation))
    return net.forward(p["X"]), net.gradient(p["X"], p["y"])


def fast_step(p, activation, backend, dtype="float64", **kw):
    bk = tl.resolve_backend(backend, "cpu", dtype)
    X, W, v, y = (bk.asarray(p[a]) for a in ("X", "W", "v", "y"))
    step = GradientStep(X, v, activation, threads=p["threads"], block_rows=p["block_rows"], **kw)
    f = step.forward(W)
    return step, f, step.gradient(f - y)


@pytest.mark.parametrize("backend, engine, kind", ENGINES)
@pytest.mark.parametrize("activation", tl.ACTIVATIONS)
@given(p=step_problems())
def test_fast_path_matches_reference_float64(p, activation, backend, engine, kind):
    f_ref, g_ref = reference(p, activation)
    step, f, g = fast_step(p, activation, backend, engine=engine)
    assert step.kind == kind                          # the fast path, not the generic lines
    assert rel_err(f, f_ref) <= RTOL64
    assert rel_err(g, g_ref) <= RTOL64


@pytest.mark.parametrize("backend, engine, kind", ENGINES)
@pytest.mark.parametrize("activation", tl.ACTIVATIONS)
@settings(max_examples=examples(10))
@given(p=step_problems())
def test_fast_path_float32_within_stated_tolerance(p, activation, backend, engine, kind):
    p["W"] = p["W"] / np.abs(p["W"]).max() * 2.0      # keep z = O(1): float32 φ' of saturated units is noise
    f_ref, g_ref = reference(p, activation)
    step, f, g = fast_step(p, activation, backend, "float32", engine=engine)
    assert step.kind == kind
    dtype = tl.to_numpy(f).dtype
    assert dtype == np.float32 and tl.to_numpy(g).dtype == np.float32
    assert rel_err(f, f_ref) <= RTOL32
    assert rel_err(g, g_ref) <= RTOL32


@pytest.mark.parametrize("dtype, rtol", [("float64", RTOL64), ("float32", RTOL32)])
@pytest.mark.parametrize("ufuncs", ["torch", "exp", pytest.param("numba", marks=NEEDS_NUMBA)])
@pytest.mark.parametrize("activation", tl.ACTIVATIONS)
@settings(max_examples=examples(10))
@given(p=step_problems())
def test_threads_with_other_ufuncs_match_reference(p, activation, ufuncs, dtype, rtol):
    """The threaded numpy engine with torch's epilogue on its blocks, numpy's tanh from exp
    (step._np_tanh_exp) or numba's compiled tanh (compiled.py); the other activations keep
    numpy's one form with 'exp' and 'numba'."""
    p["W"] = p["W"] / np.abs(p["W"]).max() * 2.0
    f_ref, g_ref = reference(p, activation)
    step, f, g = fast_step(p, activation, "numpy", dtype, engine="threads", ufuncs=ufuncs)
    assert step.kind == "numpy" and tl.to_numpy(f).dtype == np.dtype(dtype)
    assert rel_err(f, f_ref) <= rtol
    assert rel_err(g, g_ref) <= rtol
    W_new, sq = step.descend(p["W"].astype(dtype), f - p["y"].astype(dtype))
    assert rel_err(W_new, p["W"] - g_ref) <= rtol
    sq_ref = float((g_ref ** 2).sum())
    assert abs(float(sq) - sq_ref) <= 10 * rtol * sq_ref + 1e-12


@pytest.mark.parametrize("activation", tl.ACTIVATIONS)
@settings(max_examples=examples(10))
@given(p=step_problems())
def test_generic_path_matches_reference(p, activation):
    """fast=False is the array-API reference the bench calls 'naive'; it must agree too."""
    f_ref, g_ref = reference(p, activation)
    step, f, g = fast_step(p, activation, "numpy", fast=False)
    assert step.kind == "generic"
    assert rel_err(f, f_ref) <= RTOL64 and rel_err(g, g_ref) <= RTOL64


def test_results_stay_in_the_input_namespace(xp_name):
    data = tl.make_clusterable(n=30, K=3, d=4, eps=0.1, rho=0.2, seed=0)
    net = tl.TwoLayerNet.init(d=4, k=16, activation="tanh", seed=1)
    X = as_namespace(data.X, xp_name)
    step = GradientStep(X, as_namespace(net.v, xp_name), "tanh")
    f = step.forward(as_namespace(net.W, xp_name))
    g = step.gradient(f - as_namespace(data.y, xp_name))
    assert type(f) is type(X) and type(g) is type(X)
    assert rel_err(g, net.gradient(data.X, data.y)) <= RTOL64


@pytest.mark.parametrize("backend, engine, kind", ENGINES)
def test_gradient_descent_trajectory_matches_generic_path(backend, engine, kind):
    """Twenty GD steps (buffers reused across steps) land where the generic lines land."""
    data = tl.make_clusterable(n=57, K=3, d=6, eps=0.2, rho=0.2, seed=2)
    net = tl.TwoLayerNet.init(d=6, k=40, activation="softplus", seed=3)
    bk = tl.resolve_backend(backend, "cpu", "float64")
    X, v, y = bk.asarray(data.X), bk.asarray(net.v), bk.asarray(data.y)
    ends = []
    for fast in (True, False):
        step = GradientStep(X, v, "softplus", fast=fast, block_rows=5, threads=2, engine=engine)
        W = bk.asarray(net.W)
        for _ in range(20):
            W = W - 0.05 * step.gradient(step.forward(W) - y)
        ends.append(tl.to_numpy(W))
    assert rel_err(ends[0], ends[1]) <= 1e-12
    assert rel_err(ends[0], net.W) > 1e-3             # it did move


def test_second_forward_replaces_the_kept_derivative():
    rng = np.random.default_rng(0)
    X, v = rng.standard_normal((20, 3)), tl.network.output_layer(8)
    W1, W2, r = rng.standard_normal((8, 3)), rng.standard_normal((8, 3)), rng.standard_normal(20)
    step = GradientStep(X, v, "tanh")
    step.forward(W1)
    step.forward(W2)
    net = tl.TwoLayerNet(W=W2, v=v, activation=tl.get_activation("tanh"))
    labels = net.forward(X) - r                       # so that f − labels = r
    assert rel_err(step.gradient(r), net.gradient(X, labels)) <= RTOL64


@pytest.mark.parametrize("backend, engine, kind", ENGINES)
def test_gradient_out_argument(backend, engine, kind):
    bk = tl.resolve_backend(backend, "cpu", "float64")
    rng = np.random.default_rng(1)
    X, W, v = (bk.asarray(a) for a in (rng.standard_normal((9, 2)), rng.standard_normal((6, 2)),
                                       tl.network.output_layer(6)))
    step = GradientStep(X, v, "erf", engine=engine)
    r = step.forward(W)
    expected = tl.to_numpy(step.gradient(r))
    out = bk.asarray(np.zeros((6, 2)))
    assert step.gradient(r, out=out) is out
    np.testing.assert_array_equal(tl.to_numpy(out), expected)


@pytest.mark.parametrize("engine", ["auto", "threads"])
def test_user_built_activation_takes_its_own_formulas(engine):
    """A custom Activation named like a built-in must not get the built-in's fused epilogue."""
    import dataclasses
    cube = dataclasses.replace(tl.get_activation("tanh"), phi=lambda z: z ** 3,
                               phi_dphi=lambda z: (z ** 3, 3 * z ** 2))
    rng = np.random.default_rng(2)
    X, W, v = rng.standard_normal((11, 3)), rng.standard_normal((4, 3)), tl.network.output_layer(4)
    step = GradientStep(X, v, cube, block_rows=3, engine=engine)
    f = step.forward(W)
    np.testing.assert_allclose(f, ((X @ W.T) ** 3) @ v, rtol=1e-13)
    np.testing.assert_allclose(step.gradient(f), v[:, None] * ((3 * (X @ W.T) ** 2 * f[:, None]).T @ X),
                               rtol=1e-12)


@pytest.mark.parametrize("engine", ["threads", "torch"])
def test_descend_is_the_gradient_step_and_its_squared_norm(engine):
    rng = np.random.default_rng(5)
    X, W, r = rng.standard_normal((37, 4)), rng.standard_normal((130, 4)), rng.standard_normal(37)
    step = GradientStep(X, tl.network.output_layer(130), "tanh", threads=2, engine=engine)
    step.forward(W)
    G = step.gradient(r).copy()
    out = np.full_like(W, np.nan)
    W_new, sq = step.descend(W, r, out=out)
    assert W_new is out
    np.testing.assert_allclose(W_new, W - G, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(float(sq), float((G ** 2).sum()), rtol=1e-12)


@given(size=st.integers(1, 5000), threads=st.integers(1, 5), align=st.sampled_from([1, 64]))
def test_work_split_covers_every_index_once(size, threads, align):
    parts = split(size, threads, align)
    assert parts[0][0] == 0 and parts[-1][1] == size and len(parts) <= threads
    assert all(lo < hi for lo, hi in parts)
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    assert all(lo % align == 0 for lo, _ in parts)


@pytest.mark.parametrize("kwargs, name", [
    (dict(X=np.zeros(3)), "'X'"),
    (dict(v=np.zeros((2, 2))), "'v'"),
    (dict(activation="sigmoid"), "'activation'"),
    (dict(threads=0), "'threads'"),
    (dict(block_rows=0), "'block_rows'"),
    (dict(engine="numba"), "'engine'"),
    (dict(ufuncs="jax"), "'ufuncs'"),
])
def test_invalid_parameters_are_named(kwargs, name):
    args = dict(X=np.zeros((3, 2)), v=np.ones(4), activation="tanh") | kwargs
    with pytest.raises(tl.ParameterError, match=name):
        GradientStep(**args)


def test_read_only_inputs_are_accepted():
    """torch cannot share read-only numpy memory; the torch engine copies such arrays instead."""
    rng = np.random.default_rng(4)
    X, W, v = rng.standard_normal((7, 3)), rng.standard_normal((4, 3)), tl.network.output_layer(4)
    for a in (X, W, v):
        a.flags.writeable = False
    step = GradientStep(X, v, "tanh")
    net = tl.TwoLayerNet(W=W, v=v, activation=tl.get_activation("tanh"))
    assert rel_err(step.forward(W), net.forward(X)) <= RTOL64


def test_wrong_weight_shape_and_missing_forward():
    step = GradientStep(np.zeros((3, 2)), np.ones(4), "tanh")
    with pytest.raises(tl.ParameterError, match="'W'.*\\(4, 2\\)"):
        step.forward(np.zeros((4, 3)))
    with pytest.raises(RuntimeError, match="forward"):
        step.gradient(np.zeros(3))


# --- theorem-lab bench step -------------------------------------------------------------------
def test_bench_measure_reports_consistent_ratios():
    from theorem_lab.simulations.bench_step import measure
    row = measure(n=40, d=3, k=16, activation="relu", backend="torch", dtype="float32",
                  repeats=2, settle=0.0)
    assert row["path"] == "torch" and row["dtype"] == "float32"
    assert row["gemms_s"] == pytest.approx(row["gemm1_s"] + row["gemm2_s"])
    assert row["gemms_s"] <= row["gemms_ref_s"]       # the best layouts include the reference's
    assert row["ratio"] == pytest.approx(row["step_s"] / row["gemms_s"])
    assert row["step_gflops"] == pytest.approx(4 * 40 * 3 * 16 / row["step_s"] / 1e9)
    from theorem_lab.simulations.bench_step import format_table
    assert row["matmul"] is None and "TF32" not in format_table([row])   # the CPU: IEEE only
    assert format_table([{**row, "matmul": "tf32"}]).endswith("(TF32 matmuls)")   # CUDA float32


def test_bench_cli_json_and_bad_input(capsys):
    from theorem_lab.cli import main
    argv = ["bench", "step", "--n", "30", "--d", "2", "--k", "8", "--repeats", "1",
            "--backends", "numpy", "--dtypes", "float64,float32", "--activation", "tanh,erf",
            "--engine", "auto,threads", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["path"], r["dtype"], r["activation"]) for r in out["results"]] == [
        (path, dtype, act) for path in ("numpy-torch", "numpy")
        for dtype in ("float64", "float32") for act in ("tanh", "erf")]
    assert all(r["ratio"] > 0 and r["gemms_s"] <= r["gemms_ref_s"] for r in out["results"])
    assert main(["bench", "step", "--backends", "cupy,numpy"]) == 2
    assert "'--backends' parameter of bench step" in capsys.readouterr().err
    assert main(["bench", "step", "--k", "7"]) == 2
    assert "'--width' parameter" in capsys.readouterr().err     # --k is its alias


def test_default_threads_follow_the_thread_setting(monkeypatch):
    from theorem_lab.step import default_threads
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cpus = default_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert default_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", str(cpus + 7))
    assert default_threads() == cpus
    monkeypatch.setenv("OMP_NUM_THREADS", "not-a-number")
    assert default_threads() == cpus



def test_tanh_from_exp_within_its_stated_absolute_error():
    """step._np_tanh_exp against np.tanh over z ∈ [−30, 30], tiny |z| and the extremes:
    |Δφ| ≤ 3.4e-16, |Δφ'| ≤ 7.3e-16 (its docstring); φ(±inf) = ±1, NaN propagates."""
    from theorem_lab.step import _np_tanh_exp
    z = np.concatenate([np.linspace(-30, 30, 200_001), np.geomspace(1e-300, 1, 2001),
                        -np.geomspace(1e-300, 1, 2001), [0.0, 400.0, -800.0, np.inf, -np.inf]])
    Z, S, f = z[None].copy(), [np.empty((1, z.size))], np.empty(1)
    v = np.zeros(z.size)
    v[0] = 1.0                                              # f = φ(z₀)
    _np_tanh_exp(Z, v, f, S)
    phi, dphi = 1.0 - S[0][0], Z[0]
    assert np.abs(phi - np.tanh(z)).max() <= 3.4e-16
    assert np.abs(dphi - (1 - np.tanh(z) ** 2)).max() <= 7.3e-16
    assert f[0] == phi[0] and list(phi[-2:]) == [1.0, -1.0] and (dphi >= 0).all()
    Zn = np.array([[np.nan, 1.0]])
    _np_tanh_exp(Zn, np.array([1.0, 0.0]), f, [np.empty((1, 2))])
    assert np.isnan(Zn[0, 0]) and np.isnan(f[0])


@NEEDS_NUMBA
def test_compiled_tanh_within_its_stated_error():
    """compiled.py's tanh against np.tanh over z ∈ [−30, 30], tiny |z| (down to subnormals) and
    the extremes: relative error ≤ 4.7e-16 in φ, absolute ≤ 4.5e-16 in φ' (its docstring);
    φ(±inf) = ±1, φ(−0) = −0, NaN propagates; f = φ v row by row."""
    from theorem_lab import compiled
    z = np.concatenate([np.linspace(-30, 30, 200_001), np.geomspace(1e-320, 1, 3001),
                        -np.geomspace(1e-320, 1, 3001), [0.0, -0.0, 44.0, -800.0, 1e300,
                                                         np.inf, -np.inf]])
    Z, Phi = z[None].copy(), np.empty((1, z.size))
    compiled.phi_dphi_pass(Z, Phi, "tanh")
    phi, dphi, ref = Phi[0], Z[0], np.tanh(z)
    assert (np.abs(phi - ref) <= 4.7e-16 * np.abs(ref)).all()
    assert np.abs(dphi - (1 - ref ** 2)).max() <= 4.5e-16 and (dphi >= 0).all()
    assert list(phi[-2:]) == [1.0, -1.0] and np.signbit(phi[z.size - 6])
    Zn, Pn = np.array([[np.nan, 1.0]]), np.empty((1, 2))
    compiled.phi_dphi_pass(Zn, Pn, "tanh")
    assert np.isnan(Zn[0, 0]) and np.isnan(Pn[0, 0]) and Pn[0, 1] == pytest.approx(np.tanh(1.0))
    rng = np.random.default_rng(0)
    Z3 = rng.standard_normal((2, 5, 7)) * 3                     # the epilogue on a (B, n, k) buffer
    v, f = rng.standard_normal(7), np.empty((2, 5))
    expect_f, expect_d = np.tanh(Z3) @ v, 1 - np.tanh(Z3) ** 2
    compiled.tanh_epilogue(Z3, v, f, [])
    np.testing.assert_allclose(f, expect_f, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(Z3, expect_d, rtol=0, atol=4.5e-16)
    with pytest.raises(ValueError, match="C-contiguous"):
        compiled.tanh_epilogue(Z3[:, :, ::2], v[::2], f, [])



@NEEDS_NUMBA
def test_compiled_float32_tanh_within_its_stated_error():
    """The float32 kernel (float32 arithmetic) against float64's tanh of the same float32
    inputs: relative error ≤ 3e-7 (2.5 ulp) in φ, absolute ≤ 2.5e-7 in φ'; φ(±inf) = ±1,
    φ(−0) = −0, subnormals kept, NaN propagates; the epilogue takes it for float32 blocks."""
    from theorem_lab import compiled
    rng = np.random.default_rng(1)
    z = np.concatenate([np.linspace(-20, 20, 200_001), rng.uniform(-1, 1, 200_000),
                        np.geomspace(1e-45, 1, 3001), -np.geomspace(1e-45, 1, 3001),
                        [0.0, -0.0, 18.0, -800.0, 3e38, np.inf, -np.inf]]).astype(np.float32)
    Z, Phi = z[None].copy(), np.empty((1, z.size), dtype=np.float32)
    compiled.phi_dphi_pass(Z, Phi)
    phi, dphi, ref = Phi[0], Z[0], np.tanh(z.astype(np.float64))
    assert phi.dtype == np.float32
    assert (np.abs(phi - ref) <= 3e-7 * np.abs(ref)).all()
    assert np.abs(dphi - (1 - ref ** 2)).max() <= 2.5e-7 and (dphi >= 0).all()
    assert list(phi[-2:]) == [1.0, -1.0] and np.signbit(phi[z.size - 6])
    Zn, Pn = np.array([[np.nan, 1.0]], dtype=np.float32), np.empty((1, 2), dtype=np.float32)
    compiled.phi_dphi_pass(Zn, Pn)
    assert np.isnan(Zn[0, 0]) and np.isnan(Pn[0, 0]) and Pn[0, 1] == pytest.approx(np.tanh(1.0))
    Z3 = (rng.standard_normal((2, 5, 7)) * 3).astype(np.float32)
    v, f = rng.standard_normal(7).astype(np.float32), np.empty((2, 5), dtype=np.float32)
    ref3 = np.tanh(Z3.astype(np.float64))
    compiled.tanh_epilogue(Z3, v, f, [])
    np.testing.assert_allclose(f, ref3 @ v, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(Z3, 1 - ref3 ** 2, rtol=0, atol=2.5e-7)
    assert {str(sig[0].dtype) for sig in compiled.rows32.signatures} == {"float32"}

def _erf_reference(z):
    """φ(z) = √(π/2) erf(z/√2) by scipy (φ(z) = z where |z| < 1e-8: z²/6 is below float64's
    ulp there, and scipy's erf of a subnormal z/√2 has lost digits), and φ' = e^{−z²/2}."""
    from scipy.special import erf
    with np.errstate(over="ignore"):
        dphi = np.exp(-0.5 * z * z)
    return np.where(np.abs(z) < 1e-8, z, np.sqrt(np.pi / 2) * erf(z / np.sqrt(2))), dphi


@NEEDS_NUMBA
def test_compiled_erf_within_its_stated_error():
    """compiled.py's erf against scipy's over z ∈ [−40, 40] (both sides of the switch between
    its two polynomials at |z| = 2√2), tiny |z| and the extremes: relative error ≤ 1e-15 in φ
    (8.9e-16 the largest over 2e7 uniform draws on [−9, 9]; scipy's own is up to 6e-16 against
    mpmath) and absolute ≤ 1.2e-16 in φ'; φ(±inf) = ±√(π/2), φ(−0) = −0, NaN propagates; the
    epilogue gives f = φ v."""
    from theorem_lab import compiled
    z = np.concatenate([np.linspace(-40, 40, 400_001), np.geomspace(1e-320, 1, 3001),
                        -np.geomspace(1e-320, 1, 3001), 2 * np.sqrt(2) + np.arange(-3, 4) * 1e-15,
                        [0.0, -0.0, 37.6, -38.0, -800.0, 1e300, np.inf, -np.inf]])
    Z, Phi = z[None].copy(), np.empty((1, z.size))
    compiled.phi_dphi_pass(Z, Phi, "erf")
    (phi, dphi), (ref, ref_d) = (Phi[0], Z[0]), _erf_reference(z)
    assert (np.abs(phi - ref) <= 1e-15 * np.abs(ref)).all()
    assert np.abs(dphi - ref_d).max() <= 1.2e-16 and (dphi >= 0).all()
    assert list(phi[-2:]) == [np.sqrt(np.pi / 2), -np.sqrt(np.pi / 2)] and list(dphi[-2:]) == [0, 0]
    assert np.signbit(phi[z.size - 7]) and phi[z.size - 8] == 0.0
    Zn, Pn = np.array([[np.nan, 1.0]]), np.empty((1, 2))
    compiled.phi_dphi_pass(Zn, Pn, "erf")
    assert np.isnan(Zn[0, 0]) and np.isnan(Pn[0, 0]) and Zn[0, 1] == pytest.approx(np.exp(-0.5))
    rng = np.random.default_rng(0)
    Z3 = rng.standard_normal((2, 5, 7)) * 3
    v, f = rng.standard_normal(7), np.empty((2, 5))
    ref3, ref3_d = _erf_reference(Z3)
    compiled.epilogue("erf")(Z3, v, f, [])
    np.testing.assert_allclose(f, ref3 @ v, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(Z3, ref3_d, rtol=0, atol=1.2e-16)


@NEEDS_NUMBA
def test_the_kernel_polynomials_are_what_their_script_fits():
    """compiled.py's erf and softplus polynomials are the output of
    scripts/fit_kernel_polynomials.py (float64
    to the last bit, float32 as rounded to float32): the constants can be re-derived."""
    import importlib.util
    from pathlib import Path

    from theorem_lab import compiled
    path = Path(__file__).resolve().parents[2] / "scripts" / "fit_kernel_polynomials.py"
    spec = importlib.util.spec_from_file_location("fit_kernel_polynomials", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for name, fitted in script.coefficients(compiled.ERF_A).items():
        dtype = np.float32 if name.endswith("32") else np.float64
        assert np.array_equal(np.asarray(fitted, dtype=dtype), np.asarray(getattr(compiled, name))), name


@NEEDS_NUMBA
def test_compiled_float32_erf_within_its_stated_error():
    """The float32 erf kernel against float64's erf of the same float32 inputs: relative error
    ≤ 5e-7 (4 ulp) in φ, largest just below the switch at |z| = 2√2, and absolute ≤ 9e-8 in φ'
    (4.7e-7 and 8.4e-8 the largest over 5e7 uniform draws on [−6, 6] and [−½, ½])."""
    from theorem_lab import compiled
    rng = np.random.default_rng(1)
    z = np.concatenate([np.linspace(-20, 20, 200_001), rng.uniform(-3, 3, 200_000),
                        np.geomspace(1e-45, 1, 3001), -np.geomspace(1e-45, 1, 3001),
                        [0.0, -0.0, 3e38, np.inf, -np.inf]]).astype(np.float32)
    Z, Phi = z[None].copy(), np.empty((1, z.size), dtype=np.float32)
    compiled.phi_dphi_pass(Z, Phi, "erf")
    ref, ref_d = _erf_reference(z.astype(np.float64))
    assert Phi.dtype == np.float32 and Z.dtype == np.float32
    assert (np.abs(Phi[0] - ref) <= 5e-7 * np.abs(ref)).all()
    assert np.abs(Z[0] - ref_d).max() <= 9e-8 and (Z[0] >= 0).all()
    assert np.signbit(Phi[0, z.size - 4]) and Phi[0, -1] == -np.float32(np.sqrt(np.pi / 2))


@NEEDS_NUMBA
@pytest.mark.parametrize("dtype, phi_rel, dphi_abs", [(np.float64, 5e-16, 2.3e-16),
                                                      (np.float32, 2.5e-7, 1e-7)])
def test_compiled_softplus_within_its_stated_error(dtype, phi_rel, dphi_abs):
    """compiled.py's softplus against numpy's logaddexp(0, z) and scipy's expit (in float64 of
    the same inputs) over a wide range, tiny |z|, the underflow of e^z and the extremes: its
    stated relative error in φ (4.4e-16 and 2.3e-7 the largest over 2e7 uniform draws; φ = 0
    where e^z < e^{−X_MAX}) and absolute in φ'; φ(+inf) = inf, φ(−inf) = 0, φ'(±inf) = 1 and 0, NaN propagates; the
    epilogue gives f = φ v."""
    from scipy.special import expit

    from theorem_lab import compiled
    rng = np.random.default_rng(2)
    tiny = np.finfo(dtype).smallest_subnormal
    z = np.concatenate([np.linspace(-60, 60, 600_001), rng.uniform(-5, 5, 300_000),
                        np.geomspace(tiny, 1, 3001), -np.geomspace(tiny, 1, 3001),
                        np.linspace(-745, -30, 10001), [0.0, -0.0, 88.0, 709.0, np.inf, -np.inf]])
    z = z.astype(dtype)
    Z, Phi = z[None].copy(), np.empty((1, z.size), dtype=dtype)
    compiled.phi_dphi_pass(Z, Phi, "softplus")
    z64 = z.astype(np.float64)
    ref, ref_d = np.logaddexp(0, z64), expit(z64)
    floor = np.exp(-float(compiled.X_MAX if dtype == np.float64 else compiled.X_MAX32))
    above = (ref > floor) & np.isfinite(ref)          # below it, e^{−|z|} and so φ are set to 0
    with np.errstate(invalid="ignore"):               # inf − inf at z = inf
        err = np.abs(Phi[0] - ref)
    assert Phi.dtype == dtype and (err[above] <= phi_rel * ref[above]).all()
    assert err[~above & np.isfinite(ref)].max() <= floor
    assert np.abs(Z[0] - ref_d).max() <= dphi_abs and (Z[0] >= 0).all()
    assert list(Phi[0, -2:]) == [np.inf, 0.0] and list(Z[0, -2:]) == [1.0, 0.0]
    Zn, Pn = np.array([[np.nan, 1.0]], dtype=dtype), np.empty((1, 2), dtype=dtype)
    compiled.phi_dphi_pass(Zn, Pn, "softplus")
    assert np.isnan(Zn[0, 0]) and np.isnan(Pn[0, 0]) and Zn[0, 1] == pytest.approx(expit(1.0))
    Z3 = (rng.standard_normal((2, 5, 7)) * 3).astype(dtype)
    v, f = rng.standard_normal(7).astype(dtype), np.empty((2, 5), dtype=dtype)
    ref3 = Z3.astype(np.float64)
    expect_f, expect_d = np.logaddexp(0, ref3) @ v, expit(ref3)
    compiled.epilogue("softplus")(Z3, v, f, [])
    np.testing.assert_allclose(f, expect_f, rtol=phi_rel * 40, atol=phi_rel * 40)
    np.testing.assert_allclose(Z3, expect_d, rtol=0, atol=dphi_abs)


@NEEDS_NUMBA
def test_compiled_kernels_fall_back_to_no_cache_where_none_is_writable(monkeypatch):
    """numba raises at decoration where no cache location is writable (a read-only install and
    home); compiled._jit then compiles without the cache instead of failing."""
    import numba

    from theorem_lab import compiled
    real = numba.njit

    def njit(**kw):
        if kw.get("cache"):
            raise RuntimeError("cannot cache function 'add': no locator available for file 'x'")
        return real(**kw)

    monkeypatch.setattr(numba, "njit", njit)

    @compiled._jit()
    def add(a, b):
        return a + b

    assert add(1.0, 2.0) == 3.0 and type(add._cache).__name__ == "NullCache"
