"""The record of one training run: per-logged-step Theorem 1 quantities and per-run summaries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

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
class RunInfo:
    """The per-run results of one training run (a typed record; ``as_dict`` for storage)."""

    status: str = "finished"           # 'finished' | 'diverged' | 'interrupted'
    steps_done: int = 0                # the last step the trajectory reaches
    lr: float = float("nan")           # η used
    lr_rule: str = "auto"              # 'auto' | 'theorem' | 'fixed'
    lambda_max_J0: float = float("nan")  # λ_max(J₀J₀ᵀ)
    lambda_C: float = float("nan")     # λ(C) = λ_min(Σ(C)) of the cluster centres
    schedule: str = ""                 # the resolved α_t spec
    T1: Optional[int] = None           # first step with sgn f = ỹ on every training point
    T1_stable: Optional[int] = None    # first step from which that holds until the end
    T2: Optional[int] = None           # first t with α_t < 1/(24√n)
    early_stop_step: Optional[int] = None   # the LSO19 stopping time τ₀
    early_stop: Optional[dict] = None  # the iterate at τ₀ (None if the run ended before it)
    oracle: Optional[dict] = None      # the best-clean-ℓ2 iterate
    diverged_step: Optional[int] = None
    loss_start: float = float("nan")   # the loss ½‖f − ŷ₀‖² at step 0
    loss_peak: Optional[dict] = None   # {step, loss}: the largest finite loss, every step seen
    loss_rise: Optional[dict] = None   # {step, loss}: the first step whose loss exceeded
                                       # engine.UNSTABLE_FACTOR × its start (None: none did)
    seconds: float = 0.0               # wall time of the run (a batch's time shared out)
    seconds_stepping: float = 0.0      # of which the GD steps, and the logged rows with any
    seconds_logging: float = 0.0       # tracking (both shared out; the rest: set-up, kernel choice)
    activation_note: str = ""
    kernel: str = ""                   # the step kernel the engine chose (kernel_choice.py)
    matmul: Optional[str] = None       # CUDA float32 (torch): 'tf32' or 'ieee'; None elsewhere
    graph: Optional[str] = None        # torch on CUDA: the plain steps' CUDA graph, 'captured',
                                       # 'off', 'unused', 'eager' or 'failed: …'
                                       # (step_graph.StepGraph.status); None elsewhere
    config: dict = field(default_factory=dict)   # the resolved TrainConfig

    def as_dict(self) -> dict:
        return asdict(self)


def _column(name):
    return property(lambda self: self.columns[name], doc=f"the {name!r} column")


def _value(name):
    return property(lambda self: getattr(self.info, name), doc=f"``info.{name}``")


@dataclass
class Trajectory:
    """``columns[name]`` is a float64 array over logged steps; ``info`` the ``RunInfo``.

    ``traj.l2_clean`` (a column of ``COLUMNS``) and ``traj.T1`` (a ``RunInfo`` field) are
    properties. ``tracked`` is a separate table with its own step column ``tracked_step``
    (σ_min tracking of ``train(track_every=m)``): its rows need not be the logged rows.
    ``early_stop`` and ``oracle`` are dicts with step, l2_clean, acc_clean, test_acc,
    l2_noisy, margin, dist_init.
    """

    columns: dict = field(default_factory=dict)
    info: RunInfo = field(default_factory=RunInfo)
    tracked: dict = field(default_factory=dict)   # tracked_step + one column per quantity
    W_final: object = None                         # the last weights, in the run's namespace

    def __len__(self) -> int:
        return len(self.columns.get("step", ()))

    @property
    def final(self) -> dict:
        """The last logged row, as floats."""
        return {k: float(v[-1]) for k, v in self.columns.items() if len(v)}

    def rows(self) -> list[dict]:
        """One dict per logged step; tracked quantities join the row of their step (NaN on
        logged steps without a tracked value)."""
        names = [c for c in self.tracked if c != "tracked_step"]
        at = {float(s): i for i, s in enumerate(self.tracked.get("tracked_step", ()))}
        out = []
        for i in range(len(self)):
            row = {k: float(v[i]) for k, v in self.columns.items()}
            j = at.get(row["step"])
            row.update({k: float(self.tracked[k][j]) if j is not None else float("nan")
                        for k in names})
            out.append(row)
        return out


for _name in COLUMNS:
    setattr(Trajectory, _name, _column(_name))
for _name in RunInfo.__dataclass_fields__:        # traj.T1, traj.oracle, traj.config, ...
    setattr(Trajectory, _name, _value(_name))
