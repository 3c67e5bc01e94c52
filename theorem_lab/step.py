"""One full-batch gradient step of the two-layer network, as fast as its two GEMMs allow.

The step of spec §1.3 for f(W, X) = φ(XWᵀ) v and the loss ½‖f − ŷ‖²:

    forward:   Z = X Wᵀ (GEMM 1, (n, k)),  f = φ(Z) v,  keep φ'(Z)
    gradient:  ∇_W = diag(v) · φ'(Z)ᵀ (r ⊙ X),   r = f − ŷ        (GEMM 2, (k, d))

Everything besides the two GEMMs is elementwise work on the (n, k) matrix, and done naively it
costs more than the GEMMs (numpy float64: 3.7× the GEMMs). The fast paths cut it down by

* **one transcendental per element** where the activation allows it (tanh: φ' = 1 − φ²), every
  pass written ``out=`` / in place into an (n, k) buffer allocated once and reused every step
  (GEMM 1 writes Z into it, φ overwrites Z, φ' overwrites φ after f = φ v is read off);
* **GEMM 2 as (r ⊙ X)ᵀ φ'** ((d, n) @ (n, k), transposed while scaling by v): OpenBLAS and MKL
  run it 1.5-1.9× faster than φ'ᵀ (r ⊙ X) on the same data (n=1000, d=50, k=4096);
* never scaling the (n, k) matrix by r or v: r scales X (n, d), v scales the (k, d) result.

Engines, measured with ``theorem-lab bench step`` on a 2-core AVX-512 machine:

* ``torch`` (torch tensors, and numpy arrays by default through ``torch.from_numpy``, no copy):
  whole-matrix in-place ops, each parallelised by torch (MKL GEMMs, Sleef tanh). Row blocks
  (32-500 rows) and ``torch.compile`` (15 s to compile) were measured and did not pay.
* ``threads`` (numpy only, ``engine="threads"``): row blocks of ~``BLOCK_BYTES`` that stay in
  cache, one Python thread per core (ufuncs and BLAS release the GIL), BLAS held to one thread
  meanwhile (threadpoolctl) so the two levels of threading do not oversubscribe; GEMM 2 split by
  columns the same way. It is ~25% slower than the torch engine (numpy's float64 tanh and the
  OpenBLAS single-thread GEMMs), and is the fallback without torch. With ``ufuncs="torch"`` its
  epilogue is torch's on the same blocks (``torch_epilogue``): on a 2-core AVX2 EPYC, where
  numpy's float64 tanh runs at scalar speed, that made it the fastest float64 kernel (≈ 45 ms
  against 60-66 ms per step, n=1000 d=50 k=4096; kernel_choice.py picks by measurement).
  ``ufuncs="exp"``: tanh from numpy's exp (``_np_tanh_exp``), for where numpy's tanh is scalar
  and torch would not repay its import; ``ufuncs="numba"``: tanh (erf, softplus) in one compiled,
  vectorised pass (compiled.py, 3.4 ns per element there against 8.9 for the exp form).
* ``generic`` (``fast=False``, and CuPy): the straightforward array-API lines, the reference.

step_units.UnitsStep is the threaded engine with the threads over hidden units instead (φ' kept
as (k, n), both GEMMs in the other layout), a candidate of its own for kernel_choice.py.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from array_api_compat import array_namespace, is_numpy_array, is_torch_array

from .activations import Activation, get_activation
from .backend import like
from .errors import ParameterError, check_choice, check_int

_OWNER = "GradientStep"
BLOCK_BYTES = 1 << 20      # 1 MiB per (rows × k) block: fastest of 0.25-4 MiB (2 MiB L2/core)
_SQRT_HALF_PI = math.sqrt(math.pi / 2)
_INV_SQRT2 = 1 / math.sqrt(2)


def default_threads() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's core count), capped
    by ``OMP_NUM_THREADS`` when set (sweep workers set it to their share of the cores, so two
    workers' threaded kernels do not run four threads on two cores)."""
    try:
        cpus = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        cpus = max(1, os.cpu_count() or 1)
    try:
        cap = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return cpus
    return max(1, min(cpus, cap))


@lru_cache(maxsize=None)
def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="theorem-lab-step")


@lru_cache(maxsize=None)
def _blas_controller():
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


def parallel(parts, work, hold_blas: bool = True) -> None:
    """Run ``work(lo, hi, tid)`` on the ``parts`` (list of (lo, hi)), one per thread (the calling
    thread takes the first), with BLAS held to one thread meanwhile so the two levels of
    threading do not oversubscribe the cores (``hold_blas`` False: work that calls no BLAS,
    which saves threadpoolctl's 44 µs per call, profiled at B=32 n=40 k=128)."""
    if hold_blas:
        with _blas_controller().limit(limits=1, user_api="blas"):
            return parallel(parts, work, hold_blas=False)
    if len(parts) == 1:
        work(*parts[0], 0)
        return
    futures = [_pool(len(parts) - 1).submit(work, lo, hi, t)
               for t, (lo, hi) in enumerate(parts[1:], start=1)]
    work(*parts[0], 0)
    for fu in futures:
        fu.result()


def split(size: int, threads: int, align: int = 1) -> list:
    """``size`` cut into ≤ ``threads`` contiguous (lo, hi) parts, cuts on multiples of align."""
    t = max(1, min(threads, size // max(align, 1)))
    cuts = [min(size, -(-i * size // t // align) * align) for i in range(t)] + [size]
    return [(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:]) if hi > lo]


# --- in-place epilogues: Z block (rows, k) -> φ' in place, f block = φ(Z) v ---------------------
# Each mirrors the activation's reference ``phi_dphi`` formula (activations.py) so the fast path
# agrees with it to rounding; ``S`` are two scratch blocks of Z's shape.

def _np_tanh(Z, v, f, S):
    np.tanh(Z, out=Z)                        # φ
    np.matmul(Z, v, out=f)                   # f = φ v
    np.multiply(Z, Z, out=Z)
    np.subtract(1, Z, out=Z)                 # φ' = 1 − φ²


def _np_tanh_exp(Z, v, f, S):
    """tanh from one exp: with t = 2/(e^{2z} + 1) = 1 − tanh z, φ = 1 − t and φ' = t(2 − t).
    numpy's float64 exp is faster than its tanh where the tanh has no SIMD loop (AVX-512 only):
    on a 2-core AVX2 EPYC 8.7-13.7 ns per element for this whole epilogue against 21-24 with
    np.tanh, (1280, 128) blocks (measured; at (1000, 4096) the passes are memory-bound and it
    is on par). Absolute error ≤ 3.4e-16 in φ, 7.3e-16 in φ' (measured over z ∈ [−30, 30] and
    ±[1e-300, 1]): the cancellation in 1 − t costs relative accuracy only where |tanh z| is
    below ~1e-8, and f = φ v sees the absolute error. 2z is clipped at 700 so e^{2z} stays
    finite (tanh 350 = 1 in float64); NaN propagates."""
    e = S[0]
    np.multiply(Z, 2.0, out=e)
    np.minimum(e, 700.0, out=e)
    np.exp(e, out=e)
    np.add(e, 1.0, out=e)
    np.divide(2.0, e, out=e)                 # t = 1 − tanh z
    np.subtract(1.0, e, out=Z)               # φ
    np.matmul(Z, v, out=f)                   # f = φ v
    np.subtract(2.0, e, out=Z)
    np.multiply(Z, e, out=Z)                 # φ' = t(2 − t) = 1 − φ²


def _np_softplus(Z, v, f, S):
    e, t = S
    np.abs(Z, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)                         # e = exp(−|z|)
    np.log1p(e, out=t)
    np.maximum(Z, 0, out=Z)                  # z⁺ (Z no longer needed as z: sign kept via z⁺ > 0)
    positive = Z > 0
    np.add(t, Z, out=t)                      # φ = z⁺ + log1p(e)
    np.matmul(t, v, out=f)
    np.add(e, 1, out=t)                      # 1 + e
    np.divide(e, t, out=Z)                   # e/(1+e)   (z < 0)
    np.divide(1, t, out=t)                   # 1/(1+e)   (z ≥ 0; z = 0 gives ½ either way)
    np.copyto(Z, t, where=positive)          # φ' = sigmoid(z)


def _np_erf(Z, v, f, S):
    t = S[0]
    np.multiply(Z, _INV_SQRT2, out=t)
    _erf_inplace(t)
    np.multiply(t, _SQRT_HALF_PI, out=t)     # φ = √(π/2) erf(z/√2)
    np.matmul(t, v, out=f)
    np.multiply(Z, Z, out=Z)
    np.multiply(Z, -0.5, out=Z)
    np.exp(Z, out=Z)                         # φ' = exp(−z²/2)


_TORCH_GRAIN = 32768   # ATen runs an elementwise op inline (no OpenMP team) below this many elements


def _erf_inplace(t):
    """erf on a numpy block, in place. scipy.special.erf is scalar code (~15 ns/element);
    torch's vectorised erf (~1 ns) works on the same memory through ``torch.from_numpy``.
    Chunks stay under ATen's grain size so each call runs in the calling thread: the numpy
    path already runs one such thread per core."""
    import torch
    rows = max(1, (_TORCH_GRAIN - 1) // t.shape[1])
    for i in range(0, t.shape[0], rows):
        c = torch.from_numpy(t[i:i + rows])
        torch.special.erf(c, out=c)


def _np_relu(Z, v, f, S):
    t = S[0]
    np.maximum(Z, 0, out=t)                  # φ = max(z, 0)
    np.matmul(t, v, out=f)
    np.greater(Z, 0, out=Z)                  # φ' = 1{z > 0} (bool written as 0.0 / 1.0)


def _torch_tanh(Z, v, f, S):
    import torch
    torch.tanh(Z, out=Z)
    torch.mv(Z, v, out=f)
    torch.addcmul(torch.ones((), dtype=Z.dtype, device=Z.device), Z, Z, value=-1, out=Z)


def _torch_softplus(Z, v, f, S):
    """torch's fused softplus kernel (3× faster than its log1p, which is not vectorised) with the
    linear cut-off moved from z > 20 to z > 40, where log1p(e^-z) < 5e-18: exact in float64."""
    import torch
    t = S[0]
    torch._C._nn.softplus(Z, 1, 40, out=t)   # φ = log(1 + e^z)
    torch.mv(t, v, out=f)
    torch.sigmoid(Z, out=Z)                  # φ' = sigmoid(z)


def _torch_erf(Z, v, f, S):
    import torch
    t = S[0]
    torch.mul(Z, _INV_SQRT2, out=t)
    torch.special.erf(t, out=t).mul_(_SQRT_HALF_PI)
    torch.mv(t, v, out=f)
    Z.mul_(Z).mul_(-0.5).exp_()


def _torch_relu(Z, v, f, S):
    import torch
    t = S[0]
    torch.clamp_min(Z, 0, out=t)
    torch.mv(t, v, out=f)
    torch.gt(Z, 0, out=t)
    Z.copy_(t)


_EPILOGUES = {"numpy": {"tanh": (_np_tanh, 0), "softplus": (_np_softplus, 2),
                        "erf": (_np_erf, 1), "relu": (_np_relu, 1)},
              "torch": {"tanh": (_torch_tanh, 0), "softplus": (_torch_softplus, 1),
                        "erf": (_torch_erf, 1), "relu": (_torch_relu, 1)},
              "exp": {"tanh": (_np_tanh_exp, 1)}}
UFUNCS = ("numpy", "torch", "exp", "numba")   # what computes the epilogue on numpy blocks
                                     # ('exp': numpy, tanh from exp; 'numba': tanh, erf and
                                     # softplus compiled, compiled.py; relu as 'numpy')
COMPILED = ("tanh", "erf", "softplus")   # the activations compiled.py has kernels for


def numpy_epilogue(name: str, ufuncs: str = "numpy"):
    """(epilogue, scratch count) of activation ``name`` on numpy blocks by numpy's ufuncs
    (``ufuncs="exp"``: tanh from exp, ``_np_tanh_exp``; ``"numba"``: tanh, erf and softplus
    compiled by numba, ``compiled.epilogue``; relu has one form)."""
    if ufuncs == "numba" and name in COMPILED:
        from . import compiled           # imports numba (an optional dependency)
        return compiled.epilogue(name), 0
    return _EPILOGUES.get(ufuncs, {}).get(name) or _EPILOGUES["numpy"].get(name, (None, 0))


NUMBA_FAILED: list = []      # why numba could not start in this process (kernel_choice._start)


def numba_available() -> bool:
    """Whether numba is installed (``pip install theorem-lab[fast]``), found without importing
    it, and has not failed to start in this process."""
    import importlib.util
    return not NUMBA_FAILED and importlib.util.find_spec("numba") is not None


def torch_epilogue(name: str):
    """(epilogue, scratch count) for activation ``name`` on numpy blocks, computed by torch's
    kernels on the same memory (``torch.from_numpy``, no copies). It pays where numpy's ufunc is
    scalar code: numpy's float64 tanh is vectorised for AVX-512 only, and on a 2-core AVX2 EPYC
    it took 15 ns per element against torch's 6.6 (measured). One torch call per block, even
    from the threaded engine's threads (torch then runs its own small team inside each): chunks
    under ATen's grain, which keep each call in its thread, were 5-30% slower for their extra
    calls (n=1000 d=50 k=4096, measured). Blocks must be C-contiguous ((rows, k) views)."""
    import torch                        # now, not at the first step (kernel_choice.worth_importing)
    kernel, n_scratch = _EPILOGUES["torch"][name]

    def epilogue(Z, v, f, S):
        if not (Z.flags.c_contiguous and f.flags.c_contiguous):
            raise ValueError("torch_epilogue needs C-contiguous blocks")
        k = Z.shape[-1]
        view = lambda a: torch.from_numpy(a.reshape(-1, k))                   # noqa: E731
        kernel(view(Z), torch.from_numpy(v), torch.from_numpy(f.reshape(-1)), [view(s) for s in S])

    return epilogue, n_scratch


class GradientStep:
    """Forward and gradient of ½‖f(W, X) − ŷ‖² for fixed X (n, d), v (k,) and φ.

    ``forward(W)`` returns f(W, X) (n,) and keeps φ'(XWᵀ) in an internal (n, k) buffer for the
    ``gradient(r)`` call that follows (a second ``forward`` overwrites it). Both return fresh
    arrays in X's namespace; the buffers are allocated on the first call and reused.

    ``engine`` picks the kernels for numpy arrays: ``"torch"`` runs the torch path on the same
    memory (``torch.from_numpy``, no copies; the default ``"auto"``, because it measured fastest:
    ``theorem-lab bench step``), ``"threads"`` the numpy-only path of threaded cache blocks,
    tuned by ``threads`` (default: the CPUs this process may use) and ``block_rows`` (default
    ~``BLOCK_BYTES`` per block), its elementwise epilogue computed by numpy's ufuncs or, with
    ``ufuncs="torch"``, by torch's kernels on the same blocks (``torch_epilogue``), or with
    ``ufuncs="exp"``, tanh from numpy's exp (``_np_tanh_exp``), or with ``ufuncs="numba"``, tanh
    compiled by numba (compiled.py; needs numba).
    ``fast=False`` forces the generic array-API lines, the reference every fast path is tested
    against.
    """

    def __init__(self, X, v, activation: "str | Activation", *, threads: "int | None" = None,
                 block_rows: "int | None" = None, engine: str = "auto", ufuncs: str = "numpy",
                 fast: bool = True):
        self.xp = array_namespace(X)
        if X.ndim != 2:
            raise ParameterError(f"The 'X' parameter of {_OWNER} must be a 2-D (n, d) array. "
                                 f"Got shape {tuple(X.shape)} instead.")
        self.X, self.v = X, like(v, X)
        if self.v.ndim != 1:
            raise ParameterError(f"The 'v' parameter of {_OWNER} must be a 1-D (k,) array. "
                                 f"Got shape {tuple(self.v.shape)} instead.")
        self.activation = get_activation(activation, _OWNER)
        self.threads = default_threads() if threads is None else check_int(
            "threads", threads, _OWNER, low=1)
        self.block_rows = None if block_rows is None else check_int(
            "block_rows", block_rows, _OWNER, low=1)
        check_choice("engine", engine, _OWNER, ENGINES)
        check_choice("ufuncs", ufuncs, _OWNER, UFUNCS)
        if ufuncs == "numba" and not numba_available():
            raise ParameterError(f"The 'ufuncs' parameter of {_OWNER} is 'numba', which needs "
                                 "numba: pip install 'theorem-lab[fast]'.")
        self.kind = "generic"
        if fast and is_numpy_array(X) and X.dtype in (np.float32, np.float64):
            self.kind = "numpy" if engine == "threads" or not _torch_available() else "numpy-torch"
        elif fast and is_torch_array(X) and X.is_floating_point():
            self.kind = "torch"
        self._tX = self._tv = None          # torch views of X and v (kind "numpy-torch")
        if self.kind == "numpy-torch":
            self._tX, self._tv = _torch_view(X), _torch_view(self.v)
        lib = "torch" if self.kind.endswith("torch") else self.kind
        self._epilogue, n_scratch = _EPILOGUES.get(lib, {}).get(self.activation.name, (None, 0))
        if self.kind == "numpy" and ufuncs == "torch" and self._epilogue is not None:
            self._epilogue, n_scratch = torch_epilogue(self.activation.name)
        elif self.kind == "numpy" and ufuncs in ("exp", "numba"):
            self._epilogue, n_scratch = numpy_epilogue(self.activation.name, ufuncs)
        if self._epilogue is not None and self.activation is not get_activation(self.activation.name):
            self._epilogue = None           # a user-built Activation: trust only its phi_dphi
        self._n_scratch = n_scratch
        self._dphi = None                   # (n, k) φ'(X Wᵀ) of the last forward
        self._scratch = {}                  # per-thread scratch blocks, keyed by thread index
        self._gt = None                     # (d, k) GEMM 2 output (numpy)

    # --- shapes and buffers -------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.X.shape[0]

    def _rows(self, k: int) -> int:
        if self.block_rows is not None:
            return min(self.block_rows, self.n)
        itemsize = self.X.dtype.itemsize if self.kind == "numpy" else self.X.element_size()
        return max(4, min(self.n, BLOCK_BYTES // (k * itemsize)))

    def _check_W(self, W):
        if W.ndim != 2 or W.shape[1] != self.X.shape[1] or W.shape[0] != self.v.shape[0]:
            raise ParameterError(
                f"The 'W' parameter of {_OWNER}.forward must have shape (k, d) = "
                f"({self.v.shape[0]}, {self.X.shape[1]}). Got {tuple(W.shape)} instead.")
        return like(W, self.X)

    # --- forward --------------------------------------------------------------------------------
    def forward(self, W):
        """f(W, X) (n,); keeps φ'(X Wᵀ) (n, k) for ``gradient``."""
        W = self._check_W(W)
        if self.kind == "numpy":
            return self._forward_numpy(W)
        if self.kind == "torch":
            return self._forward_torch(W, self.X, self.v)
        if self.kind == "numpy-torch":
            return self._forward_torch(_torch_view(W), self._tX, self._tv).numpy()
        phi, self._dphi = self.activation.phi_dphi(self.X @ W.T)   # (n, k) each
        return phi @ self.v                                          # (n,)

    def _buffers(self, k, make):
        if self._dphi is None or self._dphi.shape[1] != k:
            self._dphi = make((self.n, k))
            self._scratch = {}
        return self._dphi

    def _forward_numpy(self, W):
        n, k = self.n, W.shape[0]
        D = self._buffers(k, lambda s: np.empty(s, dtype=self.X.dtype))
        f = np.empty(n, dtype=self.X.dtype)
        rows = self._rows(k)
        WT = W.T                                                     # (d, k) view

        def work(lo, hi, tid):
            np.matmul(self.X[lo:hi], WT, out=D[lo:hi])               # GEMM 1 on this part
            S = self._scratch.get((tid, rows))
            if S is None:
                S = self._scratch[(tid, rows)] = [np.empty((rows, k), dtype=D.dtype)
                                                  for _ in range(self._n_scratch)]
            for i in range(lo, hi, rows):                            # cache-sized row blocks
                j = min(i + rows, hi)
                self._epilogue_numpy(D[i:j], f[i:j], [s[: j - i] for s in S])

        parallel(split(n, self.threads), work)
        return f

    def _epilogue_numpy(self, Zb, fb, S):
        if self._epilogue is not None:
            self._epilogue(Zb, self.v, fb, S)
            return
        phi, dphi = self.activation.phi_dphi(Zb)
        np.matmul(phi, self.v, out=fb)
        Zb[...] = dphi

    def _forward_torch(self, W, X, v):
        """Whole-matrix in-place ops; torch parallelises each one (and fuses nothing)."""
        import torch
        n, k = self.n, W.shape[0]
        D = self._buffers(k, lambda s: torch.empty(s, dtype=X.dtype, device=X.device))
        torch.matmul(X, W.T, out=D)                                  # GEMM 1
        f = torch.empty(n, dtype=D.dtype, device=D.device)
        if self._epilogue is None:
            phi, dphi = self.activation.phi_dphi(D)
            torch.mv(phi, v, out=f)
            D.copy_(dphi)
            return f
        S = self._scratch.get(0)
        if S is None:
            S = self._scratch[0] = [torch.empty_like(D) for _ in range(self._n_scratch)]
        self._epilogue(D, v, f, S)
        return f

    def dphi(self):
        """φ'(X Wᵀ) (n, k) of the last ``forward``: the step's own buffer, overwritten by the
        next ``forward`` (the caller may modify it in place when it owns the step)."""
        if self._dphi is None:
            raise RuntimeError("GradientStep.dphi needs a forward(W) call first")
        return self._dphi

    # --- gradient -------------------------------------------------------------------------------
    def gradient(self, r, out=None):
        """∇_W ½‖f − ŷ‖² (k, d) for the residual r = f − ŷ (n,) of the last ``forward``.

        ``out`` (optional, (k, d), X's namespace and dtype) receives the result.
        """
        if self._dphi is None:
            raise RuntimeError("GradientStep.gradient needs a forward(W) call first")
        r = like(r, self.X)
        if self.kind == "numpy-torch":
            G = self._gradient_torch(_torch_view(r), self._tX, self._tv,
                                     None if out is None else _torch_view(out))
            return G.numpy() if out is None else out
        if self.kind == "torch":
            return self._gradient_torch(r, self.X, self.v, out)
        Xr = r[:, None] * self.X                                     # (n, d): r scales X
        if self.kind == "numpy":
            D = self._dphi
            GT = self._gt
            if GT is None or GT.shape != (Xr.shape[1], D.shape[1]):
                GT = self._gt = np.empty((Xr.shape[1], D.shape[1]), dtype=D.dtype)  # (d, k)

            def work(lo, hi, tid):                                   # GEMM 2 on columns lo:hi
                np.matmul(Xr.T, D[:, lo:hi], out=GT[:, lo:hi])       # (d, n) @ (n, cols)

            parallel(split(D.shape[1], self.threads, align=64), work)
            return np.multiply(GT.T, self.v[:, None], out=out)       # (k, d) (F-ordered)
        G = self.v[:, None] * (self._dphi.T @ Xr)
        if out is not None:
            out[...] = G
            return out
        return G

    def descend(self, W, r, out=None):
        """W − ∇_W ½‖f − ŷ‖² for the residual r = f − ŷ (n,) of the last ``forward(W)`` (pass
        η·r for a step of size η), written into ``out`` ((k, d); fresh if None), and Σ ∇²
        (a 0-d array): ``(W_new, sumsq)``. numpy: each thread subtracts its columns' rows and
        sums their squares while they are in cache, instead of a (k, d) gradient making two more
        trips through memory (a separate update and norm took 3 ms of a 37 ms headline step)."""
        if self.kind != "numpy":
            G = self.gradient(r)
            xp = self.xp
            if out is None:
                return W - G, xp.sum(G * G)
            out[...] = W - G
            return out, xp.sum(G * G)
        if self._dphi is None:
            raise RuntimeError("GradientStep.descend needs a forward(W) call first")
        W, r = self._check_W(W), like(r, self.X)
        Xr = r[:, None] * self.X                                     # (n, d)
        D = self._dphi
        out = np.empty(W.shape, dtype=D.dtype) if out is None else out
        parts = split(D.shape[1], self.threads, align=64)
        sq = [0.0] * len(parts)

        def work(lo, hi, tid):                                       # GEMM 2, then the update
            G = (Xr.T @ D[:, lo:hi]).T                               # (cols, d) view
            np.multiply(G, self.v[lo:hi, None], out=G)
            np.subtract(W[lo:hi], G, out=out[lo:hi])
            sq[tid] = float(np.einsum("ij,ij->", G, G))              # not BLAS (batched_steps.sumsq)

        parallel(parts, work)
        return out, np.asarray(sum(sq), dtype=D.dtype)

    def _gradient_torch(self, r, X, v, out):
        import torch
        GT = torch.matmul((r[:, None] * X).T, self._dphi)           # GEMM 2: (d, n) @ (n, k)
        if out is None:
            return GT.T * v[:, None]                                 # (k, d)
        return torch.mul(GT.T, v[:, None], out=out)


ENGINES = ("auto", "torch", "threads")


@lru_cache(maxsize=None)
def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:  # pragma: no cover - torch is a declared dependency
        return False
    return True


def _torch_view(a):
    """A torch tensor on the same memory as the numpy array ``a`` (a copy only if ``a`` is
    read-only, which torch cannot share)."""
    import torch
    return torch.from_numpy(a if a.flags.writeable else a.copy())
