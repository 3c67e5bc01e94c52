"""The statements `theorem-lab check` samples: a configuration sampler and an evaluator per lemma.

A configuration is a plain JSON dict (data options, width, seeds, schedule, perturbation), so
every violation can be saved and replayed exactly: ``evaluate(lemma, config)`` rebuilds the data,
W₀ and runs from it and returns ``{statement: Check}``.

Probabilistic statements (PROBABILISTIC) hold "with probability ≥ 1 − δ over W₀": one sample is
one draw of W₀ at a width meeting the lemma's threshold, and the summary compares the failure
frequency with δ (Clopper–Pearson).
"""

from __future__ import annotations

import math

import numpy as np

from theorem_lab.covariance import lambda_of
from theorem_lab.data import make_clusterable
from theorem_lab.errors import ParameterError, check_choice
from theorem_lab.kernels import sigma_min, support_basis

from . import lemmas_coupling as lc
from . import lemmas_dynamics as ld
from . import lemmas_jacobian as lj
from .runs import paired_run

LEMMAS = ("1", "2", "3", "4", "5", "6", "7", "8", "stage2", "theorem")
PROBABILISTIC = {"L1-iii": "delta", "L2-iii": "delta"}
ACTS = ("erf", "tanh", "softplus")
MAX_RESAMPLE = 50
MAX_WIDTH = 8000   # largest k drawn for the probabilistic statements


def _data(cfg: dict):
    return make_clusterable(n=cfg["n"], K=cfg["K"], d=cfg["d"], eps=cfg["eps"], rho=cfg["rho"],
                            seed=cfg["data_seed"], n_test=0)


def _W(cfg: dict, seed_key: str = "w_seed", k=None) -> np.ndarray:
    return np.random.default_rng(cfg[seed_key]).standard_normal((k or cfg["k"], cfg["d"]))


def _valid_rho(rng, n, K, high=0.4) -> float:
    sizes = (n // K, n // K + 1)
    for _ in range(MAX_RESAMPLE):
        rho = round(float(rng.uniform(0, high)), 4)      # round first, then check the value kept
        if all(round(rho * m) / m < 0.5 for m in sizes):
            return rho
    return 0.0


def _base(rng, max_n=40, max_K=4, max_d=10, k_range=(8, 512), eps_range=(0.01, 0.5)) -> dict:
    K = int(rng.integers(2, max_K + 1))
    n = int(rng.integers(2 * K, max(2 * K, max_n) + 1))
    return {"n": n, "K": K, "d": int(rng.integers(3, max_d + 1)),
            "eps": float(np.exp(rng.uniform(*np.log(eps_range)))), "rho": _valid_rho(rng, n, K),
            "data_seed": int(rng.integers(2**31)), "activation": str(rng.choice(ACTS)),
            "k": 2 * int(rng.integers(k_range[0] // 2, k_range[1] // 2 + 1)),
            "w_seed": int(rng.integers(2**31)), "w2_seed": int(rng.integers(2**31)),
            "scale": float(np.exp(rng.uniform(np.log(1e-2), np.log(3.0))))}


# --- samplers ------------------------------------------------------------------------------------

def _sample_prob(rng, which: str) -> dict:
    """A configuration at the width threshold of (L1-iii) or (L2-iii)."""
    for _ in range(4 * MAX_RESAMPLE):
        cfg = _base(rng, max_n=8, max_K=3, max_d=12, eps_range=(1.0, 2.0))
        cfg.update(delta=0.1, activation=str(rng.choice(ACTS)), d=int(rng.integers(6, 13)))
        data = _data(cfg)
        G = 1.0
        if which == "L1-iii":
            thr = lj.lemma1_width(data.n, lambda_of(data.X, cfg["activation"]), G, cfg["delta"])
        else:
            thr = lj.lemma2_width(data.K, lambda_of(data.centers, cfg["activation"]), G, cfg["delta"])
        if thr <= MAX_WIDTH:
            cfg["k"] = 2 * math.ceil(thr / 2)
            return cfg
    raise ParameterError(f"no configuration with a {which} width threshold below {MAX_WIDTH} was found")


def _schedule_fast(rng) -> "tuple[str, int]":
    start = int(rng.integers(0, 30))
    end = start + int(rng.integers(10, 60))
    return f"linear:start={start},end={end}", end + int(rng.integers(2, 15))


def sample(lemma: str, rng) -> dict:
    """One random valid configuration for ``lemma``."""
    check_choice("lemma", lemma, "check", LEMMAS)
    if lemma == "1":
        return {**_base(rng), "lemma": "1", **_sample_prob(rng, "L1-iii")} if rng.random() < 0.3 \
            else {**_base(rng), "lemma": "1"}
    if lemma == "2":
        return {**_base(rng), "lemma": "2", **_sample_prob(rng, "L2-iii")} if rng.random() < 0.3 \
            else {**_base(rng), "lemma": "2"}
    if lemma in ("3", "4"):
        return {**_base(rng), "lemma": lemma}
    cfg = _base(rng, max_n=24, max_K=3, max_d=8, k_range=(16, 256))
    cfg["lemma"] = lemma
    if lemma in ("5", "7", "8", "stage2"):
        cfg["schedule"], cfg["steps"] = _schedule_fast(rng)
        cfg["t"] = int(rng.integers(0, cfg["steps"]))
        cfg["which"] = str(rng.choice(["x", "c"]))
        return cfg
    # lemma 6 / theorem: α_t = 1 until the Lemma-6 T₁ estimated at W₀, then the slow decay of (L6-H2)
    cfg["k"] = 2 * int(rng.integers(100, 400))
    cfg["activation"] = "erf"
    data = _data(cfg)
    W0 = _W(cfg)
    a0 = 0.9 * sigma_min(W0, data.X_centers, "erf", basis=support_basis(data.cluster))
    eta = 1 / (2 * data.n)
    pre = paired_run(data, W0, "erf", steps=1, schedule="constant:value=1")
    T1 = lc.T1_lemma6(eta, a0, float(np.linalg.norm(pre.rbar_c[0])), data.rho)
    T1 = int(min(T1, 600))
    slope = eta * a0**2 * (1 - 2 * data.rho) / 32 / (2 * math.sqrt(data.n))
    cfg["schedule"] = f"linear:start={T1},end={T1 + max(1.0, 1 / slope):.6g}"
    cfg["steps"] = T1 + 40
    return cfg


# --- evaluators ----------------------------------------------------------------------------------

def evaluate(lemma: str, cfg: dict) -> dict:
    """Rebuild the objects of ``cfg`` and check every statement of ``lemma`` (a lemma of
    ``LEMMAS`` or an issue of ``issues_checks.ISSUES``, whose findings replay the same way)."""
    from . import issues_checks
    if lemma in issues_checks.ISSUES:
        return issues_checks.evaluate(lemma, cfg)
    check_choice("lemma", lemma, "check", LEMMAS)
    data, act = _data(cfg), cfg["activation"]
    W = _W(cfg)
    W2 = W + cfg["scale"] * _W(cfg, "w2_seed")
    if lemma == "1":
        out = {**lj.lemma1_lipschitz(W, W2, data.X, act), **lj.lemma1_norm(W, data.X, act),
               **lj.lambda_bounds(data, act)}
        if "delta" in cfg:
            out.update(lj.lemma1_sigma_min(W, data.X, act, lambda_of(data.X, act)))
        return out
    if lemma == "2":
        out = lj.lemma2_deterministic(W, W2, data, act)
        if "delta" in cfg:
            out.update(lj.lemma2_sigma_min(W, data, act, lambda_of(data.centers, act)))
        return out
    if lemma == "3":
        return lj.lemma3(W, W2, data, act)
    if lemma == "4":
        rng = np.random.default_rng(cfg["w2_seed"] + 1)
        W1t = W2 + cfg["scale"] * rng.standard_normal(W.shape)
        W2t = W + cfg["scale"] * rng.standard_normal(W.shape)
        return lj.lemma4(W2, W, W1t, W2t, data, act)
    run = paired_run(data, W, act, steps=cfg["steps"], schedule=cfg["schedule"])
    consts = lj.data_constants(data, act)
    if lemma == "5":
        return ld.lemma5(run, cfg["t"], cfg["which"])
    if lemma == "7":
        return ld.lemma7(run, cfg["t"], cfg["which"])
    if lemma == "6":
        return {**lc.lemma6(run, consts),
                **{f"{k} (alpha_I A)": v for k, v in lc.lemma6(run, consts, lc.alpha_I(consts, "A")).items()
                   if not k.startswith("hyp:") or "H1" in k}}
    if lemma == "8":
        return lc.lemma8(run, consts)
    if lemma == "stage2":
        return {**lj.stage2_sigma_min(W, data, act, consts), **lc.stage2(run, consts)}
    base = paired_run(data, W, act, steps=cfg["steps"], schedule="constant:value=1")
    return lc.theorem1(run, base)
