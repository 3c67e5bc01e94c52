"""The record of one training run: per-logged-step Theorem 1 quantities and per-run summaries."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# One column per quantity, one row per logged step (spec §5.1, Q-8 … Q-13).
COLUMNS = (
    "step",            # t
    "alpha",           # α_t
    "loss",            # ½‖f − ŷ_t‖₂², the loss being minimised at step t
    "l2_clean",        # ‖f − ỹ‖₂  (distance to the ground truth, Theorem 1's conclusion)
    "l2_noisy",        # ‖f − y‖₂  (distance to the observed labels: memorisation)
    "l2_target",       # ‖f − ŷ_t‖₂ = ‖r_t‖₂
    "l2_target_proj",  # ‖P_{S₊}(f − ŷ_t)‖₂
    "acc_clean",       # fraction with sgn f = ỹ
    "acc_noisy",       # fraction with sgn f = y
    "margin",          # min_i ỹ_i f_i
    "dist_init",       # ‖W_t − W_0‖_F
    "path_length",     # Σ_{s<t} ‖W_{s+1} − W_s‖_F
    "test_l2",         # ‖f(X_test) − y_test‖₂
    "test_acc",        # test accuracy (clean labels)
)


@dataclass
class Trajectory:
    """``columns[name]`` is a float64 array over logged steps; ``info`` holds per-run results.

    Attribute access reaches both: ``traj.l2_clean`` (a column), ``traj.T1`` (a run value).

    Run values: ``status`` ('finished' | 'diverged' | 'interrupted'), ``steps_done``, ``lr``,
    ``lr_rule``, ``T1`` (first step with sgn f = ỹ on every training point, or None), ``T1_stable``
    (first step from which that holds until the end), ``T2`` (first t with α_t < 1/(24√n)),
    ``early_stop_step`` (the LSO19 stopping time τ₀, or None), ``early_stop`` (the iterate at
    τ₀, None if the run ended before it) and ``oracle`` (the best-clean-ℓ2 iterate); both dicts
    with step, l2_clean, acc_clean, test_acc, l2_noisy, margin, dist_init. Also
    ``diverged_step``, ``seconds``, ``lambda_max_J0``, ``lambda_C``, ``schedule``,
    ``activation_note`` and ``config`` (the resolved ``TrainConfig``).
    """

    columns: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    tracked: dict = field(default_factory=dict)   # extra per-row columns (e.g. σ_min tracking)
    W_final: object = None                         # the last weights, in the run's namespace

    def __getattr__(self, name):
        if name in ("columns", "info", "tracked", "W_final"):
            raise AttributeError(name)
        for store in (self.columns, self.tracked, self.info):
            if name in store:
                return store[name]
        raise AttributeError(f"Trajectory has no column or value {name!r}")

    def __len__(self) -> int:
        return len(self.columns.get("step", ()))

    @property
    def final(self) -> dict:
        """The last logged row, as floats."""
        return {k: float(v[-1]) for k, v in self.columns.items() if len(v)}

    def rows(self) -> list[dict]:
        """One dict per logged step (columns and tracked quantities)."""
        names = list(self.columns) + list(self.tracked)
        data = {**self.columns, **self.tracked}
        return [{k: float(data[k][i]) for k in names} for i in range(len(self))]

    @classmethod
    def from_rows(cls, rows: list[dict], info: dict) -> "Trajectory":
        cols = {c: np.array([r[c] for r in rows], dtype=float) for c in COLUMNS if rows and c in rows[0]}
        extra = {c: np.array([r[c] for r in rows], dtype=float)
                 for c in (rows[0] if rows else {}) if c not in COLUMNS}
        return cls(columns=cols, info=dict(info), tracked=extra)
