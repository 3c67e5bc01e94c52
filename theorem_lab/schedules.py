"""The interpolation weights α_t of Algorithm 1 and the label functions h.

Algorithm 1's target is ŷ_t = α_t·y + (1 − α_t)·h(f(W_t, X)). Theorem 1 (T1-H5) asks α_t
non-increasing in [0, 1] with α_t → 0; every deterministic schedule here is checked for that over
the run's horizon. ``adaptive`` is the paper's practical rule 1 − α_t = λ·(training accuracy),
which is neither monotone nor guaranteed to stay in [0, 1] for λ > 1 (spec I-20); it is clipped
to [0, 1] and reported as outside the theorem.

Schedule specs are strings ``name[:key=value,...]``:

    constant:value=0.5      α_t = value
    linear:start=0,end=N    α_t = 1 until ``start``, then linearly to 0 at ``end`` (default N = steps/2)
    exponential:tau=T       α_t = exp(−t/τ)          (default τ = steps/10)
    inverse-time:tau=T      α_t = 1/(1 + t/τ)        (default τ = steps/100)
    adaptive:lam=1          α_t = clip(1 − λ·acc_t, 0, 1), acc_t = accuracy of sgn f on y
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from array_api_compat import array_namespace

from .errors import ParameterError, check_choice, check_fits, check_int, check_real, fail

SCHEDULES = ("constant", "linear", "exponential", "inverse-time", "adaptive")
LABEL_FUNCTIONS = ("clipped", "sign", "identity")
_OWNER = "train"

_PARAMS = {  # allowed keys, and their ranges (low, high, low_open)
    "constant": {"value": (0.0, 1.0, False)},
    "linear": {"start": (0.0, None, False), "end": (0.0, None, True)},
    "exponential": {"tau": (0.0, None, True)},
    "inverse-time": {"tau": (0.0, None, True)},
    "adaptive": {"lam": (0.0, 2.0, True)},
}


@dataclass(frozen=True)
class Schedule:
    """A resolved α_t schedule: ``kind`` and every parameter made explicit."""

    kind: str
    params: dict = field(default_factory=dict)

    @property
    def adaptive(self) -> bool:
        return self.kind == "adaptive"

    @property
    def spec(self) -> str:
        body = ",".join(f"{k}={v:g}" for k, v in sorted(self.params.items()))
        return f"{self.kind}:{body}" if body else self.kind

    def alpha(self, t: int, acc: "float | None" = None) -> float:
        """α_t. ``acc`` (training accuracy on y, in [0, 1]) is needed by ``adaptive`` only."""
        p = self.params
        if self.kind == "constant":
            return p["value"]
        if self.kind == "linear":
            if t <= p["start"]:
                return 1.0
            return max(0.0, 1.0 - (t - p["start"]) / (p["end"] - p["start"]))
        if self.kind == "exponential":
            return math.exp(-t / p["tau"])
        if self.kind == "inverse-time":
            return 1.0 / (1.0 + t / p["tau"])
        return min(1.0, max(0.0, 1.0 - p["lam"] * float(acc)))

    def values(self, steps: int) -> np.ndarray:
        """α_0 … α_steps for a deterministic schedule (the table the engine reads, and what
        ``parse_schedule`` validates), equal to ``alpha(t)`` at every t: the same float64
        operations on a whole array, exp through ``math.exp`` (numpy's may differ in the last
        bit). A Python loop over the steps took 0.13 s of a 32-run batch of 1000 steps."""
        p, t = self.params, np.arange(steps + 1, dtype=np.float64)
        if self.kind == "constant":
            return np.full(steps + 1, p["value"], dtype=np.float64)
        if self.kind == "linear":
            ramp = np.maximum(0.0, 1.0 - (t - p["start"]) / (p["end"] - p["start"]))
            return np.where(t <= p["start"], 1.0, ramp)
        if self.kind == "inverse-time":
            return 1.0 / (1.0 + t / p["tau"])
        if self.kind == "exponential":
            return np.array([math.exp(-x / p["tau"]) for x in range(steps + 1)])
        return np.array([self.alpha(x) for x in range(steps + 1)])   # adaptive: raises as alpha


def parse_schedule(spec: "str | Schedule", steps: int) -> Schedule:
    """Parse ``name[:key=value,...]``, fill defaults relative to ``steps``, validate (T1-H5)."""
    check_int("steps", steps, _OWNER, low=0)
    check_fits("steps", steps, _OWNER, 3 * 8.0 * (steps + 1), f"α_t over {steps} steps")
    if isinstance(spec, Schedule):
        sched = spec
    else:
        name, _, body = str(spec).partition(":")
        check_choice("schedule", name, _OWNER, SCHEDULES)
        params = {}
        for item in filter(None, body.split(",")):
            key, eq, value = item.partition("=")
            if not eq or key not in _PARAMS[name]:
                raise fail("schedule", _OWNER, f"'{name}' with keys among {sorted(_PARAMS[name])} "
                           "written as name:key=value,...", spec)
            if key in params:
                raise fail("schedule", _OWNER, f"'{name}' with each key at most once ('{key}' "
                           "is given twice)", spec)
            try:
                params[key] = float(value)
            except ValueError:
                raise fail("schedule", _OWNER, f"'{name}' with a number for '{key}'", spec) from None
        defaults = {"constant": {"value": 1.0}, "linear": {"start": 0.0, "end": max(1.0, steps / 2)},
                    "exponential": {"tau": max(1.0, steps / 10)},
                    "inverse-time": {"tau": max(1.0, steps / 100)}, "adaptive": {"lam": 1.0}}[name]
        sched = Schedule(name, {**defaults, **params})
    for key, value in sched.params.items():
        low, high, low_open = _PARAMS[sched.kind][key]
        check_real(f"schedule.{key}", value, f"the '{sched.kind}' schedule", low=low, high=high,
                   low_open=low_open)
    if sched.kind == "linear" and sched.params["end"] <= sched.params["start"]:
        raise fail("schedule.end", "the 'linear' schedule", f"> start = {sched.params['start']:g}",
                   sched.params["end"])
    if not sched.adaptive:
        a = sched.values(steps)
        if a.min() < 0 or a.max() > 1 or np.any(np.diff(a) > 0):
            raise ParameterError(f"The 'schedule' parameter of {_OWNER} must give non-increasing "
                                 f"alpha_t in [0, 1] (Theorem 1, T1-H5). Got {sched.spec!r} instead.")
    return sched


def T2(alphas: np.ndarray, n: int) -> "int | None":
    """T₂ = inf{t : α_t < 1/(24√n)} (spec §1.10); None if α never gets that small."""
    below = np.flatnonzero(np.asarray(alphas) < 1.0 / (24.0 * math.sqrt(n)))
    return int(below[0]) if below.size else None


# --- label functions h ---------------------------------------------------------------------

def h_clipped(f, rho: float):
    """The h of Theorem 1 (spec §1.4): 4x/(1−2ρ) on |x| ≤ (1−2ρ)/4, sgn(x) beyond.

    Equivalently clip(L_h·x, −1, 1) with L_h = 4/(1−2ρ); h = sgn exactly when the margin
    |x| ≥ (1−2ρ)/4. It needs ρ (the realised max_l ρ_l of the data).
    """
    xp = array_namespace(f)
    return xp.clip(f * (4.0 / (1.0 - 2.0 * rho)), -1.0, 1.0)


def h_sign(f):
    """Hardmax for binary outputs: sgn(x) (sgn(0) = 0)."""
    return array_namespace(f).sign(f)


def h_identity(f):
    return f


def label_function(name: str, rho: float):
    """h as a one-argument function of the outputs f."""
    check_choice("label_fn", name, _OWNER, LABEL_FUNCTIONS)
    if name == "clipped":
        check_real("rho", rho, "the 'clipped' label function", low=0.0, high=0.5, high_open=True)
        return lambda f: h_clipped(f, rho)
    return h_sign if name == "sign" else h_identity
