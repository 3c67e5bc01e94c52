"""The engine's plain steps through step_graph.StepGraph (recorded as a CUDA graph on a GPU).

On the CPU the recording itself cannot run, so these tests drive the same path without it
(``capture=False``): the state adopted into static buffers, the step index as a (1,) device
array, the new values written back in place. Every torch op of those steps is checked for a
host synchronisation or a tensor made from host data, which a CUDA graph cannot record."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import theorem_lab as tl  # noqa: E402
from theorem_lab import engine, step_graph  # noqa: E402
from theorem_lab.train import train_many  # noqa: E402

# aten ops a CUDA graph cannot record: reading a value on the host, or copying host data in
UNRECORDABLE = {"aten._local_scalar_dense", "aten.item", "aten.is_nonzero", "aten.nonzero",
                "aten.equal", "aten.lift_fresh", "aten.lift_fresh_copy"}


class _Ops(TorchDispatchMode):
    """Every aten op dispatched inside the block, by name ('aten.where', ...)."""

    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(str(func.overloadpacket))
        return func(*args, **(kwargs or {}))


class _Uncaptured(step_graph.StepGraph):
    """The StepGraph path without the recording, counting the steps and ops it runs."""

    steps = 0
    ops: list = []

    def __init__(self, body, xp, device, capture=True):
        super().__init__(body, xp, device, capture=False)

    def _run(self):
        type(self).steps += 1
        with _Ops() as seen:
            super()._run()
        type(self).ops.extend(seen.names)


def _problems(activation="relu"):
    out = []
    for seed in range(3):
        data = tl.make_clusterable(n=30, K=3, d=6, eps=0.2, rho=0.3, seed=seed, n_test=12)
        out.append((data, tl.TwoLayerNet.init(d=6, k=64, activation=activation, seed=seed + 1)))
    return out


KW = dict(method=["early-stop", "gd", "self-distill"], lr=["auto", 50.0, "auto"],
          schedule=["linear:end=60", "linear", "adaptive:lam=0.8"],
          label_fn=["clipped", "sign", "identity"], steps=200, log_every=25, backend="torch")


def _both(monkeypatch, activation="relu"):
    """(device loop, device loop with plain steps through _Uncaptured), torch on the CPU."""
    problems = _problems(activation)
    monkeypatch.setattr(engine, "on_host", lambda bk: False)
    eager = train_many([p[0] for p in problems], [p[1] for p in problems], **KW)
    monkeypatch.setattr(step_graph, "wanted", lambda bk: True)
    monkeypatch.setattr(step_graph, "StepGraph", _Uncaptured)
    _Uncaptured.steps, _Uncaptured.ops = 0, []
    graphed = train_many([p[0] for p in problems], [p[1] for p in problems], **KW)
    return eager, graphed


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_plain_steps_through_static_buffers_equal_the_eager_loop(monkeypatch, activation):
    eager, graphed = _both(monkeypatch, activation)
    assert _Uncaptured.steps > 150        # most of the 200 steps log, observe and stop nothing
    if activation == "relu":              # tanh's f is bounded: η = 50 cannot make it explode
        assert [t.status for t in graphed] == ["finished", "diverged", "finished"]
    assert graphed[0].early_stop is not None
    for a, b in zip(eager, graphed):
        for name in ("T1", "T1_stable", "status", "steps_done", "diverged_step", "loss_start",
                     "loss_peak", "loss_rise"):
            assert getattr(a, name) == getattr(b, name), name
        for c in a.columns:
            np.testing.assert_array_equal(a.columns[c], b.columns[c], err_msg=c)
        np.testing.assert_array_equal(a.W_final, b.W_final)
        for snap in ("oracle", "early_stop"):
            x, y = getattr(a, snap), getattr(b, snap)
            assert (x is None) == (y is None)
            if x is not None:
                assert x["step"] == y["step"]
                np.testing.assert_array_equal(x["l2_clean"], y["l2_clean"])
    assert {t.info.graph for t in graphed} == {"eager"}   # what the run records


def test_plain_steps_make_no_host_synchronisation(monkeypatch):
    _both(monkeypatch)
    assert "aten.mm" in _Uncaptured.ops or "aten.bmm" in _Uncaptured.ops   # the mode saw them
    assert not UNRECORDABLE & set(_Uncaptured.ops)


def test_the_op_check_sees_a_host_read():
    """The check above can fail: a value read on the host and a tensor from host data show."""
    x = torch.ones(3)
    with _Ops() as seen:
        bool(x.any())
        torch.as_tensor([1.0, 2.0])
    assert {"aten._local_scalar_dense", "aten.lift_fresh"} <= set(seen.names)


def test_no_graph_off_cuda_and_the_switch(monkeypatch):
    cpu = tl.resolve_backend("torch", "cpu", "float64")
    assert not step_graph.wanted(cpu) and step_graph.setting(cpu) is None

    class _Cuda:
        name, device = "torch", "cuda"

    assert step_graph.wanted(_Cuda) and step_graph.setting(_Cuda) == "off"   # if no StepGraph
    monkeypatch.setenv(step_graph.GRAPH_ENV, "off")
    assert not step_graph.wanted(_Cuda) and step_graph.setting(_Cuda) == "off"
    data, net = _problems()[0]
    assert tl.train(data, net, steps=5, backend="torch").info.graph is None


def test_a_run_with_no_plain_step_records_its_graph_unused(monkeypatch):
    monkeypatch.setattr(engine, "on_host", lambda bk: False)
    monkeypatch.setattr(step_graph, "wanted", lambda bk: True)
    monkeypatch.setattr(step_graph, "StepGraph", _Uncaptured)
    _Uncaptured.steps = 0
    data, net = _problems()[0]
    assert tl.train(data, net, steps=6, log_every=1, backend="torch").info.graph == "unused"
    assert _Uncaptured.steps == 0
