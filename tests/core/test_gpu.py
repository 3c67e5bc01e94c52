"""GPU backends against the numpy float64 reference (skipped without CUDA; run by scripts/gpu_check.sh)."""

import numpy as np
import pytest

import theorem_lab as tl

pytestmark = pytest.mark.gpu


def _problem():
    data = tl.make_clusterable(n=60, K=4, d=8, eps=0.05, rho=0.3, seed=0, n_test=30)
    return data, tl.TwoLayerNet.init(d=8, k=256, seed=1)


@pytest.mark.parametrize("backend, dtype, rtol", [("torch", "float64", 1e-9), ("torch", "float32", 2e-3),
                                                  ("cupy", "float64", 1e-9), ("cupy", "float32", 2e-3)])
def test_cuda_backends_agree_with_numpy(backend, dtype, rtol, monkeypatch):
    """IEEE float32 (TF32 off: its 10-bit mantissa is not what this tolerance is for)."""
    if backend == "cupy":
        pytest.importorskip("cupy")
    monkeypatch.setenv("THEOREM_LAB_TF32", "off")
    data, net = _problem()
    ref = tl.train(data, net, steps=300, log_every=30)
    gpu = tl.train(data, net, steps=300, log_every=30, backend=backend, device="cuda", dtype=dtype)
    for col in ("l2_clean", "l2_noisy", "margin", "dist_init", "test_l2"):
        np.testing.assert_allclose(getattr(gpu, col), getattr(ref, col), rtol=rtol, atol=rtol, err_msg=col)
    assert gpu.T1 == ref.T1


def test_auto_backend_picks_the_gpu():
    assert tl.resolve_backend("auto", "auto").device == "cuda"


@pytest.mark.parametrize("backend", ["torch", "cupy"])
@pytest.mark.parametrize("activation", ["tanh", "softplus", "erf", "relu"])
def test_engine_kernels_on_cuda_agree_with_numpy(backend, activation):
    """Every candidate of kernel_choice.py on the GPU (CuPy's fused ElementwiseKernel included)
    against the numpy float64 batched reference."""
    if backend == "cupy":
        pytest.importorskip("cupy")
    from theorem_lab import batched_steps, kernel_choice
    rng = np.random.default_rng(0)
    X, W, r = (rng.standard_normal(s) for s in ((3, 20, 5), (3, 16, 5), (3, 20)))
    v, act = tl.network.output_layer(16), tl.get_activation(activation)
    ref_bk = tl.resolve_backend("numpy", "cpu", "float64")
    ref = batched_steps.BatchedStep(X, v, act, ref_bk.xp)
    f_ref = ref.forward(W)
    G_ref = ref.gradient(r)
    bk = tl.resolve_backend(backend, "cuda", "float64")
    for name in kernel_choice.candidates(bk, act_name=activation):
        st = kernel_choice.make_step(name, bk.asarray(X), bk.asarray(v), act, bk)
        np.testing.assert_allclose(tl.to_numpy(st.forward(bk.asarray(W))), f_ref, rtol=1e-12,
                                   err_msg=name)
        np.testing.assert_allclose(tl.to_numpy(st.gradient(bk.asarray(r))), G_ref, rtol=1e-11,
                                   atol=1e-14, err_msg=name)


def test_engine_batch_on_cuda_equals_numpy_runs_alone():
    from theorem_lab.train import train_many
    problems = [(tl.make_clusterable(n=60, K=4, d=8, eps=0.05, rho=0.3, seed=s, n_test=30),
                 tl.TwoLayerNet.init(d=8, k=256, seed=s + 1)) for s in range(4)]
    batch = train_many([p[0] for p in problems], [p[1] for p in problems], steps=200,
                       log_every=20, backend="torch", device="cuda", schedule="adaptive:lam=0.9")
    for b, (data, net) in enumerate(problems):
        alone = tl.train(data, net, steps=200, log_every=20, schedule="adaptive:lam=0.9")
        for col in ("l2_clean", "l2_noisy", "margin", "dist_init", "test_l2"):
            np.testing.assert_allclose(batch[b].columns[col], alone.columns[col], rtol=1e-9,
                                       atol=1e-9, err_msg=col)
        assert batch[b].T1 == alone.T1 and batch[b].oracle["step"] == alone.oracle["step"]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_plain_steps_recorded_as_a_cuda_graph_equal_step_by_step_launches(activation, monkeypatch):
    """torch on CUDA replays the plain steps from one CUDA graph (step_graph.py); the runs
    (a divergence, an adaptive schedule and τ among them) equal those launched step by step."""
    from theorem_lab import step_graph
    from theorem_lab.train import train_many
    problems = [(tl.make_clusterable(n=30, K=3, d=6, eps=0.2, rho=0.3, seed=s, n_test=12),
                 tl.TwoLayerNet.init(d=6, k=64, activation=activation, seed=s + 1))
                for s in range(3)]
    kw = dict(method=["early-stop", "gd", "self-distill"], lr=["auto", 50.0, "auto"],
              schedule=["linear:end=60", "linear", "adaptive:lam=0.8"], steps=200, log_every=25,
              backend="torch", device="cuda")
    graphed = train_many([p[0] for p in problems], [p[1] for p in problems], **kw)
    monkeypatch.setenv(step_graph.GRAPH_ENV, "off")
    eager = train_many([p[0] for p in problems], [p[1] for p in problems], **kw)
    assert {t.info.graph for t in graphed} == {"captured"}
    assert {t.info.graph for t in eager} == {"off"}
    for a, b in zip(eager, graphed):
        for name in ("status", "T1", "T1_stable", "diverged_step"):
            assert getattr(a, name) == getattr(b, name), name
        for col in a.columns:
            np.testing.assert_allclose(b.columns[col], a.columns[col], rtol=1e-12, atol=1e-14,
                                       err_msg=col)
        assert a.oracle["step"] == b.oracle["step"]
        assert (a.early_stop is None) == (b.early_stop is None)


def test_bench_step_and_bench_many_on_cuda(capsys):
    """`bench step --device cuda` and `bench many --device cuda`: every number measured on the
    GPU (synchronised), the engine's choice among the CUDA candidates, no JAX peer."""
    import json

    from theorem_lab import kernel_choice
    from theorem_lab.cli import main
    assert main(["bench", "step", "--device", "cuda", "--n", "256", "--dim", "16", "--width", "128",
                 "--repeats", "2", "--dtypes", "float32", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["environment"]["gpu"] and {r["device"] for r in out["results"]} == {"cuda"}
    assert {r["backend"] for r in out["results"]} <= {"torch", "cupy"}
    assert {r["matmul"] for r in out["results"] if r["backend"] == "torch"} == {"tf32"}   # as runs
    for row in out["engine"]:
        assert row["device"] == "cuda" and row["chosen"] in row["candidates_s"]
        assert row["phi_pass_s"] > 0 and "jax_s" not in row
    assert main(["bench", "many", "--device", "cuda", "--runs", "4", "--n", "12", "--dim", "3",
                 "--width", "8", "--clusters", "2", "--steps", "20", "--rounds", "1",
                 "--dtype", "float32", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["backend"], r["device"]) == ("torch", "cuda") and "jax" not in r["seconds"]
    assert r["kernel"] in kernel_choice.CANDIDATES and r["graph"] is not None
