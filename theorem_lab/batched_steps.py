"""The batched gradient step's candidate kernels (kernel_choice.py picks one by measurement).

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
* ``per-run:units``  numpy: ``step_units.UnitsStep`` per run, the threads over blocks of hidden
                     units, φ' kept as (k, n) so both GEMMs run as W Xᵀ and φ'ᵀ (r ⊙ X)
                     (1.2-1.5× faster than ``per-run:threads`` in float32 on a 2-core AVX-512
                     EPYC, slower in float64 there, measured);
* ``…/torch``        numpy arrays, the candidate before the slash with its elementwise epilogue
                     computed by torch's kernels on the same memory (``step.torch_epilogue``):
                     numpy's float64 tanh is vectorised for AVX-512 only, so without it torch's
                     is 2.3× faster (measured). Timed only where the work could repay importing
                     torch (``kernel_choice.worth_importing``), and charged that import when picked;
* ``…/exp``          numpy, tanh: the candidate before the slash with tanh from numpy's exp
                     (``step._np_tanh_exp``): no torch import, and faster than numpy's tanh
                     where that has no SIMD loop (8.7-13.7 ns per element for the epilogue
                     against 21-24 on the AVX2 EPYC; torch's tanh ≈ 6.6, measured);
* ``…/numba``        numpy, tanh, erf or softplus, numba installed (``pip install
                     theorem-lab[fast]``): the candidate before the slash with φ and φ' compiled
                     in one vectorised pass (compiled.py: tanh 3.4 ns per element there). Timed
                     only where the work could repay numba's start-up (import and loading the
                     cached kernel, ≈ 1.1 s, measured), and charged it when picked, as torch's
                     import;
* ``batched:numba``  numpy, tanh, erf or softplus, numba, small d·k (``kernel_choice.COMPILED_DK``):
                     the whole step compiled (compiled.forward_runs / descend_runs: both GEMMs
                     as loops over rows, the φ pass on each row of Z while in cache), runs split
                     among numba's TBB threads (compiled.THREADS) or the Python pool.
"""

from __future__ import annotations

import numpy as np

from .activations import Activation
from .backend import Backend
from .step import (COMPILED, GradientStep, default_threads, numpy_epilogue, parallel, split,
                   torch_epilogue)
from .step_units import UnitsStep


def _t(xp, a):
    return xp.permute_dims(a, (0, 2, 1))


def sumsq(xp, a):
    """Σ a² over the last axis. numpy: ``einsum``, not BLAS (``vecdot`` calls OpenBLAS, whose
    threads then spin for ~0.1 s and take the cores from the threaded step kernels: the
    headline's step went from 36 to 57 ms, measured); elsewhere a product and a sum, not
    ``vecdot``: array_api_compat's is a matmul, which torch on CUDA runs in TF32 for float32 (the
    loss and every logged norm rounded to ~1e-3)."""
    if isinstance(a, np.ndarray):
        return np.einsum("...i,...i->...", a, a)
    return xp.sum(a * a, axis=-1)


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
    split among numba's TBB threads where they load, else among step.py's thread pool (no BLAS
    inside, so BLAS is not held)."""

    name = "batched:numba"

    def __init__(self, X, v, activation: Activation, xp, threads: "int | None" = None):
        super().__init__(X, v, activation, xp)
        from . import compiled
        self._compiled = compiled
        self.parts = split(X.shape[0], default_threads() if threads is None else threads)
        self.cuts = np.array([lo for lo, _ in self.parts] + [X.shape[0]], dtype=np.int64)
        self.v = np.ascontiguousarray(v, dtype=X.dtype)
        self.kind = compiled.KIND[activation.name]

    def forward(self, W):
        B, n, _ = self.X.shape
        if self._dphi is None or self._dphi.shape[2] != W.shape[1]:
            self._dphi = np.empty((B, n, W.shape[1]), dtype=self.X.dtype)
        f = np.empty((B, n), dtype=self.X.dtype)
        W = np.ascontiguousarray(W)
        c = self._compiled
        if not self._on_numba_threads(c.forward_parts, self.X, W, self.v, self._dphi, f,
                                      tail=(self.kind,)):
            parallel(self.parts, lambda lo, hi, tid: c.forward_runs(
                self.X, W, self.v, self._dphi, f, lo, hi, self.kind), hold_blas=False)
        return f

    def descend(self, W, r):
        W, r = np.ascontiguousarray(W), np.ascontiguousarray(r)
        out = np.empty_like(W)
        sq = np.empty(W.shape[0], dtype=W.dtype)
        c = self._compiled
        if not self._on_numba_threads(c.descend_parts, self.X, self._dphi, r, self.v, W, out, sq):
            parallel(self.parts, lambda lo, hi, tid: c.descend_runs(
                self.X, self._dphi, r, self.v, W, out, sq, lo, hi), hold_blas=False)
        return out, sq

    def _on_numba_threads(self, kernel, *args, tail=()) -> bool:
        """Run ``kernel`` over the parts on numba's threads (compiled.THREADS); False where they
        are not used: one part, or no threading layer (numba's error is then remembered and the
        step falls back to the Python pool)."""
        if len(self.parts) == 1 or not self._compiled.THREADS:
            return False
        try:
            kernel(*args, self.cuts, *tail)
        except ValueError as exc:            # "No threading layer could be loaded."
            if "threading layer" not in str(exc):
                raise
            self._compiled.THREADS = False
            return False
        return True


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
        if engine == "units":
            self.steps = [UnitsStep(X[b], v, activation, ufuncs=ufuncs) for b in range(X.shape[0])]
        else:
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
                                      or activation.name in FusedBatchedStep.ACTIVATIONS
                                      or (ufuncs == "numba" and activation.name in COMPILED))
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
    if engine in ("threads", "units") and bk.name != "numpy":
        engine = "auto"                  # the threaded engines are numpy-only
    return PerRunStep(X, v, activation, bk.xp, engine, ufuncs)
