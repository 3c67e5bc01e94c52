"""train(): Algorithm 1 and its baselines, end to end on small instances."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theorem_lab as tl
from tests.conftest import examples


def _problem(n=40, K=4, d=8, k=128, eps=0.2, rho=0.3, seed=0, activation="tanh", n_test=40):
    data = tl.make_clusterable(n=n, K=K, d=d, eps=eps, rho=rho, seed=seed, n_test=n_test)
    return data, tl.TwoLayerNet.init(d=d, k=k, activation=activation, seed=seed + 1)


def test_self_distillation_recovers_clean_labels_while_gd_memorises():
    """The paper's claim on a small instance: Algorithm 1 ends near ỹ; GD fits the noise."""
    data, net = _problem(eps=0.05)
    sd = tl.train(data, net, method="self-distill", steps=3000, log_every=50, schedule="linear:end=750")
    gd = tl.train(data, net, method="gd", steps=3000, log_every=50)
    assert sd.status == gd.status == "finished"
    assert sd.final["l2_clean"] <= 0.1 * gd.final["l2_clean"]
    assert sd.final["acc_clean"] == 1.0
    # memorisation: GD's distance to the noisy labels keeps decreasing after its early phase
    noisy = gd.l2_noisy[gd.step >= 100]
    assert np.all(np.diff(noisy) < 0)
    assert gd.final["l2_noisy"] < gd.l2_noisy[0]


@settings(max_examples=examples(8))
@given(seed=st.integers(0, 10_000), activation=st.sampled_from(["tanh", "softplus", "erf"]))
def test_loss_decreases_monotonically_for_lr_at_most_one_over_lambda_max(seed, activation):
    """Plain GD with η = 1/λ_max(J₀J₀ᵀ) (lr='auto') and a quarter of it: the loss never rises."""
    data, net = _problem(seed=seed, activation=activation, k=256, n_test=0)
    for scale in (1.0, 0.25):
        lr = 1.0 / tl.lambda_max(net.W, data.X, net.activation) * scale
        tr = tl.train(data, net, method="gd", steps=200, lr=lr, log_every=1)
        assert np.all(np.diff(tr.loss) <= 1e-12 * tr.loss[0])


def test_lr_rules():
    data, net = _problem(n_test=0)
    auto = tl.train(data, net, method="gd", steps=1)
    theorem = tl.train(data, net, method="gd", steps=1, lr="theorem")
    fixed = tl.train(data, net, method="gd", steps=1, lr=0.01)
    assert auto.lr == pytest.approx(1 / tl.lambda_max(net.W, data.X, "tanh"), rel=1e-6)
    # the power iteration agrees with the dense eigenvalue of J₀J₀ᵀ
    G = tl.jacobian_gram(net.W, data.X, "tanh")
    assert auto.lambda_max_J0 == pytest.approx(np.linalg.eigvalsh(G)[-1], rel=1e-6)
    assert theorem.lr == pytest.approx(1 / (2 * 1.0 ** 2 * data.n))
    assert fixed.lr == 0.01 and fixed.lr_rule == "fixed"


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-9), ("float32", 2e-3)])
def test_torch_backend_agrees_with_numpy_reference(dtype, rtol):
    data, net = _problem()
    ref = tl.train(data, net, steps=300, log_every=30)
    tor = tl.train(data, net, steps=300, log_every=30, backend="torch", dtype=dtype)
    for col in ("l2_clean", "l2_noisy", "l2_target", "margin", "dist_init", "path_length", "test_l2"):
        np.testing.assert_allclose(getattr(tor, col), getattr(ref, col), rtol=rtol, atol=rtol,
                                   err_msg=col)
    assert tor.T1 == ref.T1 and tor.T2 == ref.T2


def test_weights_from_any_namespace(xp_name):
    from tests.conftest import as_namespace
    data, net = _problem(n_test=0)
    ref = tl.train(data, net, steps=20, log_every=10)
    other = tl.train(data, net.with_weights(as_namespace(net.W, xp_name)), steps=20, log_every=10)
    np.testing.assert_allclose(other.l2_clean, ref.l2_clean, rtol=1e-12)


def test_divergence_is_detected_and_the_trajectory_kept():
    """tanh outputs are bounded by ‖v‖₁ = √k; an unbounded ReLU net with a huge step explodes."""
    data, net = _problem(activation="relu")
    tr = tl.train(data, net, method="gd", steps=500, lr=50.0, log_every=100)
    assert tr.status == "diverged"
    assert 0 < tr.diverged_step < 500
    assert tr.step[-1] == tr.diverged_step and len(tr) >= 2
    assert not (math.isfinite(tr.loss[-1]) and tr.loss[-1] < 1e6 * max(tr.loss[0], 1))


def test_interrupt_keeps_the_trajectory():
    data, net = _problem()

    def stop_at_37(t):
        if t == 37:
            raise KeyboardInterrupt

    tr = tl.train(data, net, steps=500, log_every=10, progress=stop_at_37)
    assert tr.status == "interrupted" and tr.steps_done == 36
    assert list(tr.step) == [0, 10, 20, 30]


def test_per_run_times_and_oracle():
    data, net = _problem()
    tr = tl.train(data, net, steps=600, log_every=1, schedule="linear:end=300")
    ok = tr.acc_clean == 1.0
    assert tr.T1 == int(tr.step[np.argmax(ok)])              # first step with sgn f = ỹ everywhere
    assert np.all(ok[tr.step >= tr.T1_stable])
    assert tr.T2 == math.ceil(300 * (1 - 1 / (24 * math.sqrt(40))))   # α_t < 1/(24√n)
    assert tr.oracle["l2_clean"] == pytest.approx(tr.l2_clean.min())
    assert tr.oracle["step"] == int(tr.step[np.argmin(tr.l2_clean)])
    es = tr.early_stop
    assert es["l2_clean"] == pytest.approx(tr.l2_clean[es["step"]])
    # P_{S₊} r is a projection of r
    assert np.all(tr.l2_target_proj <= tr.l2_target + 1e-12)
    assert tr.path_length[-1] >= tr.dist_init[-1] - 1e-12


def test_baselines_ignore_the_schedule():
    data, net = _problem()
    gd = tl.train(data, net, method="gd", steps=50, schedule="exponential:tau=5")
    es = tl.train(data, net, method="early-stop", steps=50)
    assert np.all(gd.alpha == 1.0) and np.all(es.alpha == 1.0) and gd.T2 is None
    np.testing.assert_array_equal(gd.l2_clean, es.l2_clean)


def test_adaptive_schedule_follows_training_accuracy():
    data, net = _problem()
    tr = tl.train(data, net, steps=100, log_every=1, schedule="adaptive:lam=0.5")
    np.testing.assert_allclose(tr.alpha, np.clip(1 - 0.5 * tr.acc_noisy, 0, 1))


@pytest.mark.parametrize("kwargs, name", [
    (dict(method="sgd"), "method"), (dict(steps=0), "steps"), (dict(lr=-1.0), "lr"),
    (dict(lr="fast"), "lr"), (dict(schedule="cosine"), "schedule"),
    (dict(schedule="linear:slope=2"), "schedule"), (dict(schedule="constant:value=1.5"), "schedule.value"),
    (dict(schedule="linear:start=50,end=10"), "schedule.end"), (dict(label_fn="softmax"), "label_fn"),
    (dict(backend="jax"), "backend"), (dict(dtype="float16"), "dtype"), (dict(device="tpu"), "device"),
    (dict(log_every=0), "log_every"), (dict(rho_h=0.5), "rho_h"), (dict(track_every=0), "track_every"),
])
def test_train_rejects_bad_parameters(kwargs, name):
    data, net = _problem(n_test=0)
    with pytest.raises(tl.ParameterError, match=f"'{name}' parameter"):
        tl.train(data, net, **{"steps": 5, **kwargs})
