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
def test_cuda_backends_agree_with_numpy(backend, dtype, rtol):
    if backend == "cupy":
        pytest.importorskip("cupy")
    data, net = _problem()
    ref = tl.train(data, net, steps=300, log_every=30)
    gpu = tl.train(data, net, steps=300, log_every=30, backend=backend, device="cuda", dtype=dtype)
    for col in ("l2_clean", "l2_noisy", "margin", "dist_init", "test_l2"):
        np.testing.assert_allclose(getattr(gpu, col), getattr(ref, col), rtol=rtol, atol=rtol, err_msg=col)
    assert gpu.T1 == ref.T1


def test_auto_backend_picks_the_gpu():
    assert tl.resolve_backend("auto", "auto").device == "cuda"
