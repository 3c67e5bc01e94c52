"""Jacobian algebra without the Jacobian (spec §1.5, §1.7–§1.9; checks E-1, E-2, E-4, E-6, E-8).

J(W, X) ∈ ℝ^{n×kd} has row i equal to (v ⊙ φ'(W x_i)) ⊗ x_i (row-major vec(W)), i.e. the
face-splitting product J = (φ'(XWᵀ) diag(v)) □ X. It is never formed: every product the theory
needs is n×n algebra through

    (P □ Q)(P' □ Q')ᵀ = (P P'ᵀ) ⊙ (Q Q'ᵀ)        (P: (n, k), Q: (n, d)).

A ``JacobianSum`` is a plain list of (coef, W, X) standing for M = Σ_j c_j J(W_j, X_j) (every
X_j with n rows). ``average_jacobian`` puts a ``Segment`` in the W slot: the exact average of
Definition 3 along W₂ → W₁ (quadrature in ``average.py``). To evaluate M it is rewritten as a
short sum of face-splitting terms: terms sharing one X merge (their factors add), and with X₀
the first data matrix,

    Σ_g Φ_g □ X_g = (Σ_g Φ_g) □ X₀ + Σ_{g>0} Φ_g □ (X_g − X₀),

so a difference such as J(W, X) − J(W̃, X̃) becomes (Φ − Φ̃) □ X + (−Φ̃) □ (X̃ − X): both terms
small, no cancellation in the Gram matrix (its error stays relative to ‖M‖², not ‖J‖²).

Memory: the right factors are held in full (n × k each), the left factors are evaluated in row
blocks, the Gram is filled block-row by block-row (upper triangle only when symmetric), so a
Gram costs O(n² + nk) memory: n = 20000, k = 4096 fits in 4 GB (3.2 GB Gram + 0.66 GB factor).
Evidence: n = 20000, k = 4096, d = 50, tanh, numpy float64 on 2 cores: 22.5 s, peak RSS 3.84 GiB
(tests/kernels/test_algebra.py::test_n20000_k4096_gram_fits_in_4_gib, THEOREM_LAB_SLOW=1).
When v_h² is constant (the paper's ±1/√k layer) the factors are left unscaled and the constant
multiplies each (b, n) block instead: one pass over the (n, k) factor fewer.
Functions take arrays of any namespace; Grams come back in the input's namespace, norms and
eigenvalues as host floats (float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from array_api_compat import array_namespace
from array_api_compat import device as xp_device

from .activations import get_activation
from .average import averaged_dphi
from .backend import like, to_numpy
from .errors import check_array, check_int
from .network import output_layer

JacobianSum = list          # list[tuple[float, W | Segment, X]]
BLOCK_BYTES = 2 ** 26       # ~64 MB per (block × max(n, k)) float64 temporary
EIGH_MAX_N = 4096           # spectral norms: dense eigvalsh up to this n, Lanczos above


@dataclass(frozen=True)
class Segment:
    """W₂ + s(W₁ − W₂), s ∈ [0, 1], averaged over s (Definition 3). ``nodes=None``: exact
    (ReLU closed form; smooth φ: as many Gauss–Legendre nodes as ``average.nodes_for`` needs)."""

    W1: object
    W2: object
    nodes: "int | None" = None

    @property
    def shape(self):
        return self.W1.shape


# --------------------------------------------------------------------------- the algebra
def as_sum(W, X) -> JacobianSum:
    """J(W, X) as a one-term JacobianSum."""
    return [(1.0, W, X)]


def average_jacobian(W1, W2, X, nodes=None) -> JacobianSum:
    """J̄(W₁, W₂, X) = ∫₀¹ J(W₂ + s(W₁ − W₂), X) ds (Definition 3), one ``Segment`` term.

    ``nodes=None`` is exact to ~1e-15 (see ``average.py`` for the node count and why); an
    integer q forces q-node Gauss–Legendre in s.
    """
    return [(1.0, Segment(W1, W2, nodes), X)]


def jac_difference(A: JacobianSum, B: JacobianSum) -> JacobianSum:
    """A − B."""
    return list(A) + [(-float(c), W, X) for c, W, X in B]


def _v(v, k, ref):
    return like(output_layer(k) if v is None else to_numpy(v), ref)


def _same(X1, X2) -> bool:
    if X1 is X2:
        return True
    if X1.shape != X2.shape:
        return False
    xp = array_namespace(X1)
    return bool(xp.all(X1 == like(X2, X1)))


def _compile(S: JacobianSum, ref):
    """JacobianSum -> [(parts, Q)]: M = Σ_terms Φ(parts) □ Q with Φ(parts) = Σ c·φ̄'(X_p W ᵀ)."""
    groups = []                                           # [(X_g, [(c, W)])]
    for c, W, X in S:
        X = like(X, ref)
        for Xg, members in groups:
            if _same(Xg, X):
                members.append((float(c), W))
                break
        else:
            groups.append((X, [(float(c), W)]))
    if not groups:
        raise ValueError("empty JacobianSum")
    X0 = groups[0][0]
    parts = [(c, W, Xg) for Xg, members in groups for c, W in members]
    terms = [(parts, X0)]
    terms += [([(c, W, Xg) for c, W in members], Xg - X0) for Xg, members in groups[1:]]
    return terms


def _factor(parts, rows, act, v):
    """Φ(parts)[rows] diag(v): (b, k) = Σ_p c_p φ̄'(X_p[rows] W_pᵀ) v."""
    out = None
    for c, W, X in parts:
        Xr = X[rows]
        if isinstance(W, Segment):
            W2 = like(W.W2, Xr)
            a = Xr @ W2.T                                              # (b, k)
            t = Xr @ (like(W.W1, Xr) - W2).T                           # (b, k)
            F = averaged_dphi(a, t, act, W.nodes)
        else:
            F = act.dphi(Xr @ like(W, Xr).T)                           # (b, k)
        out = c * F if out is None else out + c * F
    return out if v is None else out * v


def _block(n, k, block, sym=False):
    """Rows per block: ~BLOCK_BYTES temporaries; for a symmetric Gram at most ~n/4 rows, so that
    computing only the upper block-triangle saves ~3/8 of the flops."""
    if block is not None:
        return max(1, int(block))
    b = BLOCK_BYTES // (8 * max(n, k, 1))
    return max(1, min(n, b, max(64, -(-n // 4)) if sym else b))


def _v_scale(v, k, ref):
    """(factor multiplier, scalar): v itself and 1, or None and c when v_h² ≡ c (the paper's
    ±1/√k layer): the scalar is then applied to the (b, n) block, not to the (n, k) factors."""
    vv = _v(v, k, ref)
    vh = np.asarray(to_numpy(vv), dtype=np.float64)
    if vh.size and np.all(vh * vh == vh[0] * vh[0]):
        return None, float(vh[0] * vh[0])
    return vv, 1.0


def gram(A: JacobianSum, B: JacobianSum, activation, v=None, block=None):
    """(n, n) = A Bᵀ for two JacobianSums, in the namespace of A's first X.

    Filled in row blocks of ``block`` rows (default: ~64 MB temporaries); the upper triangle only
    when ``B is A``. Memory O(n² + n·k·#terms).
    """
    act = get_activation(activation, "gram")
    ref = A[0][2]
    xp = array_namespace(ref)
    k = A[0][1].shape[0]
    vv, c = _v_scale(v, k, ref)
    sym = B is A
    TA = _compile(A, ref)
    TB = TA if sym else _compile(B, ref)
    nA, nB = TA[0][1].shape[0], TB[0][1].shape[0]
    right = [(_factor(parts, slice(None), act, vv), Q) for parts, Q in TB]      # (n, k), (n, d)
    G = xp.zeros((nA, nB), dtype=ref.dtype, device=xp_device(ref))               # (nA, nB)
    b = _block(max(nA, nB), k, block, sym)
    for i0 in range(0, nA, b):
        I = slice(i0, min(i0 + b, nA))
        J = slice(i0, nB) if sym else slice(0, nB)
        left = [(P[I], Q[I]) for P, Q in right] if sym else \
            [(_factor(parts, I, act, vv), Q[I]) for parts, Q in TA]
        acc = None
        for Pl, Ql in left:
            for Pr, Qr in right:
                term = (Pl @ Pr[J].T) * (Ql @ Qr[J].T)                 # (b, |J|)
                acc = term if acc is None else acc + term
        if c != 1.0:
            acc = acc * c
        G[I, J] = acc
        if sym and I.stop < nB:
            G[I.stop:, I] = acc[:, I.stop - i0:].T
    return G


def cross_gram(W1, X1, W2, X2, activation, v=None, block=None):
    """(n, n) = J(W₁, X₁) J(W₂, X₂)ᵀ."""
    return gram(as_sum(W1, X1), as_sum(W2, X2), activation, v, block)


def check_jacobian_args(owner: str, W, X, activation, W2=None, v=None, basis=None) -> None:
    """The public boundary of the Jacobian functions: shapes that agree, finite entries, a known
    activation, and an (n, n) result that fits in memory. Inside, arguments are trusted."""
    from .sizes import check_size, gram_bytes
    get_activation(activation, owner)
    check_array("X", X, owner, ndim=2)
    n, d = X.shape
    check_array("W", W, owner, ndim=2, cols=d, cols_why=f" (X has d = {d} columns)")
    k = W.shape[0]
    if W2 is not None:
        check_array("W2", W2, owner, ndim=2, length=k, length_why=f" (W has k = {k})", cols=d,
                    cols_why=f" (X has d = {d} columns)")
    if v is not None:
        check_array("v", v, owner, ndim=1, length=k, length_why=f" (one per hidden unit: W has "
                    f"k = {k} rows)")
    if basis is not None:
        check_array("basis", basis, owner, ndim=2, length=n, length_why=f" (X has n = {n} rows)")
    check_size(owner, {"n": "X", "d": "X", "k": "W"}, gram_bytes(int(n), int(d), int(k)),
               what=f"the (n, n) Gram and its factors (n={n}, k={k})")


def jacobian_gram(W, X, activation, W2=None, v=None, block=None):
    """J(W, X) J(W2, X)ᵀ ∈ ℝ^{n×n} (W2 = W by default; E-2), never materialising J.

    ``v`` defaults to the paper's ±1/√k output layer, for which diag(v)² = I/k.
    ``block``: rows per block (default ~64 MB temporaries).
    """
    check_jacobian_args("jacobian_gram", W, X, activation, W2, v)
    if block is not None:
        check_int("block", block, "jacobian_gram", low=1)
    A = as_sum(W, X)
    return gram(A, A if W2 is None else as_sum(W2, X), activation, v, block)


def _full_terms(S, activation, v):
    """[(Φ diag(v), Q)] of a JacobianSum, factors in full (memory O(nk·#terms))."""
    act = get_activation(activation, "spectral_norm")
    ref = S[0][2]
    vv = _v(v, S[0][1].shape[0], ref)
    terms = [(_factor(parts, slice(None), act, vv), Q) for parts, Q in _compile(S, ref)]
    return terms


def spectral_norm(A: JacobianSum, activation, v=None) -> float:
    """‖A‖, the largest singular value, = √λ_max(A Aᵀ): dense up to n = EIGH_MAX_N, else Lanczos
    on u ↦ A(Aᵀu) (two GEMM pairs per term, memory O(nk))."""
    n = A[0][2].shape[0]
    if n <= EIGH_MAX_N:
        G = to_numpy(gram(A, A, activation, v)).astype(np.float64)
        return float(np.sqrt(max(np.linalg.eigvalsh((G + G.T) / 2)[-1], 0.0)))
    from scipy.sparse.linalg import LinearOperator, eigsh
    terms = [(to_numpy(P).astype(np.float64), to_numpy(Q).astype(np.float64))
             for P, Q in _full_terms(A, activation, v)]

    def mv(u):
        u = np.ravel(u)
        Z = sum(P.T @ (u[:, None] * Q) for P, Q in terms)              # (k, d) = Aᵀu
        return sum(np.sum(P * (Q @ Z.T), axis=1) for P, Q in terms)    # (n,)  = A Aᵀu
    lam = eigsh(LinearOperator((n, n), matvec=mv, dtype=np.float64), k=1, which="LA",
                tol=0, return_eigenvectors=False)[0]
    return float(np.sqrt(max(lam, 0.0)))


def jacobian_norm(W, X, activation, v=None) -> float:
    """‖J(W, X)‖ (Lemma 1(ii), E-10)."""
    return spectral_norm(as_sum(W, X), activation, v)


def jacobian_diff_norm(W1, X1, W2, X2, activation, v=None) -> float:
    """‖J(W₁, X₁) − J(W₂, X₂)‖ (Lemma 1(i), Lemma 3; E-9, E-15), without cancellation."""
    return spectral_norm(jac_difference(as_sum(W1, X1), as_sum(W2, X2)), activation, v)


# --------------------------------------------------------------------------- S₊ and σ_min
def support_basis(cluster) -> np.ndarray:
    """Orthonormal basis U ∈ ℝ^{n×K} of S₊ (Definition 4): column l is 1_{I_l}/√n_l."""
    cluster = np.asarray(to_numpy(cluster)).astype(int)
    K = int(cluster.max()) + 1
    U = np.zeros((cluster.size, K))
    U[np.arange(cluster.size), cluster] = 1.0
    return U / np.sqrt(U.sum(axis=0))


def project_support(u, cluster):
    """P_{S₊} u: replace every entry by the mean of its cluster (spec §1.8)."""
    c = np.asarray(to_numpy(cluster)).astype(int)
    un = to_numpy(u).astype(float)
    means = np.bincount(c, weights=un) / np.bincount(c)
    return like(means[c], u)


def sigma_min(W, X, activation, basis=None, v=None) -> float:
    """σ_min(J(W, X)), or σ_min(J, S) = min over unit u ∈ span(basis) of ‖Jᵀu‖ (Definition 5).

    Computed as √λ_min(Uᵀ J Jᵀ U) with U an orthonormal basis of span(``basis``) (the columns
    are orthonormalised here, so any spanning set may be passed). float64 on the host.
    Accuracy: going through the Gram squares the condition number, so λ_min carries an absolute
    error of ~1e-16·σ_max² (float64 eigvalsh); σ_min is accurate relative to σ_max, and values
    below ~1e-8·σ_max are not resolved (they may come back as 0).
    """
    check_jacobian_args("sigma_min", W, X, activation, v=v, basis=basis)
    G = to_numpy(jacobian_gram(W, X, activation, v=v)).astype(np.float64)
    return sigma_min_of_gram(G, basis)


def sigma_min_of_gram(G, basis=None) -> float:
    """σ_min on span(basis) from a Gram G = J Jᵀ: √λ_min(Uᵀ G U), U an orthonormal basis of
    span(``basis``) (ℝⁿ when None). The one definition of σ_min(J, S) (Definition 5); every
    caller that already holds G (lemma checkers, tracking) uses it."""
    G = np.asarray(to_numpy(G), dtype=np.float64)
    if basis is not None:
        U, _ = np.linalg.qr(np.asarray(to_numpy(basis), dtype=np.float64))
        G = U.T @ G @ U
    lam = np.linalg.eigvalsh((G + G.T) / 2)[0]
    return float(np.sqrt(max(lam, 0.0)))


# --------------------------------------------------------------------------- training-time
def _dphi_scaled(W, X, act, v):
    """φ'(XWᵀ) diag(v) (n, k), computed in one buffer by the gradient step's in-place kernels
    (numpy's threaded blocks; fresh (n, k) temporaries cost more in page faults than in
    arithmetic at n = 1000, k = 4096, measured)."""
    from .step import GradientStep
    step = GradientStep(X, v, act, engine="threads")
    step.forward(W)
    A = step.dphi()
    A *= v
    return A


def lambda_max(W, X, activation, v=None, iters: int = 200, rtol: float = 1e-7) -> float:
    """λ_max(J(W, X) J(W, X)ᵀ), J Jᵀ = (A Aᵀ) ⊙ (X Xᵀ) with A = φ'(XWᵀ) diag(v) (n, k).

    Up to n = EIGH_MAX_N: that n×n Gram (one (n, k)·(k, n) GEMM) and a dense eigvalsh, exact
    and 4× faster than iterating at n = 1000, k = 4096 (measured). Above it, power iteration
    with J and Jᵀ products (two (n, d, k) GEMMs each, no (n, k) temporaries; memory O(nk), where
    the n×n Gram would not fit): converges from below (a Rayleigh quotient) and returns once the
    relative change between iterations is below ``rtol``, or after ``iters`` iterations.
    """
    xp = array_namespace(X)
    act = get_activation(activation, "lambda_max")
    W = like(W, X)
    v = _v(v, W.shape[0], X)
    A = _dphi_scaled(W, X, act, v)                                    # (n, k): φ'(XWᵀ) diag(v)
    if X.shape[0] <= EIGH_MAX_N:
        G = (A @ A.T) * (X @ X.T)
        return float(xp.linalg.eigvalsh((G + G.T) / 2)[-1])
    u = like(np.random.default_rng(0).standard_normal(X.shape[0]), X)
    lam = 0.0
    for _ in range(iters):
        u = u / xp.linalg.vector_norm(u)
        JTu = A.T @ (u[:, None] * X)                                  # (k, d) = Jᵀu reshaped
        JJTu = xp.sum(X * (A @ JTu), axis=1)                          # (n,): x_i·Σ_j A_ij (Jᵀu)_j
        new = float(xp.sum(u * JJTu))
        u = JJTu
        if abs(new - lam) <= rtol * abs(new):
            return new
        lam = new
    return lam


def support_gram(W, X_centers, U, activation, v=None) -> np.ndarray:
    """Uᵀ J(W, X̃) J(W, X̃)ᵀ U ∈ ℝ^{K×K} through the distinct rows C' of X̃ (host float64).

    X̃ = E C' with E the (n, K') row-indicator, so the n×n Gram is E G_{C'} Eᵀ and
    Uᵀ(·)U = (EᵀU)ᵀ G_{C'} (EᵀU): a K'×K' Gram instead of n×n (exact, any U).
    """
    Xc = to_numpy(X_centers).astype(np.float64)
    C, inverse = np.unique(Xc, axis=0, return_inverse=True)
    inverse = np.ravel(inverse)
    Uh = np.asarray(to_numpy(U), dtype=np.float64)
    EU = np.zeros((C.shape[0], Uh.shape[1]))
    np.add.at(EU, inverse, Uh)                                        # (K', K) = Eᵀ U
    GC = to_numpy(jacobian_gram(like(W, X_centers), like(C, X_centers), activation, v=v))
    return EU.T @ GC.astype(np.float64) @ EU


def track_spectrum(W, X, X_centers, U, activation, v=None) -> dict:
    """The training-time spectral quantities of Theorem 1 at weights W (issue: track_every).

    sigma_min_S+ : σ_min(J(W, X̃), S₊) with U an orthonormal basis of S₊ (Lemma 2, L6-H1)
    lambda_min   : λ_min(J(W, X) J(W, X)ᵀ)  (= σ_min(J)², stage II / I-8)
    top_eig_i    : the K largest eigenvalues of the empirical NTK J(W, X)J(W, X)ᵀ, i = 1..K
    """
    K = np.asarray(to_numpy(U)).shape[1]
    Gs = support_gram(W, X_centers, U, activation, v)
    G = to_numpy(jacobian_gram(W, X, activation, v=v)).astype(np.float64)
    ev = np.linalg.eigvalsh((G + G.T) / 2)
    out = {"sigma_min_S+": sigma_min_of_gram(Gs),                   # Uᵀ(·)U already applied
           "lambda_min": float(ev[0])}
    out.update({f"top_eig_{i + 1}": float(e) for i, e in enumerate(ev[::-1][:K])})
    return out
