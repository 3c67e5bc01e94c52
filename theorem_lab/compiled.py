"""tanh, erf and softplus kernels compiled by numba (optional: ``pip install theorem-lab[fast]``):
the step's epilogue, and the whole step of many small runs.

numpy's float64 tanh and exp are scalar code on CPUs without AVX-512 (19 and 10 ns per element
on a 2-core AVX2 EPYC, measured), and that pass costs more than the step's two GEMMs for small
runs. This module computes the epilogue of step.py (Z → φ'(Z) in place, f = φ(Z) v) in one
compiled pass that LLVM vectorises: 3.4 ns per element on that machine, against 8.9 for
``step._np_tanh_exp``, 7.2 with torch's tanh and 16.7 with numpy's (the whole epilogue, one
thread, (1280, 128) float64 blocks, measured).

tanh without a transcendental call (a call would stop the vectorisation):

    a = 2|z| (capped at 44, where tanh = 1 and φ' < 1e-18 in float64),
    a = m ln2 + r,  m = round(a / ln2),  |r| ≤ ln2 / 2   (Cody–Waite: ln2 in two parts),
    E = expm1(−a) = 2^−m (1 + q) − 1 = 2^−m q + (2^−m − 1),   q = expm1(−r) by its Taylor
        series to r¹³ (truncation < 5e-18), evaluated by Estrin's scheme (short dependency
        chains), 2^−m built from its exponent bits,
    tanh|z| = −E / (2 + E),   φ'(z) = 1 − tanh² z = 4 (1 + E) / (2 + E)².

There is no cancellation: for m = 0, E = q has no constant term, and for m ≥ 1 both terms of E
are negative where q < 0 and |2^−m q| ≤ 0.21 against 2^−m − 1 ≤ −½ where not. Measured over
z ∈ [−30, 30], ±[1e-300, 1] and the extremes: relative error ≤ 4.7e-16 in φ and absolute error
≤ 4.5e-16 in φ' (tests/core/test_step.py); φ(±inf) = ±1, φ(−0) = −0, NaN propagates. float32
blocks take the same scheme in float32 arithmetic (``_tanh_row32``: Taylor to r⁷, a cap of 18;
≤ 3e-7 relative in φ, ≤ 2.5e-7 absolute in φ'), 2.7× faster than the float64 kernel on float32
data; with it the float32 step of ``per-run:threads/numba`` at n=1000 d=50 k=4096 went from
7.7 to 5.2-5.8 ms on the 2-core Xeon, and ``per-run:units/numba`` (5.1-5.4) and ``per-run:torch``
(4.7-7.3 from round to round) now trade the first place there (measured).

erf (φ(z) = √(π/2) erf(z/√2), φ' = e^{−z²/2}) and softplus (φ = log(1 + e^z), φ' = sigmoid)
take the same route: the exponential by the same Cody–Waite scheme, erf and log1p by fitted
polynomials (their sections below). One thread, 2-core Zen 5 EPYC, ns per element for φ and φ'
(measured): erf 1.6-1.8 in float64 and 0.40 in float32, against 1.2-1.5 and 0.52 for torch's
erf alone on two threads; softplus 1.3 and 0.32; tanh 0.72-0.78 and 0.26.

Every kernel is compiled on first use (about 1.4 s) and cached on disk by numba (``cache=True``:
next to this file, or numba's user cache where that is read-only), so later processes load it.
Where neither is writable, they are compiled in every process instead (``_jit``).

The vector width is measured per machine (simd_width.py: LLVM keeps some AVX-512 CPUs to 256
bits, and 512 ran this pass 1.3× faster on a 2-core Xeon).

The whole-step kernels of many small runs (``batched:numba``) split the runs among numba's own
threads (``forward_parts``, ``descend_parts``) where its TBB threading layer loads (``THREADS``;
the ``tbb`` wheel that ``theorem-lab[fast]`` installs on Linux x86-64), and among step.py's
Python thread pool otherwise. B=32 n=40 d=8 k=128 float64 on a 2-core Xeon, µs per call:
forward 370 on one thread, 273 split by the pool (it wakes a sleeping worker and waits on a
lock), 192 split by TBB; descend 171, 180 and 92 (measured). GNU OpenMP, numba's other fast
layer on Linux, is never chosen here: after it has run, a fork() kills the child ("fork()
called from a process already using GNU OpenMP"), and multiprocessing forks by default on Linux.
"""

from __future__ import annotations

import ctypes
import math
import os
from importlib import metadata

import llvmlite.binding
import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from . import simd_width

# Before anything is compiled or loaded: the vector width measured for this machine (simd_width.py).
SIMD = simd_width.apply(numba.config, llvmlite.binding.get_host_cpu_features().flatten())

LN2_HI = 6.93147180369123816490e-01     # ln 2 = LN2_HI + LN2_LO; LN2_HI has 32 bits, so m·LN2_HI
LN2_LO = 1.90821492927058770002e-10     # is exact for every m used here (fdlibm's split)
LOG2E = 1.4426950408889634
A_MAX = 44.0                            # e^-44 = 7.8e-20: tanh = 1 and φ' < 1e-18 beyond
C = tuple((-1.0) ** j / math.factorial(j) for j in range(1, 14))   # expm1(−r) = Σ C[j−1] r^j

# float32: the same scheme in float32 arithmetic (16 lanes of a 512-bit vector, not 8): every
# constant a float32, so that numba keeps the arithmetic in float32 (a Python float in it would
# promote each element to float64, as the float64 kernel does with float32 data)
F32 = np.float32
LN2_HI32 = F32(0.693145751953125)       # 16 bits: m·LN2_HI32 is exact for m ≤ 26 (a ≤ A_MAX32)
LN2_LO32 = F32(1.4286068203094172e-06)  # ln 2 − LN2_HI32
LOG2E32 = F32(LOG2E)
A_MAX32 = F32(18.0)                     # |z| ≥ 9: φ within 1 ulp of ±1, φ' = 4e^-18 < 6.1e-8
C32 = tuple(F32(c) for c in C[:7])      # to r⁷: truncation < 1.3e-8 for |r| ≤ ln2/2
ZERO32, HALF32, ONE32, TWO32, FOUR32 = F32(0.0), F32(0.5), F32(1.0), F32(2.0), F32(4.0)


def _jit(**options):
    """``numba.njit(nogil=True, cache=True, error_model="numpy", boundscheck=False, **options)``;
    without a writable cache location (numba raises at decoration), the same without the cache."""
    def decorate(fn):
        kw = dict(nogil=True, error_model="numpy", boundscheck=False, **options)
        try:
            return numba.njit(cache=True, **kw)(fn)
        except RuntimeError:               # "cannot cache function ...: no locator available"
            return numba.njit(cache=False, **kw)(fn)
    return decorate


@intrinsic
def _bits_as_float64(typingctx, bits):
    """The float64 whose IEEE bits are the int64 ``bits`` (an LLVM bitcast, vectorisable)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@intrinsic
def _bits_as_float32(typingctx, bits):
    """The float32 whose IEEE bits are the int32 ``bits``."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return sig, codegen


@_jit(inline="always", fastmath={"contract"})
def _exp_split(a):
    """(2^−m, expm1(−r)) for a = m ln2 + r, 0 ≤ a ≤ 1022 ln2 (the caller caps it), so that
    e^{−a} = 2^−m (1 + q) and expm1(−a) = 2^−m q + (2^−m − 1): the module docstring's scheme,
    inlined into each row kernel (a call would stop the vectorisation)."""
    c = C
    m = np.floor(a * LOG2E + 0.5)
    r = (a - m * LN2_HI) - m * LN2_LO
    r2 = r * r
    r4 = r2 * r2
    q = r * ((c[0] + c[1] * r) + r2 * (c[2] + c[3] * r)
             + r4 * ((c[4] + c[5] * r) + r2 * (c[6] + c[7] * r))
             + (r4 * r4) * ((c[8] + c[9] * r) + r2 * (c[10] + c[11] * r) + r4 * c[12]))
    return _bits_as_float64((1023 - np.int64(m)) << 52), q


@_jit(inline="always", fastmath={"contract"})
def _exp_split32(a):
    """``_exp_split`` in float32 arithmetic (0 ≤ a ≤ 126 ln2; the series to r⁷)."""
    c = C32
    m = np.floor(a * LOG2E32 + HALF32)
    r = (a - m * LN2_HI32) - m * LN2_LO32
    r2 = r * r
    q = r * ((c[0] + c[1] * r) + r2 * (c[2] + c[3] * r)
             + (r2 * r2) * ((c[4] + c[5] * r) + r2 * c[6]))
    return _bits_as_float32((np.int32(127) - np.int32(m)) << np.int32(23)), q


@_jit(fastmath={"contract"})
def _tanh_row(z_row, phi):
    """φ(z) into ``phi`` and φ'(z) over ``z_row`` in place, for one row (the module docstring).
    Of fastmath only contraction (FMA): reassociation would undo the Cody–Waite split."""
    for i in range(z_row.shape[0]):
        z = z_row[i]
        a = 2.0 * abs(z)
        a = a if a < A_MAX else A_MAX                  # also NaN -> A_MAX: m stays in range
        p, q = _exp_split(a)                           # 2^−m, expm1(−r)
        E = p * q + (p - 1.0)                          # expm1(−2|z|)
        s = 1.0 / (2.0 + E)
        t = math.copysign(-E * s, z)
        d = 4.0 * (1.0 + E) * s * s
        phi[i] = t if z == z else z
        z_row[i] = d if z == z else z


@_jit(fastmath={"contract"})
def _tanh_row32(z_row, phi):
    """``_tanh_row`` for float32 rows, in float32 arithmetic: relative error ≤ 3e-7 (2.5 ulp) in
    φ and absolute ≤ 2.5e-7 in φ' (tests/core/test_step.py)."""
    for i in range(z_row.shape[0]):
        z = z_row[i]
        a = TWO32 * abs(z)
        a = a if a < A_MAX32 else A_MAX32
        p, q = _exp_split32(a)
        E = p * q + (p - ONE32)
        s = ONE32 / (TWO32 + E)
        t = math.copysign(-E * s, z)
        d = FOUR32 * (ONE32 + E) * s * s
        phi[i] = t if z == z else z
        z_row[i] = d if z == z else z


@_jit(fastmath={"reassoc"})
def _dot(a, b):
    """Σ a_i b_i in a's dtype (float32 rows stay float32)."""
    acc = a.dtype.type(0)
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


# --- erf: φ(z) = √(π/2) erf(z/√2), φ'(z) = e^{−z²/2} (activations.py) -------------------------
# With x = z²/2 and u = |z|/√2 (so x = u²):
#   φ'(z) = e^{−x}: x = m ln2 + r as in _tanh_row, e^{−x} = 2^−m (1 + expm1(−r)); 0 for x ≥ X_MAX;
#   u < ERF_A:  φ(z) = z R(x),  R a least-squares fit of φ(z)/z = (√π/2) erf(u)/u on x ∈ [0, 4]
#               (R(0) = 1: exact for tiny z, subnormals included);
#   u ≥ ERF_A:  φ(z) = sign(z) √(π/2) (1 − e^{−x} Q(1/u)/u),  Q a fit of u e^{u²} erfc(u) on
#               1/u ∈ [1/6, 1/2] (u capped at ERF_U_MAX, where erfc(u) < 1e-17);
# both computed and one kept (a select keeps the loop vectorised), the polynomials by Horner's
# rule. The coefficients are least-squares fits (relative error) in 60-digit arithmetic (mpmath)
# at 4× as many Chebyshev nodes as the degree (scripts/fit_kernel_polynomials.py prints them):
# degrees 20 (R) and 14 (Q); for float32 (``_erf_row32``) 9 and 5, Q on 1/u ∈ [1/4, 1/2] (u
# capped at 4: erfc(4) = 1.5e-8). Measured
# against scipy's erf and numpy's exp in float64 (tests/core/test_step.py): float64 φ within
# 1e-15 relative (against mpmath: 5.4e-16, scipy's own 6.1e-16), φ' within 1.2e-16 absolute;
# float32 φ within 5e-7 relative (4 ulp, just below the switch), φ' within 9e-8 absolute.
SQRT_HALF_PI = math.sqrt(math.pi / 2)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
ERF_A = 2.0
ERF_U_MAX = 6.0
X_MAX = 708.0                           # e^-708 = 3.3e-308, still normal: 2^−m from its bits
ERF_R = (1.0, -0.3333333333333333, 0.09999999999999999, -0.023809523809523784,
         0.004629629629629449, -0.0007575757575749257, 0.00010683760683503834,
         -1.3227513221893239e-05, 1.4589168910358976e-06, -1.4503851118137e-07,
         1.3122522558463467e-08, -1.089214438256026e-09, 8.350257131892636e-11,
         -5.94573973179331e-12, 3.947916538197909e-13, -2.4450963965566085e-14,
         1.3989864747613456e-15, -7.164053236511093e-17, 3.056198508480874e-18,
         -9.433678179393677e-20, 1.5325476148894113e-21)
ERF_Q = (0.5641895937745821, -1.2096158823064902e-06, -0.2820461676227758, -0.0010623407059327072,
         0.43805744795780277, -0.14582867585858528, -0.022837825836705794, -5.4291153772998815,
         24.69179195833527, -58.005471821785754, 88.1217704572993, -90.83675561868395,
         62.1369520016784, -25.668899083991565, 4.872730258881501)
SQRT_HALF_PI32, INV_SQRT2_32 = F32(SQRT_HALF_PI), F32(INV_SQRT2)
ERF_A32, ERF_U_MAX32, X_MAX32 = F32(ERF_A), F32(4.0), F32(87.0)   # e^-87 = 1.6e-38, normal
ERF_R32 = tuple(F32(c) for c in (
    0.999999992291077, -0.33333297802195033, 0.09999722064661272, -0.02380090323280251,
    0.004615775346005048, -0.0007445051213376837, 9.91164257636814e-05, -1.0280616392922614e-05,
    7.244261429842678e-07, -2.5213654086980916e-08))
ERF_Q32 = tuple(F32(c) for c in (
    0.5635282471067288, 0.011439066976932971, -0.3623904106063969, 0.28251478739025876,
    -0.0286415166485028, -0.04425920492762441))
# highest degree first, for Horner's rule; arrays, which numba compiles in as constants (over a
# tuple the loop stayed a loop, and the float64 kernel scalar: 11.3 ns per element, measured)
_R, _Q = np.array(ERF_R[::-1]), np.array(ERF_Q[::-1])
_R32, _Q32 = np.array(ERF_R32[::-1], dtype=F32), np.array(ERF_Q32[::-1], dtype=F32)


@_jit(fastmath={"contract"})
def _erf_row(z_row, phi):
    """φ(z) into ``phi`` and φ'(z) over ``z_row`` in place for erf, one row (see above)."""
    for i in range(z_row.shape[0]):
        z = z_row[i]
        x = 0.5 * z * z
        xc = x if x < X_MAX else X_MAX                 # also NaN -> X_MAX: m stays in range
        p, q = _exp_split(xc)                          # 2^−m, expm1(−r)
        e = p * q + p if x < X_MAX else 0.0            # e^{−z²/2}
        small = 0.0
        for j in range(_R.shape[0]):
            small = small * x + _R[j]
        u = abs(z) * INV_SQRT2
        uc = u if u < ERF_U_MAX else ERF_U_MAX
        uc = uc if uc > ERF_A else ERF_A
        s = 1.0 / uc
        big = 0.0
        for j in range(_Q.shape[0]):
            big = big * s + _Q[j]
        big = math.copysign(SQRT_HALF_PI * (1.0 - e * (big * s)), z)
        phi[i] = z * small if u < ERF_A else (big if z == z else z)
        z_row[i] = e if z == z else z


@_jit(fastmath={"contract"})
def _erf_row32(z_row, phi):
    """``_erf_row`` for float32 rows, in float32 arithmetic."""
    for i in range(z_row.shape[0]):
        z = z_row[i]
        x = HALF32 * z * z
        xc = x if x < X_MAX32 else X_MAX32
        p, q = _exp_split32(xc)
        e = p * q + p if x < X_MAX32 else ZERO32
        small = ZERO32
        for j in range(_R32.shape[0]):
            small = small * x + _R32[j]
        u = abs(z) * INV_SQRT2_32
        uc = u if u < ERF_U_MAX32 else ERF_U_MAX32
        uc = uc if uc > ERF_A32 else ERF_A32
        s = ONE32 / uc
        big = ZERO32
        for j in range(_Q32.shape[0]):
            big = big * s + _Q32[j]
        big = math.copysign(SQRT_HALF_PI32 * (ONE32 - e * (big * s)), z)
        phi[i] = z * small if u < ERF_A32 else (big if z == z else z)
        z_row[i] = e if z == z else z


# --- softplus: φ(z) = log(1 + e^z), φ'(z) = sigmoid(z) (activations.py) ------------------------
# With t = e^{−|z|} ∈ (0, 1] (``_exp_split`` of x = |z|):
#   φ(z) = max(z, 0) + log1p(t),  log1p(t) = t L(t),  L a fit of log1p(t)/t on t ∈ [0, 1]
#          (degree 20; float32 8), which keeps φ's relative accuracy where φ ≈ e^z is tiny;
#   φ'(z) = 1/(1 + t) for z ≥ 0 and t/(1 + t) below (activations._sigmoid's form);
#   t = 0 for |z| ≥ X_MAX: φ(z) = e^z < 3.3e-308 set to 0 there (float32: e^-87 = 1.6e-38).
# L by scripts/fit_kernel_polynomials.py, as erf's. Against numpy's logaddexp(0, z) and scipy's
# expit (tests/core/test_step.py): float64 φ within 5e-16 relative, φ' within 2.3e-16 absolute;
# float32 within 2.5e-7 and 1e-7.
SOFTPLUS_L = (1.0, -0.4999999999999907, 0.3333333333319598, -0.2499999999192906,
              0.19999999747635056, -0.16666661810732447, 0.14285651553045353,
              -0.12499423715453885, 0.11107192158461526, -0.09979683413125184,
              0.09008813443468591, -0.08070225913046529, 0.07013831998826023,
              -0.05716684876813363, 0.04189782522815647, -0.02637275612683061,
              0.01358050104388502, -0.0054123926390517935, 0.0015502464403971997,
              -0.00028203616514875193, 2.436764320782283e-05)
SOFTPLUS_L32 = tuple(F32(c) for c in (
    0.9999999651599155, -0.49999435690455246, 0.33317934321994563, -0.24833945456850948,
    0.1907130958332734, -0.1359060023528098, 0.07738073837705503, -0.028991956388973145,
    0.005105825799480875))
_L, _L32 = np.array(SOFTPLUS_L[::-1]), np.array(SOFTPLUS_L32[::-1], dtype=F32)


@_jit(fastmath={"contract"})
def _softplus_row(z_row, phi):
    """φ(z) into ``phi`` and φ'(z) over ``z_row`` in place for softplus, one row (see above)."""
    for i in range(z_row.shape[0]):
        z = z_row[i]
        x = abs(z)
        xc = x if x < X_MAX else X_MAX                 # also NaN -> X_MAX: m stays in range
        p, q = _exp_split(xc)                          # 2^−m, expm1(−r)
        t = p * q + p if x < X_MAX else 0.0            # e^{−|z|}
        log1p = 0.0
        for j in range(_L.shape[0]):
            log1p = log1p * t + _L[j]
        y = (z if z > 0.0 else 0.0) + t * log1p
        s = 1.0 / (1.0 + t)
        d = s if z >= 0.0 else t * s
        phi[i] = y if z == z else z
        z_row[i] = d if z == z else z


@_jit(fastmath={"contract"})
def _softplus_row32(z_row, phi):
    """``_softplus_row`` for float32 rows, in float32 arithmetic."""
    for i in range(z_row.shape[0]):
        z = z_row[i]
        x = abs(z)
        xc = x if x < X_MAX32 else X_MAX32
        p, q = _exp_split32(xc)
        t = p * q + p if x < X_MAX32 else ZERO32
        log1p = ZERO32
        for j in range(_L32.shape[0]):
            log1p = log1p * t + _L32[j]
        y = (z if z > ZERO32 else ZERO32) + t * log1p
        s = ONE32 / (ONE32 + t)
        d = s if z >= ZERO32 else t * s
        phi[i] = y if z == z else z
        z_row[i] = d if z == z else z


# --- the drivers: the row kernel of each activation, chosen by a branch per row (not per element:
# the row loops stay vectorised) -------------------------------------------------------------

TANH, ERF, SOFTPLUS = 0, 1, 2
KIND = {"tanh": TANH, "erf": ERF, "softplus": SOFTPLUS}      # the row kernels' selector


@_jit()
def _row(z_row, phi, kind):
    """The float64 row kernel of ``kind`` (``KIND``)."""
    if kind == TANH:
        _tanh_row(z_row, phi)
    elif kind == ERF:
        _erf_row(z_row, phi)
    else:
        _softplus_row(z_row, phi)


@_jit()
def _row32(z_row, phi, kind):
    """The float32 row kernel of ``kind``."""
    if kind == TANH:
        _tanh_row32(z_row, phi)
    elif kind == ERF:
        _erf_row32(z_row, phi)
    else:
        _softplus_row32(z_row, phi)


@_jit()
def rows(Z, v, f, kind):
    """Z (rows, k) → φ'(Z) in place, f (rows,) = φ(Z) v, row by row (φ in one row of scratch,
    so each row is read and written once, in cache)."""
    phi = np.empty(Z.shape[1], dtype=Z.dtype)
    for i in range(Z.shape[0]):
        _row(Z[i], phi, kind)
        f[i] = _dot(phi, v)


@_jit()
def rows32(Z, v, f, kind):
    """``rows`` for float32 blocks (Z, v, f all float32), in float32 arithmetic."""
    phi = np.empty(Z.shape[1], dtype=Z.dtype)
    for i in range(Z.shape[0]):
        _row32(Z[i], phi, kind)
        f[i] = _dot(phi, v)


@_jit()
def passes(Z, Phi, kind):
    """Z (rows, k) → φ'(Z) in place and φ(Z) into Phi: the compiled pass alone (the bench's
    floor, bench_step.phi_pass_s)."""
    for i in range(Z.shape[0]):
        _row(Z[i], Phi[i], kind)


@_jit()
def passes32(Z, Phi, kind):
    """``passes`` for float32 blocks."""
    for i in range(Z.shape[0]):
        _row32(Z[i], Phi[i], kind)


def epilogue(name: str):
    """step.py's epilogue for activation ``name`` ('tanh', 'erf', 'softplus') on C-contiguous
    numpy blocks: Z (..., k) → φ' in place, f (...) = φ(Z) v (the scratch ``S`` is not needed);
    float32 blocks take the float32 kernels (tanh: 1.0 ms against 2.7 for the float64 kernel on
    (500, 4096) float32, one thread, 2-core Xeon, measured)."""
    kind = KIND[name]

    def run(Z, v, f, S):
        if not (Z.flags.c_contiguous and f.flags.c_contiguous):
            raise ValueError("compiled.epilogue needs C-contiguous blocks")
        k = Z.shape[-1]
        (rows32 if Z.dtype == np.float32 else rows)(
            Z.reshape(-1, k), v.astype(Z.dtype, copy=False), f.reshape(-1), kind)
    return run


tanh_epilogue = epilogue("tanh")


def phi_dphi_pass(Z, Phi, name: str = "tanh"):
    """Z (rows, k) → φ'(Z) in place, φ(Z) into Phi, by the kernel of ``name`` and Z's dtype."""
    (passes32 if Z.dtype == np.float32 else passes)(Z, Phi, KIND[name])


# --- the whole step for small runs (kernel_choice's ``batched:numba``) -------------------------
# For many small runs BLAS's batched GEMMs and the numpy calls around them cost as much as the
# tanh pass (B=32 n=40 d=8 k=128: 0.90-0.94 ms per batched step with BLAS and the compiled
# epilogue against 0.69-0.73 ms here, two threads, measured). Here each run's row of Z = X Wᵀ is
# built in one k-vector and taken through the activation's row kernel while in L1 (tanh, erf or
# softplus), and GEMM 2 accumulates the (d, k) gradient row by row. Meant for small d·k (the
# gradient and Wᵀ stay in cache).

@_jit(fastmath={"contract"})
def forward_runs(X, W, v, D, f, lo, hi, kind):
    """Runs lo:hi of X (B, n, d), W (B, k, d): D[b] = φ'(X_b W_bᵀ) (n, k) and
    f[b] = φ(X_b W_bᵀ) v (n,), φ the activation ``kind`` (``KIND``; float64 row kernels, for
    float32 blocks too)."""
    n, d = X.shape[1], X.shape[2]
    k = W.shape[1]
    WT = np.empty((d, k), dtype=D.dtype)
    z = np.empty(k, dtype=D.dtype)
    phi = np.empty(k, dtype=D.dtype)
    for b in range(lo, hi):
        for c in range(k):
            for j in range(d):
                WT[j, c] = W[b, c, j]
        for i in range(n):
            x0 = X[b, i, 0]
            for c in range(k):
                z[c] = x0 * WT[0, c]
            for j in range(1, d):
                x = X[b, i, j]
                for c in range(k):
                    z[c] += x * WT[j, c]
            _row(z, phi, kind)
            f[b, i] = _dot(phi, v)
            row = D[b, i]
            for c in range(k):
                row[c] = z[c]


@_jit(fastmath={"contract"})
def descend_runs(X, D, r, v, W, out, sq, lo, hi):
    """Runs lo:hi: ∇_b = diag(v) D_bᵀ (r_b ⊙ X_b) (k, d), out[b] = W[b] − ∇_b and
    sq[b] = Σ ∇_b² (pass r scaled by η for a step of size η)."""
    n, d = X.shape[1], X.shape[2]
    k = W.shape[1]
    GT = np.empty((d, k), dtype=D.dtype)                  # (r ⊙ X)ᵀ D
    for b in range(lo, hi):
        GT[:] = 0.0
        for i in range(n):
            row = D[b, i]
            for j in range(d):
                xr = r[b, i] * X[b, i, j]
                g = GT[j]
                for c in range(k):
                    g[c] += xr * row[c]
        s = 0.0
        for c in range(k):
            for j in range(d):
                grad = v[c] * GT[j, c]
                out[b, c, j] = W[b, c, j] - grad
                s += grad * grad
        sq[b] = s


# --- the runs of batched:numba on numba's threads (module docstring) --------------------------

TBB_INTERFACE_MIN = 12060      # the oldest TBB numba's layer accepts (numba's own check)


def _load_tbb() -> bool:
    """Whether numba's TBB threading layer can load, with a TBB numba accepts. pip's ``tbb``
    wheel puts libtbb.so.12 in ``<prefix>/lib``, off the dynamic loader's path: it is loaded
    here by its full path first, so that numba's ``tbbpool`` finds it already in the process. An
    older TBB is left to numba: asking for it by name would fail the user's own prange code."""
    try:
        files = metadata.distribution("tbb").files or []
    except metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name == "libtbb.so.12":
            try:
                ctypes.CDLL(str(f.locate()), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                pass
            break
    try:
        from numba.np.ufunc import tbbpool  # noqa: F401
        version = ctypes.CDLL("libtbb.so.12").TBB_runtime_interface_version
    except (ImportError, OSError, AttributeError):
        return False
    return version() >= TBB_INTERFACE_MIN


def _numba_threads() -> bool:
    """Whether ``batched:numba`` runs its parts on numba's threads: the user chose a layer
    (``NUMBA_THREADING_LAYER``, theirs to weigh), or TBB loads, which is then asked for by name
    (so that a TBB too old for numba fails loudly instead of numba falling back to OpenMP)."""
    if os.environ.get("NUMBA_THREADING_LAYER"):
        return True
    if not _load_tbb():
        return False
    numba.config.THREADING_LAYER = "tbb"
    return True


THREADS = _numba_threads()      # set to False if numba's threads fail to start (batched_steps)


@_jit(parallel=True)
def forward_parts(X, W, v, D, f, cuts, kind):
    """``forward_runs`` on the runs cuts[p]:cuts[p+1] of every part p, the parts on numba's
    threads."""
    for p in numba.prange(cuts.shape[0] - 1):
        forward_runs(X, W, v, D, f, cuts[p], cuts[p + 1], kind)


@_jit(parallel=True)
def descend_parts(X, D, r, v, W, out, sq, cuts):
    """``descend_runs`` on the runs cuts[p]:cuts[p+1] of every part p, the parts on numba's
    threads."""
    for p in numba.prange(cuts.shape[0] - 1):
        descend_runs(X, D, r, v, W, out, sq, cuts[p], cuts[p + 1])
