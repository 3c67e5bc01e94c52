"""The gradient step of step.py with the threads over hidden units: φ'(X Wᵀ) kept as (k, n).

step.GradientStep's threaded engine splits GEMM 1 by rows of X (Z = X Wᵀ, (n, k)) and GEMM 2 by
columns of Z. Here every thread owns a block of hidden units (rows of W) for the whole step:

    forward:   Zᵀ[c] = W[c] Xᵀ              (GEMM 1 as W Xᵀ, (units, n) per thread)
               φ' in place, f_thread = v[c]ᵀ φ(Zᵀ[c])   (cache-sized row blocks), f = Σ f_thread
    descend:   ∇[c] = diag(v[c]) φ'ᵀ[c] (r ⊙ X)  (GEMM 2 as Zᵀ (r ⊙ X), (units, d) per thread)
               W[c] − ∇[c] and Σ ∇[c]² while the rows are in cache

Both GEMMs then run in the layouts OpenBLAS is fastest at in float32 on a 2-core AVX-512 EPYC
(Zen 4): W Xᵀ 2.4 ms against 3.9 for X Wᵀ, and Zᵀ Xr 2.9 against 3.4 for Xrᵀ Z (n=1000 d=50
k=4096); the whole float32 step took 7.8 ms against 9.5-11.5 for GradientStep's threads
(measured). In float64 on the same machine it was slower (16.6-18.0 against 15.8-16.0 ms), so it
is one more candidate that kernel_choice.py times, not a replacement.

The elementwise pass of a (units, n) block writes φ' in place and φ into scratch, by numpy's
ufuncs, tanh from exp (``ufuncs="exp"``) or the compiled tanh, erf or softplus pass (``ufuncs="numba"``,
compiled.phi_dphi_pass), relu by numpy; the other activations by their reference ``phi_dphi``.
"""

from __future__ import annotations

import numpy as np

from .activations import Activation, get_activation
from .errors import ParameterError, check_choice, check_int
from .step import BLOCK_BYTES, COMPILED, UFUNCS, default_threads, numba_available, parallel, split

_OWNER = "UnitsStep"


def _tanh_numpy(Z, P, T):
    np.tanh(Z, out=P)                        # φ
    np.multiply(P, P, out=Z)
    np.subtract(1, Z, out=Z)                 # φ' = 1 − φ²


def _tanh_exp(Z, P, T):
    """step._np_tanh_exp's form: t = 2/(e^{2z} + 1), φ = 1 − t, φ' = t(2 − t) (2z clipped at
    700 so e^{2z} stays finite; NaN propagates)."""
    np.multiply(Z, 2.0, out=T)
    np.minimum(T, 700.0, out=T)
    np.exp(T, out=T)
    np.add(T, 1.0, out=T)
    np.divide(2.0, T, out=T)                 # t = 1 − tanh z
    np.subtract(1.0, T, out=P)               # φ
    np.subtract(2.0, T, out=Z)
    np.multiply(Z, T, out=Z)                 # φ' = t(2 − t)


def _numba_pass(name: str):
    """The compiled φ, φ' pass of activation ``name`` (compiled.phi_dphi_pass) in this module's
    (Z, P, T) form."""
    def run(Z, P, T):
        from . import compiled           # imports numba (an optional dependency)
        compiled.phi_dphi_pass(Z, P, name)
    return run


def _relu_numpy(Z, P, T):
    np.maximum(Z, 0, out=P)                  # φ = max(z, 0)
    np.greater(Z, 0, out=Z)                  # φ' = 1{z > 0}


_PASSES = {("tanh", "numpy"): _tanh_numpy, ("tanh", "exp"): _tanh_exp,
           ("relu", "numpy"): _relu_numpy,
           **{(name, "numba"): _numba_pass(name) for name in COMPILED}}


class UnitsStep:
    """Forward and gradient of ½‖f(W, X) − ŷ‖² for fixed numpy X (n, d), v (k,) and φ, threads
    over blocks of hidden units (the module docstring). The same calls as step.GradientStep:
    ``forward(W)`` → f (n,), then ``gradient(r)`` → ∇_W (k, d) or ``descend(W, r)`` →
    (W − ∇_W, Σ ∇²) for the residual r = f − ŷ of that forward (pass η·r for a step of size η).
    """

    def __init__(self, X, v, activation: "str | Activation", *, threads: "int | None" = None,
                 block_rows: "int | None" = None, ufuncs: str = "numpy"):
        if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype in (np.float32, np.float64)):
            raise ParameterError(f"The 'X' parameter of {_OWNER} must be a 2-D float32 or float64 "
                                 f"numpy array. Got {type(X).__name__} {getattr(X, 'shape', '')}.")
        self.X, self.v = X, np.asarray(v, dtype=X.dtype)
        if self.v.ndim != 1:
            raise ParameterError(f"The 'v' parameter of {_OWNER} must be a 1-D (k,) array. "
                                 f"Got shape {self.v.shape} instead.")
        self.activation = get_activation(activation, _OWNER)
        check_choice("ufuncs", ufuncs, _OWNER, UFUNCS)
        if ufuncs == "numba" and not numba_available():
            raise ParameterError(f"The 'ufuncs' parameter of {_OWNER} is 'numba', which needs "
                                 "numba: pip install 'theorem-lab[fast]'.")
        self.threads = default_threads() if threads is None else check_int(
            "threads", threads, _OWNER, low=1)
        self.block_rows = None if block_rows is None else check_int(     # units per block
            "block_rows", block_rows, _OWNER, low=1)
        builtin = self.activation is get_activation(self.activation.name)
        self._pass = None                    # a user-built Activation: its phi_dphi only
        if builtin:
            self._pass = (_PASSES.get((self.activation.name, ufuncs))
                          or _PASSES.get((self.activation.name, "numpy")))
        self._DT = None                      # (k, n) φ'(W Xᵀ) of the last forward
        self._scratch = {}                   # per-thread (φ, scratch) blocks

    def _parts(self, k: int) -> list:
        return split(k, self.threads, align=16)

    def _phi_dphi(self, Z, P, T):
        """Z (units, n) → φ'(Z) in place, φ(Z) into P (T: scratch)."""
        if self._pass is not None:
            self._pass(Z, P, T)
            return
        phi, dphi = self.activation.phi_dphi(Z)
        P[...] = phi
        Z[...] = dphi

    def forward(self, W):
        """f(W, X) (n,); keeps φ'(W Xᵀ) (k, n) for ``gradient`` / ``descend``."""
        k, n = W.shape[0], self.X.shape[0]
        if W.shape != (self.v.shape[0], self.X.shape[1]):
            raise ParameterError(f"The 'W' parameter of {_OWNER}.forward must have shape (k, d) = "
                                 f"({self.v.shape[0]}, {self.X.shape[1]}). Got {W.shape} instead.")
        if self._DT is None:
            self._DT = np.empty((k, n), dtype=self.X.dtype)
        DT, XT, v = self._DT, self.X.T, self.v
        rows = self.block_rows or max(4, BLOCK_BYTES // (n * self.X.dtype.itemsize))
        parts = self._parts(k)
        f_parts = np.zeros((len(parts), n), dtype=self.X.dtype)

        def work(lo, hi, tid):
            np.matmul(W[lo:hi], XT, out=DT[lo:hi])                   # GEMM 1 on these units
            S = self._scratch.get((tid, rows))
            if S is None:
                S = self._scratch[(tid, rows)] = np.empty((2, rows, n), dtype=DT.dtype)
            contribution = np.empty(n, dtype=DT.dtype)
            for i in range(lo, hi, rows):                            # cache-sized row blocks
                j = min(i + rows, hi)
                P = S[0, : j - i]
                self._phi_dphi(DT[i:j], P, S[1, : j - i])
                np.matmul(v[i:j], P, out=contribution)               # v[c]ᵀ φ(Zᵀ[c])
                f_parts[tid] += contribution

        parallel(parts, work)
        return f_parts.sum(axis=0)

    def _check_forward(self):
        if self._DT is None:
            raise RuntimeError(f"{_OWNER}.gradient and .descend need a forward(W) call first")

    def gradient(self, r, out=None):
        """∇_W ½‖f − ŷ‖² (k, d) for the residual r (n,) of the last ``forward``."""
        self._check_forward()
        Xr = np.asarray(r, dtype=self.X.dtype)[:, None] * self.X    # (n, d): r scales X
        out = np.empty((self._DT.shape[0], Xr.shape[1]), dtype=Xr.dtype) if out is None else out

        def work(lo, hi, tid):                                       # GEMM 2 on these units
            np.matmul(self._DT[lo:hi], Xr, out=out[lo:hi])
            np.multiply(out[lo:hi], self.v[lo:hi, None], out=out[lo:hi])

        parallel(self._parts(out.shape[0]), work)
        return out

    def descend(self, W, r, out=None):
        """(W − ∇_W, Σ ∇²) for the residual r of the last ``forward(W)``, each thread updating
        its units' rows while they are in cache; ``out`` (k, d) receives W − ∇_W."""
        self._check_forward()
        Xr = np.asarray(r, dtype=self.X.dtype)[:, None] * self.X
        out = np.empty(W.shape, dtype=self.X.dtype) if out is None else out
        parts = self._parts(W.shape[0])
        sq = [0.0] * len(parts)

        def work(lo, hi, tid):
            G = np.matmul(self._DT[lo:hi], Xr)                       # (units, d)
            np.multiply(G, self.v[lo:hi, None], out=G)
            np.subtract(W[lo:hi], G, out=out[lo:hi])
            sq[tid] = float(np.einsum("ij,ij->", G, G))              # not BLAS (batched_steps.sumsq)

        parallel(parts, work)
        return out, np.asarray(sum(sq), dtype=self.X.dtype)
