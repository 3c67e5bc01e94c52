"""Fit the polynomials of compiled.py's erf and softplus kernels and print them as they stand there.

    φ(z)/z = (√π/2) erf(u)/u  as R(x), x = u² ∈ [0, ERF_A²]          (erf, u = |z|/√2)
    u e^{u²} erfc(u)          as Q(s), s = 1/u ∈ [1/u_max, 1/ERF_A]
    log1p(t)/t                as L(t), t = e^{−|z|} ∈ [0, 1]          (softplus)

least squares on the relative error in 60-digit arithmetic (mpmath, which sympy brings), at 4×
as many Chebyshev nodes as the degree. ``python scripts/fit_kernel_polynomials.py``;
tests/core/test_step.py checks that compiled.py holds what this fits.
"""
import mpmath as mp

mp.mp.dps = 60


def fit(f, lo, hi, degree: int) -> list:
    """Coefficients c_0..c_degree of Σ c_j x^j minimising Σ (1 − p(x_i)/f(x_i))² over the
    Chebyshev nodes x_i of [lo, hi]."""
    lo, hi = mp.mpf(lo), mp.mpf(hi)
    m = 4 * degree
    xs = [(lo + hi) / 2 + (hi - lo) / 2 * mp.cos(mp.pi * (i + mp.mpf(1) / 2) / m) for i in range(m)]
    A = mp.matrix([[x ** j / f(x) for j in range(degree + 1)] for x in xs])
    return [float(c) for c in mp.qr_solve(A, mp.matrix([1] * m))[0]]


def phi_over_z(x):
    return mp.sqrt(mp.pi) / 2 * mp.erf(mp.sqrt(x)) / mp.sqrt(x) if x > 0 else mp.mpf(1)


def scaled_erfc(s):
    return mp.erfc(1 / s) * mp.exp(1 / s ** 2) / s


def log1p_over_t(t):
    return mp.log1p(t) / t if t > 0 else mp.mpf(1)


def coefficients(erf_a: float = 2.0) -> dict:
    """{name in compiled.py: coefficients}: erf for float64 (u ≤ 6) and float32 (u ≤ 4), softplus
    for both."""
    return {"ERF_R": fit(phi_over_z, 0, erf_a ** 2, 20),
            "ERF_Q": fit(scaled_erfc, mp.mpf(1) / 6, 1 / mp.mpf(erf_a), 14),
            "ERF_R32": fit(phi_over_z, 0, erf_a ** 2, 9),
            "ERF_Q32": fit(scaled_erfc, mp.mpf(1) / 4, 1 / mp.mpf(erf_a), 5),
            "SOFTPLUS_L": fit(log1p_over_t, 0, 1, 20),
            "SOFTPLUS_L32": fit(log1p_over_t, 0, 1, 8)}


if __name__ == "__main__":
    for name, c in coefficients().items():
        print(f"{name} = ({', '.join(repr(x) for x in c)})")
