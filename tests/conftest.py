"""Shared fixtures and the hypothesis profiles.

Profiles (SciPy's conftest.py does the same): ``ci`` (default: derandomized, bounded) and
``thorough`` (long hunts). Choose with HYPOTHESIS_PROFILE=thorough.
"""

import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)
THOROUGH_FACTOR = 20   # tests that cap their examples get this many times more under `thorough`


def examples(n: int) -> int:
    """A per-test example cap that the `thorough` profile scales up (an explicit
    ``@settings(max_examples=...)`` would otherwise override the profile)."""
    return n * THOROUGH_FACTOR if PROFILE == "thorough" else n


def _namespaces():
    out = [pytest.param("numpy", id="numpy")]
    out.append(pytest.param("torch", id="torch"))
    try:
        import cupy  # noqa: F401
        cupy_ok = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        cupy_ok = False
    out.append(pytest.param("cupy", id="cupy", marks=pytest.mark.skipif(not cupy_ok, reason="no CuPy GPU")))
    return out


@pytest.fixture(params=_namespaces())
def xp_name(request):
    """Backend name for array-namespace tests: numpy always, torch (CPU), CuPy when a GPU exists."""
    if request.param == "torch":
        pytest.importorskip("torch")
    return request.param


def as_namespace(a, name):
    """Convert a numpy array into the namespace ``name`` (float64)."""
    a = np.asarray(a, dtype=np.float64)
    if name == "numpy":
        return a
    if name == "torch":
        import torch
        return torch.as_tensor(a)
    import cupy
    return cupy.asarray(a)


def pytest_collection_modifyitems(config, items):
    """`slow` tests (long hunts, large sizes) run only with THEOREM_LAB_SLOW=1; `gpu` tests only with CUDA."""
    run_slow = os.environ.get("THEOREM_LAB_SLOW") == "1"
    try:
        import torch
        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: set THEOREM_LAB_SLOW=1"))
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA device"))


# Cached vacuity reports (simulations/sweep.py::hypotheses) go to a per-session folder, not ~/.cache.
os.environ.setdefault("THEOREM_LAB_CACHE_DIR", tempfile.mkdtemp(prefix="theorem-lab-cache-"))
