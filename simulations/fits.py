"""Power laws fitted in log–log: y ≈ C·x^b by least squares on (log x, log y).

One function for every exponent the project reports (the lazy-training k-exponent, the vacuity
picture's n-exponents). The interval is the two-sided Student-t interval of the slope,
b ± t_{1−(1−level)/2, m−2}·se(b), se(b)² = RSS/((m−2)·Σ(log xᵢ − mean)²); with two points it is
undefined (NaN) — an exponent through two points carries no error bar.
"""

from __future__ import annotations

import math

import numpy as np


def fit_power_law(x, y, level: float = 0.95) -> dict:
    """{'exponent': b, 'intercept': log C, 'se': se(b), 'low', 'high': the level-interval of b,
    'points': m} for y ≈ C·x^b over the pairs with x > 0, y > 0 (finite); needs m ≥ 2 distinct x
    (else every value is NaN)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log(x[keep]), np.log(y[keep])
    m = int(lx.size)
    nan = float("nan")
    out = {"exponent": nan, "intercept": nan, "se": nan, "low": nan, "high": nan, "points": m,
           "level": level}
    if m < 2 or np.ptp(lx) == 0:
        return out
    sxx = float(np.sum((lx - lx.mean()) ** 2))
    b = float(np.sum((lx - lx.mean()) * (ly - ly.mean())) / sxx)
    a = float(ly.mean() - b * lx.mean())
    out.update(exponent=b, intercept=a)
    if m > 2:
        from scipy.stats import t
        rss = float(np.sum((ly - a - b * lx) ** 2))
        se = math.sqrt(rss / (m - 2) / sxx)
        half = float(t.ppf(1 - (1 - level) / 2, m - 2)) * se
        out.update(se=se, low=b - half, high=b + half)
    return out
