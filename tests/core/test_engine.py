"""The batched engine: B runs together equal each run alone; bookkeeping per run; kernels."""

import os
import sys

import numpy as np
import pytest

import theorem_lab as tl
from theorem_lab import batched_steps, engine, kernel_choice
from theorem_lab import step as step_module
from theorem_lab.step import GradientStep
from theorem_lab.train import train_many

FIELDS = ("T1", "T1_stable", "T2", "early_stop_step", "status", "steps_done", "diverged_step")


def _problem(seed, activation="tanh", n=30, k=64, rho=0.3):
    data = tl.make_clusterable(n=n, K=3, d=6, eps=0.2, rho=rho, seed=seed, n_test=12)
    return data, tl.TwoLayerNet.init(d=6, k=k, activation=activation, seed=seed + 1)


def _assert_same(a, b, rtol=1e-10):
    for f in FIELDS:
        assert getattr(a, f) == getattr(b, f), f
    assert list(a.columns) == list(b.columns)
    for c in a.columns:
        np.testing.assert_allclose(a.columns[c], b.columns[c], rtol=rtol, atol=1e-12, err_msg=c)
    np.testing.assert_allclose(a.loss_start, b.loss_start, rtol=rtol, atol=1e-12)
    for snap in ("oracle", "early_stop", "loss_peak", "loss_rise"):
        x, y = getattr(a, snap), getattr(b, snap)
        assert (x is None) == (y is None)
        if x is not None:
            assert x["step"] == y["step"]
            for key in x:
                np.testing.assert_allclose(x[key], y[key], rtol=rtol, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("activation", ["tanh", "softplus", "erf", "relu"])
def test_batched_equals_alone_for_every_method_schedule_and_label_function(activation):
    """Four runs with different data, methods, schedules (adaptive included) and h in one batch."""
    problems = [_problem(s, activation) for s in range(4)]
    kw = dict(method=["self-distill", "gd", "self-distill", "early-stop"],
              schedule=["linear:end=60", "linear", "adaptive:lam=0.8", "exponential:tau=20"],
              label_fn=["clipped", "sign", "identity", "clipped"])
    batch = train_many([p[0] for p in problems], [p[1] for p in problems], steps=150,
                       log_every=7, **kw)
    for b, (data, net) in enumerate(problems):
        alone = tl.train(data, net, steps=150, log_every=7,
                         **{key: val[b] for key, val in kw.items()})
        _assert_same(batch[b], alone)


@pytest.mark.skipif(not kernel_choice.numba_available(), reason="numba not installed")
@pytest.mark.parametrize("kernel", ["batched:threads/numba", "batched:fused/numba",
                                    "per-run:threads/numba", "batched:numba",
                                    "per-run:units/numba"])
def test_a_batch_on_numbas_compiled_tanh_equals_the_runs_alone(kernel, monkeypatch):
    """The compiled kernels, forced for the batch; each run alone on the array-API reference."""
    problems = [_problem(s) for s in range(3)]
    kw = dict(method=["self-distill", "gd", "self-distill"],
              schedule=["linear:end=60", "linear", "adaptive:lam=0.8"],
              label_fn=["clipped", "sign", "clipped"])
    monkeypatch.setenv("THEOREM_LAB_KERNEL", kernel)
    batch = train_many([p[0] for p in problems], [p[1] for p in problems], steps=150,
                       log_every=7, **kw)
    monkeypatch.setenv("THEOREM_LAB_KERNEL", "batched")
    for b, (data, net) in enumerate(problems):
        alone = tl.train(data, net, steps=150, log_every=7,
                         **{key: val[b] for key, val in kw.items()})
        assert batch[b].info.kernel == kernel and alone.info.kernel == "batched"
        _assert_same(batch[b], alone)


def _numba_threads() -> bool:
    if not kernel_choice.numba_available():
        return False
    from theorem_lab import compiled
    return compiled.THREADS


@pytest.mark.skipif(not _numba_threads(), reason="numba's TBB threading layer not available")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batched_numba_on_numbas_threads_equals_it_on_the_python_pool(dtype, monkeypatch):
    """The same compiled per-run kernels over the same parts: bit for bit the same numbers."""
    from theorem_lab import compiled
    bk = tl.resolve_backend("numpy", "cpu", dtype)
    rng = np.random.default_rng(5)
    X, W = bk.asarray(rng.standard_normal((7, 20, 5))), bk.asarray(rng.standard_normal((7, 16, 5)))
    r, v = bk.asarray(rng.standard_normal((7, 20))), bk.asarray(tl.network.output_layer(16))
    act = tl.get_activation("tanh")
    results = []
    for threads in (True, False):
        monkeypatch.setattr(compiled, "THREADS", threads)
        st = batched_steps.CompiledBatchedStep(X, v, act, np, threads=2)
        results.append((st.forward(W), *st.descend(W, r)))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not kernel_choice.numba_available(), reason="numba not installed")
def test_batched_numba_falls_back_to_the_pool_when_numbas_threads_cannot_start(monkeypatch):
    from theorem_lab import compiled

    def no_layer(*args):
        raise ValueError("No threading layer could be loaded.")

    bk = tl.resolve_backend("numpy", "cpu", "float64")
    rng = np.random.default_rng(6)
    X, W = bk.asarray(rng.standard_normal((4, 20, 5))), bk.asarray(rng.standard_normal((4, 16, 5)))
    r, v = bk.asarray(rng.standard_normal((4, 20))), bk.asarray(tl.network.output_layer(16))
    act = tl.get_activation("tanh")
    ref = batched_steps.BatchedStep(X, v, act, np)
    monkeypatch.setattr(compiled, "THREADS", True)
    monkeypatch.setattr(compiled, "forward_parts", no_layer)
    st = batched_steps.CompiledBatchedStep(X, v, act, np, threads=2)
    np.testing.assert_allclose(st.forward(W), ref.forward(W), rtol=1e-13)
    assert compiled.THREADS is False                  # remembered: the pool from now on
    np.testing.assert_allclose(st.descend(W, r)[0], ref.descend(W, r)[0], rtol=1e-13)


@pytest.mark.skipif(not _numba_threads(), reason="numba's TBB threading layer not available")
def test_a_tbb_older_than_numba_accepts_is_not_asked_for(monkeypatch):
    from theorem_lab import compiled
    assert compiled._load_tbb()
    monkeypatch.setattr(compiled, "TBB_INTERFACE_MIN", 10 ** 9)
    assert not compiled._load_tbb()


_FORK_AFTER_THREADS = """
import os, numpy as np, theorem_lab as tl
from theorem_lab import batched_steps
rng = np.random.default_rng(0)
X, W = rng.standard_normal((4, 20, 5)), rng.standard_normal((4, 16, 5))
st = batched_steps.CompiledBatchedStep(X, tl.network.output_layer(16), tl.get_activation("tanh"),
                                       np, threads=2)
f = st.forward(W)
pid = os.fork()
if pid == 0:                                     # the child steps again, then leaves
    os._exit(0 if np.array_equal(st.forward(W), f) else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not _numba_threads() or not hasattr(os, "fork"),
                    reason="numba's TBB threading layer not available")
def test_a_fork_after_numbas_threads_ran_leaves_a_working_child():
    """multiprocessing forks by default on Linux: after batched:numba ran on numba's threads, a
    forked child must live and compute (GNU OpenMP would kill it)."""
    import subprocess
    env = {k: val for k, val in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    done = subprocess.run([sys.executable, "-c", _FORK_AFTER_THREADS], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "0", done.stdout + done.stderr


@pytest.mark.skipif(not kernel_choice.numba_available(), reason="numba not installed")
@pytest.mark.parametrize("kernel", ["batched:threads/numba", "batched:fused/numba",
                                    "per-run:threads/numba", "batched:numba",
                                    "per-run:units/numba"])
def test_numbas_kernels_in_float32_agree_with_the_reference(kernel):
    bk = tl.resolve_backend("numpy", "cpu", "float32")
    rng = np.random.default_rng(3)
    X, W = bk.asarray(rng.standard_normal((3, 20, 5))), bk.asarray(rng.standard_normal((3, 16, 5)))
    r, v = bk.asarray(rng.standard_normal((3, 20))), bk.asarray(tl.network.output_layer(16))
    act = tl.get_activation("tanh")
    ref = batched_steps.BatchedStep(X.astype(np.float64), v.astype(np.float64), act, np)
    f_ref = ref.forward(W.astype(np.float64))
    W_ref, sq_ref = ref.descend(W.astype(np.float64), r.astype(np.float64))
    st = kernel_choice.make_step(kernel, X, v, act, bk)
    f = st.forward(W)
    W_new, sq = st.descend(W, r)
    assert f.dtype == W_new.dtype == np.float32 and st.name == kernel
    np.testing.assert_allclose(f, f_ref, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(W_new, W_ref, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(sq, sq_ref, rtol=1e-4)


def test_a_diverging_run_is_frozen_while_the_others_finish():
    problems = [_problem(s, "relu") for s in range(3)]
    lrs = ["auto", 50.0, "auto"]
    batch = train_many([p[0] for p in problems], [p[1] for p in problems], method="gd",
                       steps=300, lr=lrs, log_every=50)
    assert [t.status for t in batch] == ["finished", "diverged", "finished"]
    bad = batch[1]
    assert 0 < bad.diverged_step < 300 and bad.step[-1] == bad.diverged_step
    alone = tl.train(*problems[1], method="gd", steps=300, lr=50.0, log_every=50)
    _assert_same(bad, alone)
    assert batch[0].steps_done == batch[2].steps_done == 300


def test_the_device_loop_without_host_branches_equals_the_host_loop(monkeypatch):
    """On a device the loop selects with ``where`` (no host reads); on the CPU it branches on
    the masks. Both give the same runs: divergence, the oracle and W at τ included."""
    from theorem_lab import engine
    problems = [_problem(s, "relu") for s in range(3)]
    kw = dict(method=["early-stop", "gd", "self-distill"], lr=["auto", 50.0, "auto"],
              schedule="adaptive:lam=0.8", steps=200, log_every=25)
    host = train_many([p[0] for p in problems], [p[1] for p in problems], **kw)
    monkeypatch.setattr(engine, "on_host", lambda bk: False)
    device = train_many([p[0] for p in problems], [p[1] for p in problems], **kw)
    assert [t.status for t in device] == ["finished", "diverged", "finished"]
    assert device[0].early_stop is not None
    for a, b in zip(host, device):
        _assert_same(a, b, rtol=0)
        np.testing.assert_array_equal(a.W_final, b.W_final)


def test_track_every_above_log_every_keeps_rows_working():
    """track_every > log_every used to make rows() raise IndexError."""
    data, net = _problem(0)
    tr = tl.train(data, net, steps=40, log_every=5, track_every=15)
    rows = tr.rows()
    assert [r["step"] for r in rows] == [0, 5, 10, 15, 20, 25, 30, 35, 40]
    names = [c for c in tr.tracked if c != "tracked_step"]
    assert names and list(tr.tracked["tracked_step"]) == [0, 15, 30, 40]
    hit = {r["step"] for r in rows if np.isfinite(r[names[0]])}
    assert hit == {0.0, 15.0, 30.0, 40.0}


def test_typed_record_and_attribute_access():
    data, net = _problem(0)
    tr = tl.train(data, net, steps=20, log_every=10)
    assert isinstance(tr.info, tl.trajectory.RunInfo)
    assert tr.T1 == tr.info.T1 and tr.oracle == tr.info.oracle and tr.lr == tr.info.lr
    assert tr.info.as_dict()["config"]["steps"] == 20
    np.testing.assert_array_equal(tr.l2_clean, tr.columns["l2_clean"])
    with pytest.raises(AttributeError):
        tr.no_such_value  # noqa: B018


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("activation", ["tanh", "softplus", "erf", "relu"])
def test_every_kernel_candidate_agrees_with_the_reference(backend, activation, monkeypatch):
    bk = tl.resolve_backend(backend, "cpu", "float64")
    rng = np.random.default_rng(0)
    X = bk.asarray(rng.standard_normal((3, 20, 5)))
    W = bk.asarray(rng.standard_normal((3, 16, 5)))
    r = bk.asarray(rng.standard_normal((3, 20)))
    v = bk.asarray(tl.network.output_layer(16))
    act = tl.get_activation(activation)
    ref = batched_steps.BatchedStep(X, v, act, bk.xp)
    f_ref = tl.to_numpy(ref.forward(W))
    G_ref = tl.to_numpy(ref.gradient(r))
    for b in range(3):     # the reference itself against the network's analytic gradient
        net = tl.TwoLayerNet(W=tl.to_numpy(W[b]), v=tl.to_numpy(v), activation=act)
        np.testing.assert_allclose(f_ref[b], net.forward(tl.to_numpy(X[b])), rtol=1e-12)
    names = kernel_choice.candidates(bk, 3, 20 * 16, act_name=activation, dk=5 * 16)
    assert ("batched:fused" in names) == (backend == "numpy" and activation != "erf")
    threads = kernel_choice.default_threads() > 1
    assert ("batched:threads" in names) == (backend == "numpy" and activation != "erf" and threads)
    assert "batched:threads" not in kernel_choice.candidates(bk, 1, 20 * 16, act_name=activation)
    assert ("batched:fused/torch" in names) == (backend == "numpy")      # every activation
    assert ("batched:threads/torch" in names) == (backend == "numpy" and threads)
    no_torch = kernel_choice.candidates(bk, 3, 20 * 16, act_name=activation, torch_ok=False)
    if backend == "numpy":                # torch not worth importing: nothing runs torch
        assert not any("torch" in name for name in no_torch) and "per-run:threads" in no_torch
    for some in (names, no_torch):        # tanh from numpy's exp, with torch or without
        assert ("batched:fused/exp" in some) == (backend == "numpy" and activation == "tanh")
        assert ("per-run:threads/exp" in some) == ("batched:fused/exp" in some)
    compiled = (backend == "numpy" and activation in ("tanh", "erf", "softplus")
                and kernel_choice.numba_available())
    assert ("batched:fused/numba" in names) == compiled                # numba's tanh, erf, softplus
    assert ("batched:threads/numba" in names) == (compiled and threads)
    assert ("per-run:threads/numba" in names) == compiled
    assert ("batched:numba" in names) == compiled                      # the whole step compiled
    assert ("per-run:units" in names) == (backend == "numpy")          # threads over hidden units
    assert ("per-run:units/exp" in names) == ("batched:fused/exp" in names)
    assert ("per-run:units/numba" in names) == compiled
    assert "batched:numba" not in kernel_choice.candidates(
        bk, 3, 20 * 16, act_name=activation, dk=kernel_choice.COMPILED_DK + 1)
    no_numba = kernel_choice.candidates(bk, 3, 20 * 16, act_name=activation, numba_ok=False)
    assert not any("numba" in name for name in no_numba)
    for name in names:
        st = kernel_choice.make_step(name, X, v, act, bk)
        np.testing.assert_allclose(tl.to_numpy(st.forward(W)), f_ref, rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(tl.to_numpy(st.gradient(r)), G_ref, rtol=1e-11, atol=1e-14,
                                   err_msg=name)
        st.forward(W)
        W_new, sq = st.descend(W, r)                 # the update the engine applies
        np.testing.assert_allclose(tl.to_numpy(W_new), tl.to_numpy(W) - G_ref, rtol=1e-12,
                                   atol=1e-14, err_msg=name)
        np.testing.assert_allclose(tl.to_numpy(sq), (G_ref ** 2).sum(axis=(1, 2)), rtol=1e-11,
                                   err_msg=name)
    choice = kernel_choice.choose(X, v, act, bk)
    assert choice.chosen in names
    assert set(choice.seconds) == set(names)
    assert choice.seconds[choice.chosen] == min(choice.seconds.values())
    assert kernel_choice.choose(X, v, act, bk) == choice            # cached for the process
    monkeypatch.setenv("THEOREM_LAB_KERNEL", "batched")
    assert kernel_choice.choose(X, v, act, bk).chosen == "batched"


@pytest.mark.parametrize("lib", ["torch", "numba"])
def test_a_library_is_timed_only_where_the_work_can_repay_its_start_up(lib, monkeypatch):
    """Small batches time numpy-only candidates (a fresh process imports neither torch nor
    numba); long or large ones, or a process that has started the library already, time its
    candidates too."""
    import subprocess
    import sys
    code = ("import sys, numpy as np, theorem_lab as tl\n"
            "from theorem_lab import kernel_choice as kc\n"
            "bk = tl.resolve_backend('numpy', 'cpu', 'float64')\n"
            "X = bk.asarray(np.random.default_rng(0).standard_normal((8, 40, 8)))\n"
            "v = bk.asarray(tl.network.output_layer(128))\n"
            "c = kc.choose(X, v, tl.get_activation('tanh'), bk, steps=1000)\n"
            f"print({lib!r} in sys.modules, sorted(c.seconds))\n")
    env = dict(os.environ, THEOREM_LAB_CACHE_DIR="off")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert out.startswith("False") and lib not in out.split(" ", 1)[1]
    steps = int(kernel_choice.WORTH[lib] // (8 * 40 * 128))
    module = "torch" if lib == "torch" else "theorem_lab.compiled"
    monkeypatch.delitem(sys.modules, module, raising=False)       # as in a fresh process
    assert not kernel_choice.worth_importing(lib, 8, 40, 128, steps - 1)
    assert kernel_choice.worth_importing(lib, 8, 40, 128, steps + 1)
    assert kernel_choice.worth_importing(lib, 8, 40, 128, None)   # unknown length: time them
    monkeypatch.setitem(sys.modules, module, object())
    assert kernel_choice.worth_importing(lib, 8, 40, 128, 1)      # started already: free


def test_the_pick_charges_a_librarys_start_up_to_the_candidates_that_need_it():
    bk = tl.resolve_backend("numpy", "cpu", "float64")
    seconds = {"batched:fused": 2e-3, "batched:fused/torch": 1e-3, "per-run:threads": 3e-3}
    pick = kernel_choice.pick
    torch_s = {"torch": 2.0}
    assert pick(seconds, 1000, torch_s, bk, "tanh") == "batched:fused"        # saves 1 s, costs 2
    assert pick(seconds, 5000, torch_s, bk, "tanh") == "batched:fused/torch"  # saves 5 s
    assert pick(seconds, 1000, {}, bk, "tanh") == "batched:fused/torch"       # imported already
    assert pick(seconds, None, torch_s, bk, "tanh") == "batched:fused/torch"  # the fastest step
    seconds["batched:threads/numba"] = 0.5e-3
    both = {"torch": 2.0, "numba": 1.0}
    assert pick(seconds, 1000, both, bk, "tanh") == "batched:threads/numba"   # 0.5 + 1 < 2 s
    assert pick(seconds, 500, both, bk, "tanh") == "batched:fused"            # 0.25 + 1 > 1 s
    assert kernel_choice.uses_torch("per-run:threads", bk, "erf")          # numpy's erf is torch's
    assert not kernel_choice.uses_torch("per-run:threads", bk, "tanh")
    assert kernel_choice.needs("per-run:threads/numba", bk, "tanh") == "numba"
    assert kernel_choice.needs("batched:numba", bk, "tanh") == "numba"
    assert kernel_choice.needs("batched:fused/torch", bk, "tanh") == "torch"
    assert kernel_choice.needs("batched:fused/exp", bk, "tanh") is None


def test_without_numba_or_when_it_fails_to_start_no_compiled_candidate_is_offered(monkeypatch):
    """numba is optional: not installed, nothing asks for it; installed but failing to start
    (here: its first call raises), the choice goes on with the other candidates."""
    bk = tl.resolve_backend("numpy", "cpu", "float64")
    X = bk.asarray(np.random.default_rng(0).standard_normal((3, 20, 5)))
    v, act = bk.asarray(tl.network.output_layer(16)), tl.get_activation("tanh")
    monkeypatch.setenv("THEOREM_LAB_CACHE_DIR", "off")
    monkeypatch.setattr(kernel_choice, "_TIMED", {})
    monkeypatch.setattr(kernel_choice, "numba_available", lambda: False)
    assert not any("numba" in name for name in kernel_choice.candidates(bk, 3, 320, "tanh"))
    monkeypatch.setattr(step_module, "numba_available", lambda: False)
    with pytest.raises(tl.ParameterError, match="'ufuncs' parameter of GradientStep.*theorem-lab"):
        GradientStep(tl.to_numpy(X[0]), tl.to_numpy(v), "tanh", engine="threads", ufuncs="numba")
    monkeypatch.undo()
    if not kernel_choice.numba_available():
        pytest.skip("numba not installed (pip install 'theorem-lab[fast]')")
    monkeypatch.setenv("THEOREM_LAB_CACHE_DIR", "off")
    monkeypatch.setattr(kernel_choice, "_TIMED", {})
    from theorem_lab import compiled

    def broken(*a):
        raise RuntimeError("cannot cache function: no locator available")

    monkeypatch.setattr(compiled, "tanh_epilogue", broken)             # numba fails to start
    names = kernel_choice.candidates(bk, 3, 320, "tanh")
    from_disk = [({name: (1e-6 if name == "batched:fused/numba" else 1.0) for name in names}, {})]
    monkeypatch.setattr(kernel_choice, "_read_cache",                   # one choice on disk
                        lambda path: from_disk.pop() if from_disk else None)
    monkeypatch.delitem(sys.modules, "theorem_lab.compiled")            # not started yet
    try:
        for _ in range(2):               # the choice from disk that names numba, then timed afresh
            kernel_choice._TIMED.clear()
            choice = kernel_choice.choose(X, v, act, bk)
            assert kernel_choice.NUMBA_FAILED == [
                "RuntimeError: cannot cache function: no locator available"]
            assert choice.seconds and not any("numba" in name for name in choice.seconds)
            assert not kernel_choice.numba_available() and not from_disk
            kernel_choice.NUMBA_FAILED.clear()
    finally:
        kernel_choice.NUMBA_FAILED.clear()
    assert kernel_choice.numba_available()


def test_a_candidate_far_slower_than_the_fastest_is_not_timed_again(monkeypatch):
    import time
    calls = {}

    class Fake:
        def __init__(self, name):
            self.name, self.pause = name, {"fast": 1e-3, "slow": 2e-2}[name]

        def forward(self, W):
            calls[self.name] = calls.get(self.name, 0) + 1
            time.sleep(self.pause)

        def descend(self, W, r):
            pass

    monkeypatch.setattr(kernel_choice, "make_step", lambda name, *a: Fake(name))
    monkeypatch.setattr(kernel_choice, "SETTLE_CALLS", 3)
    monkeypatch.setattr(kernel_choice, "SETTLE_S", 10.0)
    monkeypatch.setattr(kernel_choice, "BURST_S", 0.0)      # bursts of ``repeats`` calls
    bk = tl.resolve_backend("numpy", "cpu", "float64")
    X, v = bk.asarray(np.zeros((1, 4, 2))), bk.asarray(np.ones(3))
    seconds = kernel_choice.time_candidates(X, v, tl.get_activation("tanh"), bk,
                                            names=("slow", "fast"), repeats=2, rounds=2)
    assert calls == {"slow": 5, "fast": 10}                # one round of 3 + 2 calls, and two
    assert seconds["slow"] > kernel_choice.PRUNE * seconds["fast"]


class _Paced:
    """A fake candidate whose calls take ``pattern`` seconds in turn (a threaded kernel is fast
    only while the other core happens to be free)."""

    def __init__(self, name, pattern):
        self.name, self.pattern, self.calls = name, pattern, 0

    def forward(self, W):
        import time
        time.sleep(self.pattern[self.calls % len(self.pattern)])
        self.calls += 1

    def descend(self, W, r):
        pass


def test_a_candidate_is_rated_by_its_mean_over_a_burst_not_by_its_luckiest_call(monkeypatch):
    """Steady 4 ms calls beat calls of 1 and 20 ms in turn (10.5 ms on average), though the
    fastest single call is the second's."""
    fakes = {"steady": _Paced("steady", [4e-3]), "lucky": _Paced("lucky", [1e-3, 2e-2])}
    monkeypatch.setattr(kernel_choice, "make_step", lambda name, *a: fakes[name])
    monkeypatch.setattr(kernel_choice, "SETTLE_CALLS", 1)
    bk = tl.resolve_backend("numpy", "cpu", "float64")
    X, v = bk.asarray(np.zeros((1, 4, 2))), bk.asarray(np.ones(3))
    seconds = kernel_choice.time_candidates(X, v, tl.get_activation("tanh"), bk,
                                            names=("lucky", "steady"), repeats=2, rounds=2)
    assert seconds["steady"] < seconds["lucky"]
    assert 4e-3 <= seconds["steady"] < 1e-2 and seconds["lucky"] > 5e-3
    assert fakes["steady"].calls >= 1 + kernel_choice.BURST_S / 4e-3    # a burst of BURST_S


def test_the_engine_times_its_candidates_in_its_own_loop(monkeypatch, tmp_path):
    """engine.run passes kernel_choice a drive that runs one step of the batch's loop (advance
    on a scratch state) with each candidate: the batch's own state and kernel are untouched, and
    these timings are cached apart from back-to-back ones."""
    from theorem_lab import engine
    bk = tl.resolve_backend("numpy", "cpu", "float64")
    data = tl.make_clusterable(n=20, K=2, d=4, eps=0.1, rho=0.1, seed=0, n_test=5)
    net = tl.TwoLayerNet.init(d=4, k=16, activation="tanh", seed=0)
    seen = []
    real = kernel_choice.time_candidates

    def spying(X, v, act, bk_, names=None, **kw):
        seen.append(kw.get("drive"))
        return real(X, v, act, bk_, names, **kw)

    monkeypatch.setattr(kernel_choice, "time_candidates", spying)
    monkeypatch.setattr(kernel_choice, "_TIMED", {})
    monkeypatch.setenv("THEOREM_LAB_CACHE_DIR", str(tmp_path))
    ref = tl.train(data, net, method="self-distill", steps=30, log_every=10)
    assert len(seen) == 1 and callable(seen[0])
    import importlib
    runs = [importlib.import_module("theorem_lab.train")._resolve(
        tl.TrainConfig(method="self-distill", steps=30), data, net)[0]]
    bt = engine.Batch(runs, net.v, net.activation, 30, bk)
    assert bt.step is None
    drive = engine.timing_drive(bt)
    st = kernel_choice.make_step("batched", bt.X, bt.v, net.activation, bk)
    calls = []
    st.forward = (lambda f: lambda W: calls.append(1) or f(W))(st.forward)
    drive(st)
    drive(st)
    assert calls == [1, 1] and bt.step is None              # the candidate stepped, not the batch
    again = tl.train(data, net, method="self-distill", steps=30, log_every=10)
    np.testing.assert_array_equal(again.columns["loss"], ref.columns["loss"])
    X, v = bt.X, bt.v
    kernel_choice.choose(X, v, net.activation, bk)            # back to back: timed anew
    assert len(seen) == 2 and seen[1] is None
    assert len(list((tmp_path / "kernels").iterdir())) == 2


class _Spun:
    """A fake candidate slowed for its first ``slowed`` calls after another candidate ran, as
    the previous candidate's spinning BLAS threads slow the next one (see SETTLE_S)."""

    last = None

    def __init__(self, name, slowed):
        self.name, self.slowed = name, slowed

    def forward(self, W):
        import time
        if _Spun.last is not self:
            _Spun.last, self.since = self, 0
        self.since += 1
        time.sleep(2e-2 if self.since <= self.slowed else 2e-3)

    def descend(self, W, r):
        pass


@pytest.mark.parametrize("settle_s, settle_calls, measured_fast", [
    (10.0, 4, True),       # four untimed calls absorb a slowdown of three calls
    (10.0, 1, False),      # one untimed call does not
    (0.0, 4, False),       # the time limit stops the untimed calls after the first
])
def test_untimed_calls_absorb_what_the_previous_candidate_left_behind(
        monkeypatch, settle_s, settle_calls, measured_fast):
    fakes = {"a": _Spun("a", 3), "b": _Spun("b", 3)}
    monkeypatch.setattr(kernel_choice, "make_step", lambda name, *a: fakes[name])
    monkeypatch.setattr(kernel_choice, "SETTLE_S", settle_s)
    monkeypatch.setattr(kernel_choice, "SETTLE_CALLS", settle_calls)
    bk = tl.resolve_backend("numpy", "cpu", "float64")
    X, v = bk.asarray(np.zeros((1, 4, 2))), bk.asarray(np.ones(3))
    seconds = kernel_choice.time_candidates(X, v, tl.get_activation("tanh"), bk,
                                            names=("a", "b"), repeats=2, rounds=2)
    assert (max(seconds.values()) < 1e-2) is measured_fast


def test_machines_with_one_model_name_but_other_instruction_sets_do_not_share_a_choice():
    info = ("processor\t: 0\nmodel name\t: AMD EPYC\ncpu family\t: 25\nmodel\t\t: 1\n"
            "flags\t\t: fpu avx2{}\n")
    avx2 = kernel_choice.cpu_id(info.format(""))
    avx512 = kernel_choice.cpu_id(info.format(" avx512f"))
    assert avx2.startswith("AMD EPYC/25/1/") and avx2 != avx512
    both = info.format("") + info.format(" avx512f")
    assert kernel_choice.cpu_id(both) == avx2                     # the first processor's


@pytest.mark.parametrize("variable", ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"])
def test_kernel_timings_under_other_openblas_settings_are_not_reused(monkeypatch, variable):
    """OPENBLAS_CORETYPE=Haswell runs AVX2 GEMMs on an AVX-512 CPU (1.5× slower on a Zen 5
    EPYC): timings measured under one setting are not a measurement of the other."""
    monkeypatch.delenv(variable, raising=False)
    unset = kernel_choice.machine_id()
    monkeypatch.setenv(variable, "Haswell")
    assert kernel_choice.machine_id() != unset
    monkeypatch.setenv(variable, "SkylakeX")
    assert len({unset, kernel_choice.machine_id()}) == 2


def test_the_bench_names_the_cpu_the_blas_kernels_and_the_openblas_settings(monkeypatch):
    from theorem_lab.simulations.bench_step import environment
    monkeypatch.setenv("OPENBLAS_SOMETHING", "x")
    env = environment()
    assert env["OPENBLAS_SOMETHING"] == "x"
    if os.path.exists("/proc/cpuinfo"):
        assert ", family " in env["cpu"] and " model " in env["cpu"]
    assert all(" kernels (" in b for b in env.get("blas", []))


def test_the_kernel_choice_is_cached_on_disk_per_machine(tmp_path, monkeypatch):
    """A second process (here: the per-process cache emptied) reads the measured choice instead
    of timing again; another thread setting, 'off', or a damaged file time afresh."""
    bk = tl.resolve_backend("numpy", "cpu", "float64")
    X = bk.asarray(np.random.default_rng(0).standard_normal((2, 20, 5)))
    v, act = bk.asarray(tl.network.output_layer(16)), tl.get_activation("tanh")
    timed = []
    real = kernel_choice.time_candidates

    def counting(*a, **k):
        timed.append(1)
        return real(*a, **k)

    monkeypatch.setattr(kernel_choice, "time_candidates", counting)
    monkeypatch.setattr(kernel_choice, "_TIMED", {})
    monkeypatch.setenv("THEOREM_LAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    first = kernel_choice.choose(X, v, act, bk)
    (path,) = (tmp_path / "kernels").iterdir()
    kernel_choice._TIMED.clear()
    again = kernel_choice.choose(X, v, act, bk)
    assert len(timed) == 1 and again.seconds == first.seconds and again.chosen == first.chosen
    kernel_choice._TIMED.clear()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")                   # another machine setting
    kernel_choice.choose(X, v, act, bk)
    assert len(timed) == 2 and len(list((tmp_path / "kernels").iterdir())) == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    path.write_text("{not json")
    kernel_choice._TIMED.clear()
    kernel_choice.choose(X, v, act, bk)
    assert len(timed) == 3 and "seconds" in path.read_text()      # re-measured and rewritten
    monkeypatch.setenv("THEOREM_LAB_CACHE_DIR", "off")
    kernel_choice._TIMED.clear()
    kernel_choice.choose(X, v, act, bk)
    assert len(timed) == 4


def test_bench_step_shows_every_candidate_the_phi_pass_and_the_choice(capsys):
    import json

    from theorem_lab.cli import main
    assert main(["bench", "step", "--n", "30", "--d", "2", "--k", "8", "--repeats", "1",
                 "--backends", "numpy", "--dtypes", "float64", "--activation", "tanh",
                 "--batch", "3", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["engine"]
    threads = {"batched:threads"} if kernel_choice.default_threads() > 1 else set()
    threads |= {"batched:threads/torch", "batched:threads/exp"} if threads else set()
    numba = {"batched:fused/numba", "per-run:threads/numba", "batched:numba",
             "per-run:units/numba"} | (
        {"batched:threads/numba"} if threads else set()) if kernel_choice.numba_available() else set()
    assert set(row["candidates_s"]) == {"batched", "batched:fused", "per-run:torch",
                                        "per-run:threads", "batched:fused/torch",
                                        "per-run:threads/torch", "batched:fused/exp",
                                        "per-run:threads/exp", "per-run:units",
                                        "per-run:units/exp"} | threads | numba
    assert row["chosen"] in row["candidates_s"] and row["B"] == 3
    assert row["phi_pass_s"] > 0 and row["gemms_s"] > 0
    assert row["overhead"] == pytest.approx(row["chosen_s"] / (3 * (row["gemms_s"] + row["phi_pass_s"])))


def test_the_engine_table_lists_candidates_fastest_first_with_their_ratio_to_the_floor():
    from theorem_lab.simulations.bench_step import format_engine
    row = {"backend": "numpy", "dtype": "float64", "activation": "tanh", "B": 2,
           "gemms_s": 4e-3, "phi_pass_s": 1e-3, "candidates_s": {"a": 0.030, "b": 0.012, "c": 0.020},
           "chosen": "c", "fastest": "b", "overhead": 2.0, "jax_s": 0.010}
    lines = format_engine([row]).splitlines()
    assert lines[1] == ("numpy float64 tanh B=2: GEMMs 4 + φ pass 1 ms, floor 10 ms; "
                        "jax.jit 10 ms (0.50× the chosen's time)")
    assert [ln.split()[2] for ln in lines[2:5]] == ["b", "c", "a"]            # fastest first
    assert lines[2].split()[:2] == ["12.00", "1.20×"] and lines[2].endswith("<- fastest now")
    assert lines[3].endswith("<- chosen") and "delete $THEOREM_LAB_CACHE_DIR/kernels" in lines[5]
    assert lines[6] == "    chosen: c, overhead 2.00"
    del row["jax_s"]
    row["fastest"] = "c"
    lines = format_engine([row]).splitlines()
    assert lines[1].endswith("; (jax not installed)") and lines[3].endswith("<- chosen, fastest now")
    assert len(lines) == 6                                    # no re-measure hint


@pytest.mark.parametrize("B", [1, 3])
def test_the_jax_peer_takes_the_same_gd_step_as_ours(B):
    """The bench's JAX peer (one run jitted as it is, several through vmap) computes
    W − lr·∇ of the same loss as GradientStep."""
    pytest.importorskip("jax")
    from theorem_lab.simulations.bench_step import jax_step
    from theorem_lab.step import GradientStep
    rng = np.random.default_rng(0)
    X, v = rng.standard_normal((B, 30, 4)), rng.standard_normal(16) / 4
    step, (W, Xj, y) = jax_step(X, v, "tanh", "float64", lr=0.1)
    ours = []
    for b in range(B):
        Wb = np.asarray(W if B == 1 else W[b])
        g = GradientStep(X[b], v, "tanh", fast=False)
        ours.append(Wb - 0.1 * g.gradient(g.forward(Wb) - np.sign(X[b, :, 0])))
    np.testing.assert_allclose(np.asarray(step(W, Xj, y)).reshape(B, 16, 4), np.stack(ours),
                               rtol=1e-12, atol=1e-14)


def test_torch_batch_agrees_with_numpy_runs_alone():
    """The same batched code path on torch tensors (what runs on CUDA), float64."""
    problems = [_problem(s) for s in range(3)]
    batch = train_many([p[0] for p in problems], [p[1] for p in problems], steps=80,
                       log_every=10, backend="torch", schedule="adaptive:lam=0.9")
    for b, (data, net) in enumerate(problems):
        alone = tl.train(data, net, steps=80, log_every=10, schedule="adaptive:lam=0.9")
        _assert_same(batch[b], alone, rtol=1e-9)
        assert type(batch[b].W_final).__module__.startswith("torch")


def test_train_many_rejects_what_it_cannot_batch():
    (d0, n0), (d1, n1) = _problem(0), _problem(1)
    with pytest.raises(tl.ParameterError, match="'track_every' parameter of train_many"):
        train_many([d0, d1], [n0, n1], steps=5, track_every=2)
    with pytest.raises(tl.ParameterError, match="'nets' parameter of train_many"):
        train_many([d0, d1], [n0, _problem(1, "erf")[1]], steps=5)
    with pytest.raises(tl.ParameterError, match="one shape"):
        train_many([d0, _problem(1, n=36)[0]], [n0, n1], steps=5)


def test_bench_many_times_the_engine_one_by_one_and_the_peer(capsys):
    import json

    from theorem_lab.cli import main
    assert main(["bench", "many", "--runs", "3", "--n", "12", "--dim", "3", "--width", "8",
                 "--clusters", "2", "--steps", "6", "--n-test", "4", "--rounds", "1",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert {"engine", "engine-quiet", "one-by-one"} <= set(r["seconds"])
    for name, s in r["seconds"].items():
        assert s > 0 and r["us_per_run_step"][name] == pytest.approx(1e6 * s / (3 * 6))
    assert r["kernel"] in kernel_choice.CANDIDATES
    assert (r["backend"], r["device"], r["dtype"]) == ("numpy", "cpu", "float64")


@pytest.mark.parametrize("activation", ["tanh", "softplus", "erf", "relu"])
def test_the_phi_pass_floor_also_times_the_pass_split_over_the_engines_threads(
        activation, monkeypatch):
    """The floor's φ pass is the fastest way to run it here: numpy's and the compiled pass are
    also timed split by rows over the engine's threads (two threads: two halves), as the
    engine's threaded kernels run it."""
    from theorem_lab import step
    from theorem_lab.simulations import bench_step
    calls = []
    real = step.parallel

    def spy(parts, work, hold_blas=True):
        calls.append([hi - lo for lo, hi in parts])
        return real(parts, work, hold_blas)

    monkeypatch.setattr(step, "parallel", spy)
    monkeypatch.setattr(bench_step, "default_threads", lambda: 2)
    assert bench_step.phi_pass_s(40, 16, activation, "numpy", "float64", repeats=2) > 0
    split_blocks = (activation in ("tanh", "relu")) + (activation in step.COMPILED
                                                       and step.numba_available())
    assert calls == [[20, 20]] * 2 * split_blocks       # two repeats of each split candidate


@pytest.mark.parametrize("activation", ["tanh", "softplus", "erf", "relu"])
def test_the_device_phi_pass_runs_every_activation(activation):
    """bench step's φ pass on CUDA, here on torch's CPU tensors (the same lines)."""
    from theorem_lab.simulations.bench_step import device_phi_pass_s, synchronizer
    assert device_phi_pass_s(64, 32, activation, "torch", "float32", 2, device="cpu") > 0
    assert synchronizer("torch", "cpu")() is None


def test_bench_many_on_another_backend_and_dtype(capsys):
    """--backend torch --dtype float32 (what --device cuda runs, here on the CPU): the engine's
    torch kernels, and no JAX peer, which stands beside the numpy CPU engine only."""
    import json

    from theorem_lab.cli import main
    assert main(["bench", "many", "--runs", "3", "--n", "12", "--dim", "3", "--width", "8",
                 "--clusters", "2", "--steps", "6", "--n-test", "4", "--rounds", "1",
                 "--backend", "torch", "--dtype", "float32", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["backend"], r["device"], r["dtype"]) == ("torch", "cpu", "float32")
    assert r["kernel"] in kernel_choice.candidates(tl.resolve_backend("torch"), 3, 8 * 12)
    assert set(r["seconds"]) == {"engine", "engine-quiet", "one-by-one"}
    assert r["graph"] is None                                    # CUDA graphs: CUDA only


def test_cuda_float32_allows_tf32_and_records_it(monkeypatch):
    """TF32 is allowed for torch float32 on CUDA (off with THEOREM_LAB_TF32=off) and recorded;
    on the CPU and in float64 nothing is set and the record says None."""
    import torch

    from theorem_lab.backend import Backend, matmul_precision
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        assert matmul_precision(Backend("torch", "cuda", "float32")) == "tf32"
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        monkeypatch.setenv("THEOREM_LAB_TF32", "off")
        assert matmul_precision(Backend("torch", "cuda", "float32")) == "ieee"
        assert not torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before
    assert matmul_precision(Backend("torch", "cuda", "float64")) is None
    assert matmul_precision(Backend("torch", "cpu", "float32")) is None
    data, net = _problem(0)
    assert tl.train(data, net, steps=3, backend="torch", dtype="float32").info.matmul is None


@pytest.mark.parametrize("lr", [2.0, "auto"])
def test_the_loss_peak_and_rise_are_seen_at_every_step_not_only_logged_ones(lr):
    """lr = 2: the loss jumps above 10× its start at step 1 and falls back before step 10."""
    data = tl.make_clusterable(n=100, K=4, d=8, seed=0, n_test=10)
    net = tl.TwoLayerNet.init(8, 64, seed=0)
    sparse = tl.train(data, net, "gd", steps=60, lr=lr, log_every=10)
    every = tl.train(data, net, "gd", steps=60, lr=lr, log_every=1)
    loss = np.asarray(every.loss)
    assert sparse.loss_start == every.loss_start == loss[0]
    assert sparse.loss_peak == every.loss_peak == {"step": int(np.argmax(loss)), "loss": loss.max()}
    above = np.nonzero(loss > engine.UNSTABLE_FACTOR * loss[0])[0]
    if lr == "auto":
        assert above.size == 0 and sparse.loss_rise is None and sparse.loss_peak["step"] == 0
    else:
        assert above[0] == 1 and sparse.loss_rise == every.loss_rise == {"step": 1, "loss": loss[1]}
        assert np.max(np.asarray(sparse.loss)[1:]) < engine.UNSTABLE_FACTOR * loss[0]   # unlogged


def test_an_interrupt_in_step_0_returns_an_interrupted_run(monkeypatch):
    """Ctrl-C before step 0's loss exists: no start, peak or rise, and no error."""
    from theorem_lab import engine as engine_module
    real = engine_module.advance

    def interrupted(bt, s, t, *args, **kwargs):
        if t == 0 and s.limit is None and kwargs.get("step") is None:   # not the kernel timing
            raise KeyboardInterrupt
        return real(bt, s, t, *args, **kwargs)
    monkeypatch.setattr(engine_module, "advance", interrupted)
    tr = tl.train(*_problem(0), steps=20, log_every=5)
    assert tr.status == "interrupted" and tr.steps_done == 0
    assert np.isnan(tr.loss_start) and tr.loss_peak is None and tr.loss_rise is None


def test_the_stored_kernel_timings_are_keyed_by_the_kernels_code(tmp_path, monkeypatch):
    """Timings measured on other kernel code are not read back: the kernels changed, so they
    are timed anew (a kernel made faster lost to its own old timing)."""
    monkeypatch.setenv("THEOREM_LAB_CACHE_DIR", str(tmp_path))
    key, names = ("numpy", "cpu", "float64", "tanh", (1, 5, 2, 4)), ("batched",)
    now = kernel_choice._cache_file(key, names)
    assert kernel_choice._cache_file(key, names) == now                  # stable
    import hashlib
    unread = hashlib.sha256("".join(kernel_choice.KERNEL_MODULES).encode()).hexdigest()[:16]
    assert kernel_choice.code_digest.__wrapped__() not in ("", unread)    # the sources were read
    monkeypatch.setattr(kernel_choice, "code_digest", lambda: "other kernels")
    assert kernel_choice._cache_file(key, names) != now


def test_an_interrupted_runs_loss_peak_stays_within_its_steps(monkeypatch):
    """The loop may run on to the end of a chunk after the last step it reports: the peak (like
    the rise) is reported only where it lies within steps_done."""
    def stop(t):
        raise KeyboardInterrupt
    data, net = _problem(0)
    tr = tl.train(data, net, "gd", steps=100, lr=5.0, log_every=10, progress=stop)
    assert tr.status == "interrupted" and tr.steps_done == 0
    assert tr.loss_peak in (None, {"step": 0, "loss": tr.loss_start}) and tr.loss_rise is None
