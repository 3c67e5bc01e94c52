"""Memory estimates of the core computations, from their shapes, checked before any allocation.

Each estimate is a sum of terms, one per array family, in bytes (float64 = 8 bytes). A term names
the options its shape comes from, so a refusal blames the option that makes the run too big:
the largest factor (relative to its default) of the largest term.

    trajectory   per step α_t and the schedule's values; per logged row a dict of floats
    train        W, W₀, the gradient, the best iterate and one copy in flight: 5·k·d;
                 φ and φ' of XWᵀ (n, k) and one temporary: 3·n·k; X and the test set
                 (n + n_test)·d; the test forward pass n_test·k
    gram         the (n, n) Gram, the (n, k) right factor, one (block, max(n, k)) temporary
    eigh         a symmetric (n, n) eigendecomposition: matrix, eigenvectors, workspace ≈ 3·n²
    gram_eigh    both (the empirical NTK and its spectrum)

They count the arrays the code holds at its peak, not allocator overhead or library
workspaces: their job is to refuse a run that cannot fit (a 10⁸-wide network) before it starts,
not to plan a tight one.
"""

from __future__ import annotations

from .errors import check_fits

FLOAT = 8            # bytes per float64
BLOCK_BYTES = 2 ** 26


def _refuse_if_too_big(owner: str, terms: list, what: str) -> int:
    """``terms``: [(bytes, [(option, value, default), ...])]. Raise naming the option to lower."""
    total = sum(b for b, _ in terms)
    big, factors = max(terms, key=lambda t: t[0])
    option, value, _ = max(factors, key=lambda f: f[1] / max(f[2], 1))
    check_fits(option, value, owner, total, what)
    return total


def train_bytes(n: int, d: int, k: int, n_test: int = 0) -> list:
    return [(FLOAT * 5 * k * d, [("k", k, 4096), ("d", d, 50)]),
            (FLOAT * 3 * n * k, [("n", n, 1000), ("k", k, 4096)]),
            (FLOAT * (n + n_test) * d, [("n", n, 1000), ("d", d, 50)]),
            (FLOAT * n_test * k, [("n_test", n_test, 1000), ("k", k, 4096)])]


def gram_bytes(n: int, d: int, k: int) -> list:
    return [(FLOAT * n * n, [("n", n, 1000)]),
            (FLOAT * n * (k + d), [("n", n, 1000), ("k", k, 4096)]),
            (min(BLOCK_BYTES, FLOAT * n * max(n, k)), [("n", n, 1000), ("k", k, 4096)]),
            (FLOAT * k * d, [("k", k, 4096), ("d", d, 50)])]


def eigh_bytes(n: int) -> list:
    return [(FLOAT * 3 * n * n, [("n", n, 1000)])]


# One logged trajectory row is a dict of ~15 Python floats (≈ 1.2 kB with the dict) and every
# step keeps α_t (a list entry and a float, 32 bytes) plus the schedule's (steps,) arrays.
ROW_BYTES = 1500
STEP_BYTES = 32 + 3 * FLOAT


def trajectory_bytes(steps: int, log_every: int = 1) -> list:
    """The per-step bookkeeping of a run of ``steps`` steps logging every ``log_every``."""
    return [(STEP_BYTES * (steps + 1) + ROW_BYTES * (steps // max(log_every, 1) + 1),
             [("steps", steps, 600)])]


def check_size(owner: str, names: dict, *estimates: list, what: str = "the arrays") -> int:
    """Sum the estimates' terms and refuse (``ParameterError``) when they do not fit.

    ``names`` maps the generic factor names (n, d, k, n_test) to the options as the caller's
    user typed them (``{'k': '--width', 'd': '--dim'}``); unmapped names are used as they are.
    Returns the estimate in bytes.
    """
    terms = [(b, [(names.get(o, o), v, dflt) for o, v, dflt in fs]) for est in estimates
             for b, fs in est]
    return _refuse_if_too_big(owner, terms, what)
