"""Theorem 2 (generalization) and spec issue I-16, measured on a stored sweep.

Theorem 2 (spec §2.2) bounds the clean test error of the self-distilled network,
E_{(x, ỹ)~P} |f(W_∞, x) − ỹ| ≤ O((1 + KΓ²/(c_low Λ)) · [lost in the OCR]),
by combining Theorem 1 with the norm-based bound of Neyshabur et al. (2018). Only the prefactor
is legible, so the bound is checked as far as it can be:

* the **test error** E|f(W_T, x) − ỹ|² on the sweep's clean held-out points
  (= test_l2² / n_test, test_l2 = ‖f(W_t, X_test) − y_test‖₂ with clean y_test), and its trend
  in n (the lost factor is presumably a rate such as √(log(1/δ)/n));
* the legible **prefactor** 1 + KΓ²/(c_low Λ), with the measured Λ of the cell's seed-0 data
  (the sweep's vacuity report): the bound is vacuous when it exceeds the trivial error 1;
* the **capacity term** Γ‖W_T − W₀‖_F/√n that a norm-based bound carries. I-16: along the
  proof, ‖W_t − W₀‖_F ≤ d_{T₂} = O(√n T₂), so the term is O(T₂) and the bound does not vanish.
  We measure the term itself and its growth exponent in T₂ across schedules.

Everything is read from ``<run>/results.sqlite`` and ``<run>/summary.json``; nothing is rerun.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from theorem_lab.activations import get_activation

from .store import ResultStore

GROUP_FIELDS = ("activation", "n", "method", "steps", "schedule")
SEED_FIELDS = ("seed", "data_seed", "init_seed")     # what the seeds of one group differ in


def _setting(extra: dict) -> str:
    """'width=32, rho=0.1' for the config fields beyond GROUP_FIELDS that a sweep varies."""
    return ", ".join(f"{k}={v}" for k, v in extra.items())


def run_values(run: dict, trajectory: dict) -> "dict | None":
    """The Theorem 2 quantities of one finished run at its last logged step (None if the run
    has no test set or no trajectory)."""
    cfg, s = run["config"], run["summary"]
    steps = trajectory.get("step") or []
    if not steps or not cfg.get("n_test") or trajectory.get("test_l2", [None])[-1] is None:
        return None
    Gamma = get_activation(cfg["activation"]).Gamma
    dist = trajectory["dist_init"][-1]
    return {"test_mse": trajectory["test_l2"][-1] ** 2 / cfg["n_test"],
            "test_acc": trajectory["test_acc"][-1],
            "capacity": Gamma * dist / math.sqrt(cfg["n"]),
            "dist_init": dist, "T2": s.get("T2"), "step": steps[-1],
            "Gamma": Gamma, "smooth": bool(s.get("smooth", True))}


def prefactor(hyp: dict, K: int, Gamma: float) -> "float | None":
    """The legible part of Theorem 2's bound, 1 + KΓ²/(c_low Λ) (``constants.theorem2_rhs``
    without its lost rate), from a cell's vacuity report (measured Λ and c_low)."""
    from theorem_lab.proofs_check import constants as C

    Lam, c_low = hyp.get("Lambda"), hyp.get("c_low")
    if not Lam or not c_low or Lam <= 0:
        return None
    return C.evaluate(C.theorem2_rhs / C.rate_lost,
                      {C.K: K, C.Gamma: Gamma, C.c_low: c_low, C.Lam: Lam})


def slope(xs, ys, control=None) -> "tuple[float, float] | None":
    """Least-squares slope of log y on log x, with log ``control`` as a second regressor when
    given and not constant (e.g. the T₂ exponent of the capacity term at fixed n), and its
    standard error; None without enough distinct points."""
    control = control if control is not None else [1.0] * len(xs)
    pts = [(math.log(x), math.log(z), math.log(y)) for x, z, y in zip(xs, control, ys)
           if x and z and y and x > 0 and z > 0 and y > 0]
    if len({p[0] for p in pts}) < 2:
        return None
    X, Z, Y = np.array(pts).T
    cols = [X, Z, np.ones_like(X)] if len(set(Z)) > 1 else [X, np.ones_like(X)]
    A = np.vstack(cols).T
    if len(X) <= A.shape[1] or np.linalg.matrix_rank(A) < A.shape[1]:
        return None
    coef, *_ = np.linalg.lstsq(A, Y, rcond=None)
    sigma2 = float(np.sum((Y - A @ coef) ** 2)) / (len(X) - A.shape[1])
    return float(coef[0]), math.sqrt(sigma2 * np.linalg.inv(A.T @ A)[0, 0])


def analyse(run_dir) -> dict:
    """{'groups': [...], 'trends': [...]} for the sweep stored in ``run_dir``."""
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    hyps = {c["label"]: c.get("hypotheses", {}) for c in summary["cells"]}
    found = []
    with ResultStore(run_dir, readonly=True) as store:
        for run in store.runs():
            if run["status"] != "finished":
                continue
            vals = run_values(run, store.trajectory(run["run_id"]))
            if vals is None:
                continue
            cfg = run["config"]
            vals["prefactor"] = prefactor(hyps.get(run["cell"], {}), cfg["clusters"], vals["Gamma"])
            found.append((cfg, vals))
    # a field the sweep varies beyond GROUP_FIELDS (--width, --rho, …) splits the groups: its runs
    # are not seeds of one setting, and pooling them would report their spread as seed spread
    by_key: dict = {}
    for cfg, _ in found:
        by_key.setdefault(tuple(cfg[f] for f in GROUP_FIELDS), []).append(cfg)
    extra = sorted({f for cfgs in by_key.values() for c in cfgs for f in c
                    if f not in GROUP_FIELDS + SEED_FIELDS
                    and len({json.dumps(x.get(f), sort_keys=True) for x in cfgs}) > 1})
    groups: dict = {}
    for cfg, vals in found:
        key = tuple(cfg[f] for f in GROUP_FIELDS) + tuple(cfg.get(f) for f in extra)
        groups.setdefault(key, []).append(vals)
    rows = []
    for key, vals in sorted(groups.items(), key=lambda kv: tuple(
            (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v)) for v in kv[0])):
        row = dict(zip(GROUP_FIELDS, key), seeds=len(vals), smooth=vals[0]["smooth"],
                   setting=_setting(dict(zip(extra, key[len(GROUP_FIELDS):]))))
        for q in ("test_mse", "test_acc", "capacity", "dist_init", "T2", "prefactor"):
            xs = [v[q] for v in vals if v[q] is not None]
            row[q] = float(np.mean(xs)) if xs else None
            row[q + "_sd"] = float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0
        rows.append(row)
    return {"groups": rows, "trends": trends(rows)}


def trends(rows: list) -> list:
    """Per (activation, method, setting): the log–log slope of the test error in n (at fixed T₂ or
    steps), and of the capacity term in T₂ at fixed n (I-16: the proof's bound allows slope 1;
    a slope ≈ 0 means the term does not grow with T₂)."""
    out = []
    for act, method, setting in sorted({(r["activation"], r["method"], r.get("setting", ""))
                                        for r in rows}):
        sel = [r for r in rows if r["activation"] == act and r["method"] == method
               and r.get("setting", "") == setting]
        out.append({"activation": act, "method": method, "setting": setting,
                    "test_mse_vs_n": slope([r["n"] for r in sel], [r["test_mse"] for r in sel],
                                           [r["steps"] for r in sel]),
                    "capacity_vs_T2": slope([r["T2"] for r in sel], [r["capacity"] for r in sel],
                                            [r["n"] for r in sel])
                    if method == "self-distill" else None})
    return out


def render(result: dict) -> str:
    """The table and the trends, as text."""
    head = ("activation", "n", "method", "steps", "T2", "E|f−ỹ|² test", "test acc", "Γ‖W−W₀‖_F/√n",
            "1+KΓ²/(c_low Λ)", "seeds")
    settings = any(r.get("setting") for r in result["groups"])
    if settings:                        # the fields the sweep varies beyond these columns
        head = head[:3] + ("setting",) + head[3:]
    table = [head]
    for r in result["groups"]:
        def f(q, digits=3):
            v = r[q]
            return "—" if v is None else f"{v:.{digits}g}" + (f" ± {r[q + '_sd']:.2g}" if r["seeds"] > 1 else "")
        table.append((r["activation"] + ("" if r["smooth"] else "*"), str(r["n"]), r["method"])
                     + ((r.get("setting", ""),) if settings else ()) + (
                      str(r["steps"]),
                      "—" if r["T2"] is None else f"{r['T2']:.0f}", f("test_mse"), f("test_acc"),
                      f("capacity"), "—" if r["prefactor"] is None else f"{r['prefactor']:.3g}",
                      str(r["seeds"])))
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in table]
    if any(not r["smooth"] for r in result["groups"]):
        lines.append("* outside Theorem 1's smoothness hypothesis (Neyshabur et al.'s bound is for ReLU)")
    lines.append("")
    for t in result["trends"]:
        parts = []
        for name, label in (("test_mse_vs_n", "test error ∝ n^s"),
                            ("capacity_vs_T2", "capacity ∝ T₂^s at fixed n")):
            v = t.get(name)
            if v is not None:
                parts.append(f"{label}: s = {v[0]:.2f} ± {v[1]:.2f}")
        if parts:
            where = f" ({t['setting']})" if t.get("setting") else ""
            lines.append(f"{t['activation']}, {t['method']}{where}: " + "; ".join(parts))
    vac = [r["prefactor"] for r in result["groups"] if r["prefactor"]]
    if vac:
        lines.append(f"Theorem 2's legible prefactor 1 + KΓ²/(c_low Λ) ranges {min(vac):.3g} … "
                     f"{max(vac):.3g} on these data, while the zero predictor already has error 1: vacuous.")
    return "\n".join(lines) + "\n"
