"""The batched gradient step, with its kernels chosen by measurement on the machine at hand.

A batched step for B runs of one shape computes, for W (B, k, d) and the runs' X (B, n, d),

    forward(W)   f = φ(X Wᵀ) v (B, n), keeping φ'(X Wᵀ) (B, n, k)
    gradient(r)  ∇_W = diag(v) φ'ᵀ (r ⊙ X) (B, k, d)      (GEMM 2 as (r ⊙ X)ᵀ φ', step.py)
    descend(W, r)  (W − ∇_W, Σ∇² per run): the update the engine applies (pass r scaled by η)

Candidates (all agree with the array-API reference to rounding; tests/core/test_engine.py):

* ``batched``        one batched matmul per GEMM and the activation's ``phi_dphi`` on the whole
                     (B, n, k) block: few Python calls per step, so it wins for many small runs;
* ``batched:fused``  numpy (tanh, softplus, relu): the same with step.py's in-place epilogue on
                     one (B, n, k) buffer reused every step; CuPy: one ``ElementwiseKernel``
                     computing φ and φ' in a single pass;
* ``batched:threads``  numpy, B > 1 and more than one CPU: ``batched:fused`` with the runs split
                     among threads;
* ``per-run:torch``  ``step.GradientStep`` per run with torch kernels (on numpy memory for numpy);
* ``per-run:threads``  ``GradientStep`` per run, numpy ufuncs in cache blocks on a thread pool;
* ``…/torch``        numpy arrays, the candidate before the slash with its elementwise epilogue
                     computed by torch's kernels on the same memory (``step.torch_epilogue``):
                     numpy's float64 tanh is vectorised for AVX-512 only, so without it torch's
                     is 2.3× faster (measured). Timed only where the work could repay importing
                     torch (``worth_importing``), and charged that import when picked (``pick``);
* ``…/exp``          numpy, tanh: the candidate before the slash with tanh from numpy's exp
                     (``step._np_tanh_exp``): no torch import, and faster than numpy's tanh
                     where that has no SIMD loop (8.7-13.7 ns per element for the epilogue
                     against 21-24 on the AVX2 EPYC; torch's tanh ≈ 6.6, measured);
* ``…/numba``        numpy, tanh, numba installed (``pip install theorem-lab[fast]``): the
                     candidate before the slash with tanh compiled in one vectorised pass
                     (compiled.py: 3.4 ns per element there). Timed only where the work
                     could repay numba's start-up (import and loading the cached kernel, ≈ 1.1
                     s, measured), and charged it when picked, as torch's import;
* ``batched:numba``  numpy, tanh, numba, small d·k (``COMPILED_DK``): the whole step compiled
                     (compiled.forward_runs / descend_runs: both GEMMs as loops over rows, the
                     tanh pass on each row of Z while in cache), runs split among threads.

Which is fastest depends on the CPU (STYLE.md, "Performance claims": numpy's tanh is 2× faster
than torch's on one machine and slower on another), on B and on n·k, so ``batched_step`` times
each candidate once per (backend, device, dtype, activation, shape class) and caches the timings
(and torch's and numba's start-up times) for the process and, on the CPU, on disk in
``$THEOREM_LAB_CACHE_DIR/kernels`` (default ~/.cache/theorem-lab; 'off' disables it), keyed by
the machine (``machine_id``: CPU model and feature flags, usable CPUs, thread setting, library
versions), so later processes and sweep workers skip the timing; ``pick`` then chooses for the
run at hand. Delete the folder to re-measure. ``THEOREM_LAB_KERNEL`` forces one candidate (tests,
reproductions).
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .activations import Activation
from .backend import Backend
from .errors import check_choice
from .step import (COMPILED, NUMBA_FAILED, GradientStep, default_threads, numba_available,
                   numpy_epilogue, parallel, split, torch_epilogue)

CANDIDATES = ("batched", "batched:fused", "batched:threads", "per-run:torch", "per-run:threads",
              "batched:fused/torch", "batched:threads/torch", "per-run:threads/torch",
              "batched:fused/exp", "batched:threads/exp", "per-run:threads/exp",
              "batched:fused/numba", "batched:threads/numba", "per-run:threads/numba",
              "batched:numba")
COMPILED_DK = 8192          # d·k up to which ``batched:numba`` is timed: its (d, k) gradient and
                            # Wᵀ (64 KiB each in float64) stay in L2
WORTH = {"torch": 5e8,      # element-steps (steps·B·n·k) below which a library's candidates are
         "numba": 2.5e8}    # not timed. On a 2-core AVX2 EPYC, where numpy's float64 tanh is
                            # scalar code: torch's saved ≤ 3.5 ns per element-step (B=1 n=1000
                            # k=4096 and B=32 n=40 k=128) against an import of 2-4 s, ≥ 6e8 to
                            # repay; numba's saved 3.5-5.6 ns (against /torch and /exp at those
                            # shapes) against a start-up of 1.0-1.1 s, ≥ 2e8 (all measured)
IMPORT_S = {"torch": 2.0, "numba": 1.2}   # start-up assumed where no measurement is cached
TIMED = "forward+descend, warm"   # what a timing measures (part of the disk cache's key)
TIMING_ROUNDS = 2           # alternating rounds over the candidates (the minimum counts) of
TIMING_REPEATS = 2          # consecutive timed calls per candidate, after an untimed one
PRUNE = 2.0                 # after round 1, candidates slower than this × the fastest drop out
_TIMED: dict = {}           # (key, candidate names) -> (seconds per candidate, torch import s)


@dataclass(frozen=True)
class Choice:
    """The measured candidates of one key: seconds per step (min over rounds) and the pick."""

    key: tuple
    seconds: dict = field(default_factory=dict)
    chosen: str = "batched"
    forced: bool = False


def _t(xp, a):
    return xp.permute_dims(a, (0, 2, 1))


def sumsq(xp, a):
    """Σ a² over the last axis. numpy: ``einsum``, not BLAS (``vecdot`` calls OpenBLAS, whose
    threads then spin for ~0.1 s and take the cores from the threaded step kernels: the
    headline's step went from 36 to 57 ms, measured); elsewhere the namespace's ``vecdot``."""
    if isinstance(a, np.ndarray):
        return np.einsum("...i,...i->...", a, a)
    return xp.vecdot(a, a)


def sumsq_runs(xp, a):
    """Σ a_b² over every axis but the first, per run (B,)."""
    return sumsq(xp, xp.reshape(a, (a.shape[0], -1)))


class BatchedStep:
    """The ``batched`` candidate: the array-API lines on (B, n, k) blocks (the reference)."""

    name = "batched"

    def __init__(self, X, v, activation: Activation, xp):
        self.X, self.v, self.act, self.xp = X, v, activation, xp
        self._dphi = None

    def forward(self, W):
        phi, self._dphi = self.act.phi_dphi(self.xp.matmul(self.X, _t(self.xp, W)))  # (B, n, k)
        return self.xp.matmul(phi, self.v)                                          # (B, n)

    def gradient(self, r):
        Xr = r[:, :, None] * self.X                                                 # (B, n, d)
        GT = self.xp.matmul(_t(self.xp, Xr), self._dphi)                            # (B, d, k)
        return _t(self.xp, GT) * self.v[:, None]                                    # (B, k, d)

    def descend(self, W, r):
        """(W − ∇_W, Σ∇² per run) for residuals r (B, n) (η·r for a step of size η)."""
        G = self.gradient(r)
        return W - G, sumsq_runs(self.xp, G)


class FusedBatchedStep(BatchedStep):
    """``batched:fused`` (numpy): GEMM 1 written into one (B, n, k) buffer reused every step and
    step.py's in-place epilogue on it (one transcendental per element, no temporaries);
    ``ufuncs="torch"``: the epilogue by torch's kernels on the same buffer."""

    name = "batched:fused"
    ACTIVATIONS = ("tanh", "softplus", "relu")   # numpy's erf epilogue is torch's erf (per run)

    def __init__(self, X, v, activation: Activation, xp, ufuncs: str = "numpy"):
        super().__init__(X, v, activation, xp)
        if ufuncs == "torch":
            self._epilogue, self._n_scratch = torch_epilogue(activation.name)
        else:
            self._epilogue, self._n_scratch = numpy_epilogue(activation.name, ufuncs)
        if ufuncs != "numpy":
            self.name = f"{self.name}/{ufuncs}"
        self._S = self._GT = self._G = None

    def _buffers(self, W):
        """The (B, n, k) buffer (Z, then φ') and the epilogue's scratch, made once; f (B, n)."""
        B, n, _ = self.X.shape
        if self._dphi is None or self._dphi.shape[2] != W.shape[1]:
            self._dphi = np.empty((B, n, W.shape[1]), dtype=self.X.dtype)
            self._S = [np.empty_like(self._dphi) for _ in range(self._n_scratch)]
        return np.empty((B, n), dtype=self.X.dtype)

    def forward(self, W):
        f = self._buffers(W)
        np.matmul(self.X, W.transpose(0, 2, 1), out=self._dphi)                   # Z (B, n, k)
        self._epilogue(self._dphi, self.v, f, self._S)                             # Z -> φ'
        return f

    def descend(self, W, r):
        """GEMM 2 and the ∇ scaling into buffers reused every step, then W − ∇ and Σ∇²."""
        B, n, d = self.X.shape
        k = self._dphi.shape[2]
        if self._GT is None or self._GT.shape != (B, d, k):
            self._GT, self._G = np.empty((B, d, k), dtype=W.dtype), np.empty((B, k, d), dtype=W.dtype)
        Xr = r[:, :, None] * self.X                                                # (B, n, d)
        np.matmul(Xr.transpose(0, 2, 1), self._dphi, out=self._GT)                # (B, d, k)
        np.multiply(self._GT.transpose(0, 2, 1), self.v[:, None], out=self._G)    # ∇ (B, k, d)
        return W - self._G, np.einsum("bij,bij->b", self._G, self._G)


class ThreadedBatchedStep(FusedBatchedStep):
    """``batched:threads`` (numpy): ``batched:fused`` with the runs split among threads, each
    thread running both GEMMs and the epilogue on its runs' slices of the shared buffers
    (ufuncs and BLAS release the GIL; BLAS held to one thread meanwhile, step.parallel).
    It pays where a batch is big enough to amortise a thread-pool round trip (≈ 70 µs on the
    2-core AVX-512 EPYC): B=32 n=200 k=256 3.0 ms vs ``batched:fused`` 5.1 ms; there it lost at
    B=32 n=40 k=128 and B=2 n=1000 k=4096, while on the AVX2 EPYC, where numpy's tanh is scalar,
    it won at B=32 n=40 k=128 (2.5 vs 4.5 ms) and, with ``/torch``, at B=2 n=1000 k=4096."""

    name = "batched:threads"

    def __init__(self, X, v, activation: Activation, xp, ufuncs: str = "numpy",
                 threads: "int | None" = None):
        super().__init__(X, v, activation, xp, ufuncs)
        self.parts = split(X.shape[0], default_threads() if threads is None else threads)

    def forward(self, W):
        f = self._buffers(W)
        D, S = self._dphi, self._S

        def work(lo, hi, tid):
            np.matmul(self.X[lo:hi], W[lo:hi].transpose(0, 2, 1), out=D[lo:hi])
            self._epilogue(D[lo:hi], self.v, f[lo:hi], [s[lo:hi] for s in S])

        parallel(self.parts, work)
        return f

    def _gradient_part(self, r, lo, hi):
        """∇ of runs lo:hi, (b, k, d) (a transposed view of GEMM 2's fresh output)."""
        Xr = r[lo:hi, :, None] * self.X[lo:hi]                                    # (b, n, d)
        G = np.matmul(Xr.transpose(0, 2, 1), self._dphi[lo:hi]).transpose(0, 2, 1)
        return np.multiply(G, self.v[:, None], out=G)

    def gradient(self, r):
        G = np.empty((self.X.shape[0], self._dphi.shape[2], self.X.shape[2]), dtype=self.X.dtype)

        def work(lo, hi, tid):
            G[lo:hi] = self._gradient_part(r, lo, hi)

        parallel(self.parts, work)
        return G

    def descend(self, W, r):
        out = np.empty_like(W)
        sq = np.empty(W.shape[0], dtype=W.dtype)

        def work(lo, hi, tid):
            G = self._gradient_part(r, lo, hi)
            np.subtract(W[lo:hi], G, out=out[lo:hi])
            sq[lo:hi] = np.einsum("bij,bij->b", G, G)

        parallel(self.parts, work)
        return out, sq


class CompiledBatchedStep(BatchedStep):
    """``batched:numba``: the whole step of each run compiled by numba (compiled.py), the runs
    split among threads (no BLAS inside, so BLAS is not held)."""

    name = "batched:numba"

    def __init__(self, X, v, activation: Activation, xp, threads: "int | None" = None):
        super().__init__(X, v, activation, xp)
        from . import compiled
        self._compiled = compiled
        self.parts = split(X.shape[0], default_threads() if threads is None else threads)
        self.v = np.ascontiguousarray(v, dtype=X.dtype)

    def forward(self, W):
        B, n, _ = self.X.shape
        if self._dphi is None or self._dphi.shape[2] != W.shape[1]:
            self._dphi = np.empty((B, n, W.shape[1]), dtype=self.X.dtype)
        f = np.empty((B, n), dtype=self.X.dtype)
        W = np.ascontiguousarray(W)
        parallel(self.parts, lambda lo, hi, tid: self._compiled.forward_runs(
            self.X, W, self.v, self._dphi, f, lo, hi), hold_blas=False)
        return f

    def descend(self, W, r):
        W, r = np.ascontiguousarray(W), np.ascontiguousarray(r)
        out = np.empty_like(W)
        sq = np.empty(W.shape[0], dtype=W.dtype)
        parallel(self.parts, lambda lo, hi, tid: self._compiled.descend_runs(
            self.X, self._dphi, r, self.v, W, out, sq, lo, hi), hold_blas=False)
        return out, sq


# CuPy: φ and φ' in one fused pass over Z (one kernel launch, one read of Z, two writes),
# beside the generic lines because the array API has no fused elementwise kernels. Each body
# mirrors the activation's ``phi_dphi`` (activations.py); tests/core/test_gpu.py checks it.
_CUPY_BODIES = {
    "tanh": "phi = tanh(z); dphi = 1 - phi * phi;",
    "softplus": "T e = exp(-fabs(z)); phi = fmax(z, (T)0) + log1p(e); "
                "dphi = z >= 0 ? 1 / (1 + e) : e / (1 + e);",
    "erf": "phi = 1.2533141373155003 * erf(z * 0.7071067811865476); dphi = exp(-0.5 * z * z);",
    "relu": "phi = fmax(z, (T)0); dphi = z > 0 ? (T)1 : (T)0;",
}


def _cupy_kernel(name: str):
    import cupy
    return cupy.ElementwiseKernel("T z", "T phi, T dphi", _CUPY_BODIES[name], f"theorem_lab_{name}")


class CupyFusedStep(BatchedStep):
    """``batched:fused`` on CuPy: GEMM 1, then one ``ElementwiseKernel`` for φ and φ'."""

    name = "batched:fused"

    def __init__(self, X, v, activation: Activation, xp):
        super().__init__(X, v, activation, xp)
        self._kernel = _cupy_kernel(activation.name)

    def forward(self, W):
        phi, self._dphi = self._kernel(self.xp.matmul(self.X, _t(self.xp, W)))   # (B, n, k) each
        return self.xp.matmul(phi, self.v)


class PerRunStep(BatchedStep):
    """``GradientStep`` (step.py's fused in-place epilogues) for each run of the batch."""

    def __init__(self, X, v, activation: Activation, xp, engine: str, ufuncs: str = "numpy"):
        super().__init__(X, v, activation, xp)
        self.name = f"per-run:{engine}" + ("" if ufuncs == "numpy" else f"/{ufuncs}")
        self.steps = [GradientStep(X[b], v, activation, engine=engine, ufuncs=ufuncs)
                      for b in range(X.shape[0])]

    def forward(self, W):
        return self.xp.stack([s.forward(W[b]) for b, s in enumerate(self.steps)])

    def gradient(self, r):
        return self.xp.stack([s.gradient(r[b]) for b, s in enumerate(self.steps)])

    def descend(self, W, r):
        out = self.xp.empty_like(W)
        sq = [s.descend(W[b], r[b], out=out[b])[1] for b, s in enumerate(self.steps)]
        return out, self.xp.stack(sq)


def make_step(name: str, X, v, activation, bk: Backend):
    """The step of candidate ``name``; a candidate that does not apply to these arrays (threads
    or a fused epilogue outside numpy, numpy's erf) falls back to the nearest one that does."""
    name, _, lib = name.partition("/")
    ufuncs = lib if lib in ("torch", "exp", "numba") and bk.name == "numpy" else "numpy"
    fusable = bk.name == "numpy" and (ufuncs == "torch"
                                      or activation.name in FusedBatchedStep.ACTIVATIONS)
    if name == "batched":
        return BatchedStep(X, v, activation, bk.xp)
    if name == "batched:numba":
        if bk.name != "numpy" or activation.name not in COMPILED:
            return make_step("batched:fused", X, v, activation, bk)
        return CompiledBatchedStep(X, v, activation, bk.xp)
    if name == "batched:threads":
        if not fusable:
            return make_step("batched:fused", X, v, activation, bk)
        return ThreadedBatchedStep(X, v, activation, bk.xp, ufuncs)
    if name == "batched:fused":
        if bk.name == "cupy" and activation.name in _CUPY_BODIES:
            return CupyFusedStep(X, v, activation, bk.xp)
        if not fusable:
            return BatchedStep(X, v, activation, bk.xp)
        return FusedBatchedStep(X, v, activation, bk.xp, ufuncs)
    engine = name.split(":")[1]
    if engine == "threads" and bk.name != "numpy":
        engine = "auto"                  # GradientStep's threaded engine is numpy-only
    return PerRunStep(X, v, activation, bk.xp, engine, ufuncs)


def shape_class(B: int, n: int, d: int, k: int) -> tuple:
    """Shapes within a factor of two share a measurement (log₂ buckets)."""
    return tuple(int(math.log2(max(x, 1))) for x in (B, n, d, k))


PER_RUN_MIN_ELEMENTS = 1 << 16   # n·k below which per-run kernels are not timed for B > 4


def candidates(bk: Backend, B: int = 1, nk: int = 1 << 30, act_name: str = "tanh",
               torch_ok: bool = True, numba_ok: bool = True, dk: int = 1 << 30) -> tuple:
    """The candidates worth timing (threads only exist for numpy arrays). For many small runs
    (B > 4, n·k < ``PER_RUN_MIN_ELEMENTS``) the per-run kernels issue B× the calls of the
    batched one for the same arithmetic, so only the batched ones are timed. ``torch_ok``
    False: none that runs torch on numpy arrays (torch stays unimported); ``numba_ok`` False,
    or numba not installed: none compiled by numba (``batched:numba`` only for d·k = ``dk`` up
    to ``COMPILED_DK``)."""
    small = B > 4 and nk < PER_RUN_MIN_ELEMENTS
    if bk.name == "torch":
        return ("batched",) if small else ("batched", "per-run:torch")
    if bk.name != "numpy":
        return ("batched", "batched:fused")   # CuPy: the array-API lines, and one fused kernel
    threads = B > 1 and default_threads() > 1
    batched = ["batched"]
    if act_name in FusedBatchedStep.ACTIVATIONS:
        batched += ["batched:fused"] + (["batched:threads"] if threads else [])
    exp = act_name == "tanh"                      # tanh from numpy's exp
    if torch_ok:
        batched += ["batched:fused/torch"] + (["batched:threads/torch"] if threads else [])
    if exp:
        batched += ["batched:fused/exp"] + (["batched:threads/exp"] if threads else [])
    compiled = numba_ok and act_name in COMPILED and numba_available()
    if compiled:
        batched += ["batched:fused/numba"] + (["batched:threads/numba"] if threads else [])
        batched += ["batched:numba"] if dk <= COMPILED_DK else []
    if small:
        return tuple(batched)
    per_run = ["per-run:torch", "per-run:threads", "per-run:threads/torch"] if torch_ok \
        else ["per-run:threads"]
    return tuple(batched + per_run + (["per-run:threads/exp"] if exp else [])
                 + (["per-run:threads/numba"] if compiled else []))


def worth_importing(lib: str, B: int, n: int, k: int, steps: "int | None") -> bool:
    """Whether candidates needing ``lib`` ('torch' on numpy arrays, 'numba') are worth timing:
    it is imported already, or the batch's ``steps``·B·n·k element-steps (None: unknown) reach
    ``WORTH[lib]``."""
    return started(lib) or steps is None or steps * B * n * k >= WORTH[lib]


def started(lib: str) -> bool:
    """Whether this process has paid ``lib``'s start-up already (numba: our kernels loaded)."""
    return sys.modules.get("torch" if lib == "torch" else "theorem_lab.compiled") is not None


def needs(name: str, bk: Backend, act_name: str) -> "str | None":
    """The library candidate ``name`` imports for this backend beyond numpy ('torch', 'numba'),
    or None."""
    if uses_torch(name, bk, act_name):
        return "torch"
    compiled = name.endswith("/numba") or name == "batched:numba"
    return "numba" if bk.name == "numpy" and compiled else None


def uses_torch(name: str, bk: Backend, act_name: str) -> bool:
    """Whether candidate ``name`` imports torch for this backend (numpy's erf epilogue is
    torch's erf: every fast numpy erf path does)."""
    if bk.name != "numpy":
        return bk.name == "torch"
    return (name.endswith("/torch") or name == "per-run:torch"
            or (act_name == "erf" and name != "batched"))


def pick(seconds: dict, steps: "int | None", import_s: dict, bk: Backend, act_name: str) -> str:
    """The candidate of least cost for a run of ``steps`` steps: seconds per step × steps, plus
    ``import_s[lib]`` for one that needs a library (``needs``) not imported yet (0 or absent:
    imported). ``steps`` None: the fastest step (benchmarks)."""
    if steps is None:
        return min(seconds, key=seconds.get)
    return min(seconds, key=lambda name: seconds[name] * steps
               + import_s.get(needs(name, bk, act_name), 0.0))


def _start(lib: str) -> float:
    """Import ``lib`` and make it ready to run ('numba': load or compile the kernels, a first
    call); the seconds it took (0.0 if it was imported already). If numba fails to start (a
    broken install, no writable cache), the reason goes to ``step.NUMBA_FAILED`` and its
    candidates are no longer offered in this process."""
    t0 = time.perf_counter()
    if lib == "torch":
        if "torch" in sys.modules:
            return 0.0
        import torch  # noqa: F401
        return time.perf_counter() - t0
    ready = started("numba")
    try:
        from . import compiled
        compiled.tanh_epilogue(np.zeros((1, 2)), np.zeros(2), np.zeros(1), [])
    except Exception as exc:  # noqa: BLE001 - any failure: run without numba
        NUMBA_FAILED.append(f"{type(exc).__name__}: {exc}")
    return 0.0 if ready else time.perf_counter() - t0


def _sync(bk: Backend):
    if bk.device == "cuda" and bk.name == "torch":
        import torch
        torch.cuda.synchronize()
    elif bk.name == "cupy":
        import cupy
        cupy.cuda.Device().synchronize()


def time_candidates(X, v, activation: Activation, bk: Backend, names=None,
                    repeats: int = TIMING_REPEATS, rounds: int = TIMING_ROUNDS) -> dict:
    """Seconds per step (forward + descend, what the engine runs) of each candidate on these
    inputs, the minimum over ``rounds`` alternating rounds (robust to drifting load) of
    ``repeats`` consecutive calls after an untimed one (after the first round, a candidate
    slower than ``PRUNE`` × the fastest is not timed again). The untimed call absorbs what the
    previous candidate left behind: its BLAS or OpenMP threads spin on for up to ~0.1 s and
    slowed the next candidate by 14-40 % when candidates alternated call by call (measured)."""
    xp = bk.xp
    B, n, d = X.shape
    W = bk.asarray(np.random.default_rng(0).standard_normal((B, v.shape[0], d)))
    names = names or candidates(bk, B, n * v.shape[0], activation.name, dk=d * v.shape[0])
    steps = {name: make_step(name, X, v, activation, bk) for name in names}
    best = {name: math.inf for name in steps}
    r = xp.zeros((B, n), dtype=X.dtype) if bk.name == "numpy" else xp.zeros(
        (B, n), dtype=X.dtype, device=X.device)
    for round_ in range(rounds):
        fastest = min(best.values())
        for name, st in steps.items():
            if round_ and best[name] > PRUNE * fastest:
                continue                 # cannot win: not timed again
            for i in range(repeats + 1):
                _sync(bk)
                t0 = time.perf_counter()
                st.forward(W)
                st.descend(W, r)
                _sync(bk)
                if i:                    # call 0 warms caches, allocators and thread pools
                    best[name] = min(best[name], time.perf_counter() - t0)
    return best


def choose(X, v, activation: Activation, bk: Backend, steps: "int | None" = None) -> Choice:
    """The choice for these inputs' key: the candidates' step times, measured on first use and
    cached (process, disk), and the pick for a run of ``steps`` steps (``pick``: a candidate
    that needs torch or numba where it has not started yet pays that start-up, measured too;
    None: the fastest step)."""
    B, n, d = X.shape
    k = v.shape[0]
    key = (bk.name, bk.device, bk.dtype, activation.name, shape_class(B, n, d, k))
    forced = os.environ.get("THEOREM_LAB_KERNEL")
    if forced:
        check_choice("THEOREM_LAB_KERNEL", forced, "the engine", CANDIDATES)
        return Choice(key, {}, forced, forced=True)
    loaded = {lib for lib in IMPORT_S if started(lib)}
    names = candidates(bk, B, n * k, activation.name, worth_importing("torch", B, n, k, steps),
                       worth_importing("numba", B, n, k, steps), d * k)
    if (key, names) not in _TIMED:
        path = _cache_file(key, names) if bk.device == "cpu" else None
        cached = _read_cache(path)
        if cached is None:
            libs = {needs(name, bk, activation.name) for name in names} - {None}
            import_s = {lib: _start(lib) for lib in sorted(libs)}
            if "numba" in libs and NUMBA_FAILED:    # offer what runs: no numba candidates
                return choose(X, v, activation, bk, steps)
            import_s = {lib: import_s.get(lib) or IMPORT_S[lib] for lib in IMPORT_S}
            cached = time_candidates(X, v, activation, bk, names), import_s
            _write_cache(path, key, *cached)
        _TIMED[key, names] = cached
    seconds, import_s = _TIMED[key, names]
    import_s = {lib: s for lib, s in import_s.items() if lib not in loaded}
    chosen = pick(seconds, steps, import_s, bk, activation.name)
    if needs(chosen, bk, activation.name) == "numba" and "numba" not in loaded:
        _start("numba")                  # a choice read from disk: numba must start here too
        if NUMBA_FAILED:
            return choose(X, v, activation, bk, steps)
    return Choice(key, seconds, chosen)


# --- the choice on disk, keyed by the machine ----------------------------------------------------
CACHE_ENV = "THEOREM_LAB_CACHE_DIR"    # as the sweep's vacuity cache; 'off': time in every process


def machine_id() -> str:
    """What a measured choice is valid for: the CPU (model name, family/model/stepping and a
    digest of its feature flags: two machines both called "AMD EPYC", one with AVX-512 and one
    without, want different kernels), the CPUs this process may use, the thread setting and the
    numpy, torch and numba versions (read without importing them)."""
    from importlib import metadata

    try:
        with open("/proc/cpuinfo") as fh:
            cpu = cpu_id(fh.read())
    except OSError:
        import platform
        cpu = platform.processor()
    versions = []
    for lib in IMPORT_S:
        try:
            versions.append(metadata.version(lib))
        except metadata.PackageNotFoundError:
            versions.append(None)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return "|".join(str(x) for x in (cpu, cpus, os.environ.get("OMP_NUM_THREADS"),
                                     np.__version__, *versions))


def cpu_id(cpuinfo: str) -> str:
    """'model name/family/model/stepping/flags digest' of the first processor in a
    /proc/cpuinfo text."""
    import hashlib
    fields: dict = {}
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    flags = hashlib.sha256(fields.get("flags", "").encode()).hexdigest()[:8]
    return "/".join([fields.get("model name", ""), fields.get("cpu family", ""),
                     fields.get("model", ""), fields.get("stepping", ""), flags])


def _cache_file(key: tuple, names: tuple):
    import hashlib
    import json
    from pathlib import Path

    where = os.environ.get(CACHE_ENV) or str(Path.home() / ".cache" / "theorem-lab")
    if where == "off":
        return None
    text = json.dumps([machine_id(), list(key), list(names), TIMED])
    return Path(where) / "kernels" / (hashlib.sha256(text.encode()).hexdigest()[:20] + ".json")


def _read_cache(path) -> "tuple | None":
    """The stored (seconds per candidate, start-up seconds per library), or None (no file,
    unreadable, or not ours)."""
    import json
    if path is None:
        return None
    try:
        stored = json.loads(path.read_text())
        seconds = stored["seconds"]
        import_s = {lib: float(stored.get("import_s", {}).get(lib, s)) for lib, s in IMPORT_S.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(seconds, dict) or not seconds or not all(
            k in CANDIDATES and isinstance(v, float) for k, v in seconds.items()):
        return None
    return seconds, import_s


def _write_cache(path, key: tuple, seconds: dict, import_s: dict) -> None:
    import json
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"machine": machine_id(), "key": list(key), "seconds": seconds,
                                   "import_s": import_s}))
        os.replace(tmp, path)
    except OSError:
        pass                               # a read-only home: the choice stays per process


def batched_step(X, v, activation: Activation, bk: Backend, steps: "int | None" = None):
    """The batched step for X (B, n, d) and v (k,), with the measured kernels of its key."""
    return make_step(choose(X, v, activation, bk, steps).chosen, X, v, activation, bk)
