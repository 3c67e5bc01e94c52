"""The vector width numba compiles compiled.py's kernels for, chosen by measurement per machine.

LLVM tunes several AVX-512 CPUs to prefer 256-bit vectors (its ``prefer-256-bit`` tuning, kept
from Skylake-X, whose clock dropped under 512-bit code), so numba, which asks LLVM for the host
CPU, vectorises the compiled tanh with ymm registers even where zmm are faster. On a 2-core Xeon
(family 6 model 167) compiled.py's tanh pass took 1.34 ns per element at 256 bits and 1.03 at 512,
and ``bench many``'s engine-quiet went from 12.2-12.5 to 10.1-11.8 µs per run-step (measured). On
other CPUs (AMD's Zen 4 executes 512-bit vectors as two halves) it may not pay, so it is measured:
once per machine, two short subprocesses compile and time the tanh pass at each width, the
faster (by at least ``MARGIN``) is kept on disk beside the kernel timings
(``$THEOREM_LAB_CACHE_DIR/kernels``, keyed by ``machine``: CPU and numba), and ``apply`` sets
numba's ``config.CPU_FEATURES`` before numba compiles anything in this process.

numba's CPU target is process-wide: a width set here applies to any numba code compiled later in
the process. It is left alone where the user chose numba's target (``NUMBA_CPU_NAME`` or
``NUMBA_CPU_FEATURES`` set), where the CPU has no AVX-512F, and where the cache is 'off' (the
measurement would then run in every process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from .output import cache_dir, write_cache_json

MARGIN = 0.05           # 512 bits is chosen when its pass is at least 5 % faster
PROBE_S = 0.0           # seconds this process spent measuring (once per machine: not a start-up
                        # cost of numba that later processes pay; kernel_choice._start)
PROBE_ENV = "THEOREM_LAB_SIMD_PROBE"    # set in the measuring subprocesses: they apply nothing
_PROBE = """
import time
import numpy as np
from theorem_lab import compiled
rng = np.random.default_rng(0)
Z0 = rng.standard_normal((32, 4096)) * 0.8
Z, Phi = Z0.copy(), np.empty_like(Z0)
compiled.phi_dphi_pass(Z, Phi, "tanh")
best = float("inf")
for _ in range(200):
    Z[...] = Z0
    t0 = time.perf_counter()
    compiled.phi_dphi_pass(Z, Phi, "tanh")
    best = min(best, time.perf_counter() - t0)
print(best / Z0.size)
"""


def wide_features(host_features: str) -> "str | None":
    """LLVM's host feature string with the 256-bit preference lifted, or None where the CPU has
    no AVX-512F (nothing to widen)."""
    if "+avx512f" not in host_features.split(","):
        return None
    return host_features + ",-prefer-256-bit"


def decide(ns_default: float, ns_wide: float) -> str:
    """'512' where the wide pass is at least ``MARGIN`` faster than numba's default, else
    'default'."""
    return "512" if ns_wide <= (1.0 - MARGIN) * ns_default else "default"


def probe(features: "str | None") -> float:
    """Seconds per element of compiled.py's tanh pass compiled in a fresh process for
    ``features`` (None: numba's default for the host)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_FEATURES", "NUMBA_CPU_NAME")}
    env[PROBE_ENV] = "1"
    if features is not None:
        env["NUMBA_CPU_FEATURES"] = features
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else
                           f"exit code {done.returncode}")
    return float(done.stdout.split()[-1])


def machine() -> str:
    """What a width measurement is valid for: the CPU (``kernel_choice.cpu_id``: model and a
    digest of its feature flags) and the numba and llvmlite versions. Not the thread settings
    (the probe runs on one thread; the sweep sets OMP_NUM_THREADS in its workers)."""
    from .kernel_choice import this_cpu, versions
    return "|".join(str(x) for x in (this_cpu(), *versions(("numba", "llvmlite"))))


def _cache_path():
    """(file, machine key), the file named by a digest of the key; (None, None) with the cache off."""
    import hashlib

    where = cache_dir("kernels")
    if where is None:
        return None, None
    key = machine()
    return where / f"simd_width-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json", key


def _stored() -> "dict | None":
    path, key = _cache_path()
    if path is None:
        return None
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(stored, dict) and stored.get("machine") == key \
            and stored.get("width") in ("512", "default"):
        return stored
    return None


def stored_width() -> "str | None":
    """The width measured for this machine, without measuring or importing numba (None: not
    measured yet); part of the kernel timings' cache key (kernel_choice._cache_file)."""
    stored = _stored()
    return stored["width"] if stored else None


def choice(host_features: str) -> dict:
    """The stored measurement for this machine, or a new one (stored): {'width': '512' or
    'default', 'ns': {width: ns per element}}; {'width': 'default'} where nothing is measured
    (no AVX-512F, cache off, a probe failed)."""
    wide = wide_features(host_features)
    path, key = _cache_path()
    if wide is None or path is None:
        return {"width": "default"}
    stored = _stored()
    if stored:
        return stored
    global PROBE_S
    started = time.perf_counter()
    try:
        ns = {"default": 1e9 * probe(None), "512": 1e9 * probe(wide)}
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired):
        return {"width": "default"}
    finally:
        PROBE_S += time.perf_counter() - started
    out = {"machine": key, "width": decide(ns["default"], ns["512"]), "ns": ns}
    write_cache_json(path, out)
    return out


def apply(numba_config, host_features: str) -> str:
    """Set numba's target features for the measured width (call before numba compiles or loads
    anything); the width in effect: '512', 'default', or 'user' (the user chose numba's
    target, or this is a measuring subprocess)."""
    if os.environ.get(PROBE_ENV) or os.environ.get("NUMBA_CPU_FEATURES") \
            or os.environ.get("NUMBA_CPU_NAME"):
        return "user"
    width = choice(host_features)["width"]
    if width == "512":
        numba_config.CPU_FEATURES = wide_features(host_features)
    return width
