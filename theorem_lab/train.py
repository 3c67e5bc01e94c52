"""Full-batch gradient descent with self-distillation labels (Algorithm 1) and its baselines.

Methods
    self-distill   ŷ_t = α_t·y + (1 − α_t)·h(f(W_t, X))       (Algorithm 1, full batch, MSE)
    gd             α_t ≡ 1: plain GD on the noisy labels y      (memorises the noise)
    early-stop     plain GD, reporting the stopping time of Li, Soltanolkotabi & Oymak (2019)
                   and the best-clean-ℓ2 iterate (an oracle no practitioner has)

Every run reports the oracle and the LSO19 stopping point, so the three methods compare on the
same footing. The loop logs the Theorem 1 quantities of ``trajectory.COLUMNS`` every
``log_every`` steps; T1, the oracle and divergence are checked at every step.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Literal, Optional, Sequence

import numpy as np

from . import engine
from .backend import matmul_precision, resolve_backend, to_numpy
from .covariance import lambda_of
from .data import ClusterableData
from .engine import RunInputs, log_steps
from .errors import ParameterError, check_array, check_choice, check_instance, check_int, check_real
from .kernels import lambda_max, support_basis, track_spectrum
from .network import TwoLayerNet
from .schedules import T2, label_function, parse_schedule
from .trajectory import RunInfo, Trajectory

METHODS = ("self-distill", "gd", "early-stop")
LR_RULES = ("auto", "theorem")
LSO_DELTA = 0.1        # failure probability δ inside the LSO19 stopping time
# The early-stop baseline stops at τ = c·τ₀. c defaults to the value fitted to the oracle stopping
# step by `theorem-lab early-stop-calibration` (simulations/early_stop_calibration.py), stored with
# its grid and spread in the packaged file below; c = 1 is the uncalibrated recalled form.
EARLY_STOP_CALIBRATION = "early_stop_calibration.json"
EARLY_STOP_RULES = ("calibrated",)


def calibrated_early_stop_constant() -> float:
    """c of τ = c·τ₀ from the packaged calibration (``theorem_lab/early_stop_calibration.json``)."""
    return float(_calibration()["fit"]["c"])


@functools.lru_cache(maxsize=1)
def _calibration() -> dict:
    import json
    from importlib.resources import files
    with (files("theorem_lab") / EARLY_STOP_CALIBRATION).open() as fh:
        return json.load(fh)


def resolve_early_stop_constant(value, name: str = "early_stop_constant",
                                owner: str = "train") -> float:
    """'calibrated' -> the packaged fit; a number -> itself (checked positive and finite)."""
    if isinstance(value, str):
        check_choice(name, value, owner, EARLY_STOP_RULES)
        return calibrated_early_stop_constant()
    return check_real(name, value, owner, low=0.0, low_open=True)


_OWNER = "train"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run besides the data and W₀ (saved with every result)."""

    method: Literal["self-distill", "gd", "early-stop"] = "self-distill"
    steps: int = 3000                  # GD steps
    lr: "float | str" = "auto"         # a number, 'auto' (1/λ_max(J₀J₀ᵀ); None means this) or 'theorem' (1/(2Γ²n))
    schedule: str = "linear"           # α_t spec, see schedules.py; ignored (α ≡ 1) for gd, early-stop
    label_fn: str = "clipped"          # h: 'clipped' (Theorem 1), 'sign' (hardmax), 'identity'
    rho_h: Optional[float] = None      # ρ inside the clipped h; None = the data's realised max ρ_l
    backend: str = "numpy"
    device: str = "cpu"
    dtype: str = "float64"
    log_every: int = 10                # log a trajectory row every this many steps (and the last)
    early_stop_constant: "float | str" = "calibrated"   # c in τ = c·τ₀ (LSO19); 1 = uncalibrated

    def validated(self) -> "TrainConfig":
        check_choice("method", self.method, _OWNER, METHODS)
        check_int("steps", self.steps, _OWNER, low=1)
        check_int("log_every", self.log_every, _OWNER, low=1)
        if isinstance(self.lr, str):
            check_choice("lr", self.lr, _OWNER, LR_RULES)
        else:
            check_real("lr", self.lr, _OWNER, low=0.0, low_open=True)
        if self.rho_h is not None:
            check_real("rho_h", self.rho_h, _OWNER, low=0.0, high=0.5, high_open=True)
        resolve_early_stop_constant(self.early_stop_constant)
        resolve_backend(self.backend, self.device, self.dtype, _OWNER)
        return self


def check_train_args(data, net) -> None:
    """The public boundary of ``train``: a data set and a network that fit together, finite
    weights, and a run that fits in memory."""
    from .sizes import check_size, train_bytes
    check_instance("data", data, _OWNER, ClusterableData, "a ClusterableData (from "
                   "theorem_lab.make_clusterable)")
    check_instance("net", net, _OWNER, TwoLayerNet, "a TwoLayerNet (from "
                   "theorem_lab.TwoLayerNet.init)")
    check_array("net.W", net.W, _OWNER, ndim=2, cols=data.d,
                cols_why=f" (the data have d = {data.d} features)")
    check_array("net.v", net.v, _OWNER, ndim=1, length=net.k,
                length_why=f" (one per hidden unit: W has k = {net.k} rows)")
    check_size(_OWNER, {"n": "data", "d": "data", "k": "net", "n_test": "data"},
               train_bytes(data.n, data.d, net.k, data.X_test.shape[0]),
               what=f"the run's weights and (n, k) activations (n={data.n}, k={net.k})")


def lso_tau0(data: ClusterableData, Gamma: float, lr: float, lam_C: float,
             delta: float = LSO_DELTA) -> Optional[float]:
    """τ₀ = K/(η n λ(C)) · log(Γ√(n log(1/δ))/(1 − 2ρ)), the early-stopping time of
    Li, Soltanolkotabi & Oymak (2019, Thm 2.2) with its unstated absolute constant set to 1
    (source form recalled, not verified: spec §0.1), unrounded. None if λ(C) ≤ 0.
    """
    if lam_C <= 0:
        return None
    arg = Gamma * math.sqrt(data.n * math.log(1 / delta)) / (1 - 2 * data.rho)
    return data.K / (lr * data.n * lam_C) * math.log(max(arg, math.e))


def lso_stopping_time(data: ClusterableData, Gamma: float, lr: float, lam_C: float,
                      delta: float = LSO_DELTA, constant: float = 1.0) -> Optional[int]:
    """τ = ⌈c·τ₀⌉ (``lso_tau0``); c = ``constant`` (1: the recalled form; the early-stop method
    passes the calibrated c by default). None if λ(C) ≤ 0."""
    tau0 = lso_tau0(data, Gamma, lr, lam_C, delta)
    return None if tau0 is None else max(1, int(math.ceil(constant * tau0)))


def train(data: ClusterableData, net: TwoLayerNet, method: str = "self-distill", steps: int = 3000,
          lr="auto", schedule="linear", label_fn: str = "clipped", backend: str = "numpy",
          device: str = "cpu", dtype: str = "float64", log_every: int = 10,
          rho_h: Optional[float] = None, track_every: Optional[int] = None,
          progress: Optional[Callable[[int], None]] = None,
          early_stop_constant="calibrated") -> Trajectory:
    """Run one of ``METHODS`` from ``net.W`` on ``data``; return the ``Trajectory``.

    ``method``: 'self-distill' (Algorithm 1: labels α_t y + (1 − α_t) h(f(W_t, X))), 'gd'
    (α_t = 1: plain GD on the noisy labels) or 'early-stop' (GD, with the LSO19 stopping time τ
    and its iterate in ``traj.early_stop``). ``steps`` GD steps of size ``lr``: 'auto'
    (1/λ_max(J₀J₀ᵀ)), 'theorem' (1/(2Γ²n)) or a number. ``schedule``: the α_t spec of
    ``parse_schedule`` ('linear', 'linear:start=0,end=500', 'exponential:tau=…',
    'inverse-time:tau=…', 'constant:value=…', 'adaptive:lam=…'). ``label_fn`` h: 'clipped' (the
    theorem's, slope 4/(1 − 2ρ_h); ``rho_h`` None = the data's realised max ρ_l), 'sign' or
    'identity'. ``backend`` numpy, torch or cupy on ``device`` in ``dtype``. A row of
    ``trajectory.COLUMNS`` (ℓ2 residuals, accuracies, margin, ‖W − W₀‖, path length, test
    error, …) is logged every ``log_every`` steps: ``traj.l2_clean``, ``traj.step``, …;
    ``traj.T1``, ``traj.T2``, ``traj.oracle`` (the best clean-ℓ2 iterate), ``traj.status``.

    The B = 1 case of ``train_many`` (the engine, engine.py). A non-finite loss, or one above
    10⁶ × max(its start, 1), stops the run with status 'diverged' at that step; Ctrl-C stops it
    with status 'interrupted'. Either way the trajectory so far is returned. A loss that jumps
    and stays finite below that (a too-large ``lr`` with a bounded activation such as tanh)
    does not stop the run: its status stays 'finished', and ``traj.loss`` shows it; the sweep
    stores such runs as 'unstable' (a loss above 10× its start at any step: ``traj.loss_rise``,
    ``simulations.sweep.instability``).
    ``track_every=m`` adds, every
    m steps, the spectral quantities of ``kernels.track_spectrum`` (σ_min(J(W_t, X̃), S₊),
    λ_min(J_tJ_tᵀ), the top-K NTK eigenvalues) to ``traj.tracked``; they cost an n×n
    eigendecomposition each. ``progress(t)`` is called for every step t (in bursts).
    ``early_stop_constant``: c of the LSO19 stop τ = ⌈c·τ₀⌉, 'calibrated' (the packaged fit,
    ``calibrated_early_stop_constant``) or a number (1 = the uncalibrated recalled form).
    """
    return train_many([data], [net], method, steps, lr, schedule, label_fn, backend, device,
                      dtype, log_every, rho_h, track_every, progress, early_stop_constant)[0]


def train_many(datas: Sequence[ClusterableData], nets: Sequence[TwoLayerNet],
               method: "str | Sequence[str]" = "self-distill", steps: int = 3000, lr="auto",
               schedule="linear", label_fn="clipped", backend: str = "numpy",
               device: str = "cpu", dtype: str = "float64", log_every: int = 10,
               rho_h=None, track_every: Optional[int] = None,
               progress: Optional[Callable[[int], None]] = None,
               early_stop_constant="calibrated") -> list:
    """``train`` for B runs of one shape at once: run b trains ``nets[b]`` on ``datas[b]``;
    returns the B ``Trajectory`` objects in that order (the arguments are ``train``'s).

    ``method``, ``lr``, ``schedule``, ``label_fn``, ``rho_h`` and ``early_stop_constant`` may
    be one value or one per run; the data (n, d, n_test), the width, the activation, ``steps``
    and the backend are shared. The runs are stepped as one batch, with the step's kernels
    chosen by timing them on this machine (kernel_choice.py); a diverged run is frozen while
    the others go on. Each run's ``Trajectory`` equals the one ``train`` gives it alone, to
    rounding (different batch sizes may get different kernels). ``track_every`` is for one run.
    """
    for data, net in zip(datas, nets):
        check_train_args(data, net)
    if track_every is not None:
        check_int("track_every", track_every, _OWNER, low=1)
    B = len(datas)
    per = lambda x: list(x) if isinstance(x, (list, tuple)) else [x] * B   # noqa: E731
    cfgs = [TrainConfig(m, steps, "auto" if l is None else l, sc, h, rh, backend, device, dtype,
                        log_every, resolve_early_stop_constant(c)).validated()   # c saved as a number
            for m, l, sc, h, rh, c in zip(per(method), per(lr), per(schedule), per(label_fn),
                                          per(rho_h), per(early_stop_constant))]
    if B == 0 or len({net.activation.name for net in nets}) != 1 or len(nets) != B:
        raise ParameterError("The 'nets' parameter of train_many must hold one network per data "
                             "set (at least one), all with the same activation.")
    if track_every is not None and B > 1:
        raise ParameterError("The 'track_every' parameter of train_many is for one run (train); "
                             f"got {B} runs. Track them one at a time with train(...).")
    from .sizes import check_size, trajectory_bytes
    check_size(_OWNER, {}, trajectory_bytes(steps, log_every),
               what=f"the per-step record of {steps} steps")
    bk = resolve_backend(backend, device, dtype, _OWNER)
    matmul = matmul_precision(bk)      # before λ_max (lr='auto'): every matmul of the run in it
    act = nets[0].activation
    started = time.perf_counter()
    memo: dict = {}             # runs of one (data, W₀) (gd, early-stop, self-distill) share λ_max
    runs, meta = zip(*(_resolve(cfg, data, net, memo) for cfg, data, net in zip(cfgs, datas, nets)))
    tracked: list = []
    observe = None
    if track_every is not None:
        observe = _tracker(datas[0], nets[0], bk, tracked)
    log_at = log_steps(steps, log_every, range(0, steps + 1, track_every or steps + 1))
    outcomes = engine.run(runs, nets[0].v, act, steps, bk, log_at, observe=observe,
                          observe_at=log_steps(steps, track_every) if track_every else (),
                          progress=progress)
    seconds = (time.perf_counter() - started) / B
    trajs = []
    for cfg, data, net, run, m, out in zip(cfgs, datas, nets, runs, meta, outcomes):
        snap = _snapshot(net, data, bk)
        info = RunInfo(status=out.status, steps_done=out.steps_done, lr=run.lr,
                       lr_rule=cfg.lr if isinstance(cfg.lr, str) else "fixed",
                       lambda_max_J0=m["lambda_max_J0"], lambda_C=m["lambda_C"],
                       schedule=m["schedule"], T1=out.T1, T1_stable=out.T1_stable,
                       T2=T2(out.alphas, data.n), early_stop_step=run.tau,
                       early_stop=snap(out.W_stop, run.tau) if out.W_stop is not None else None,
                       oracle=snap(out.W_best, out.best_step), diverged_step=out.diverged_step,
                       loss_start=out.loss_start, loss_peak=_at(out.loss_peak),
                       loss_rise=_at(out.loss_rise),
                       seconds=seconds,
                       seconds_stepping=(out.seconds_loop - out.seconds_logging) / B,
                       seconds_logging=out.seconds_logging / B, activation_note=act.note,
                       kernel=out.kernel, matmul=matmul, graph=out.graph, config=asdict(cfg))
        traj = Trajectory(columns=out.columns, info=info)
        traj.W_final = out.W_final
        trajs.append(traj)
    if tracked:
        names = list(tracked[0][1])
        trajs[0].tracked = {"tracked_step": np.array([s for s, _ in tracked], dtype=float),
                            **{k: np.array([q[k] for _, q in tracked]) for k in names}}
    return trajs


def _digest(*arrays) -> str:
    import hashlib
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(to_numpy(a))
        h.update(str((a.dtype, a.shape)).encode())
        h.update(a.data)
    return h.hexdigest()


def _resolve(cfg: TrainConfig, data: ClusterableData, net: TwoLayerNet, memo=None):
    """One run's engine inputs (η, α_t table, h, τ₀) and the values its record reports.
    ``memo`` (a dict) keeps λ_max(J₀J₀ᵀ) by the content of (X, W₀, v, φ, backend)."""
    sched = parse_schedule("constant:value=1" if cfg.method != "self-distill" else cfg.schedule,
                           cfg.steps)
    bk = resolve_backend(cfg.backend, cfg.device, cfg.dtype, _OWNER)
    act = net.activation
    key = (_digest(data.X, net.W, net.v), id(act), bk)
    memo = {} if memo is None else memo
    if key not in memo:
        memo[key] = lambda_max(bk.asarray(net.W), bk.asarray(data.X), act, v=bk.asarray(net.v))
    lam_max = memo[key]
    if cfg.lr == "theorem":
        eta = 1.0 / (2 * act.Gamma ** 2 * data.n)
    elif cfg.lr == "auto":
        eta = 1.0 / lam_max
    else:
        eta = float(cfg.lr)
    lam_C = lambda_of(data.centers, act)
    host = lambda a: np.asarray(to_numpy(a), dtype=np.float64)          # noqa: E731
    run = RunInputs(X=host(data.X), y=host(data.y), y_true=host(data.y_true),
                    X_test=host(data.X_test), y_test=host(data.y_test),
                    U=support_basis(data.cluster), W0=host(net.W), lr=eta,
                    alpha=None if sched.adaptive else sched.values(cfg.steps),
                    adaptive_lam=sched.params.get("lam", 1.0), label_fn=cfg.label_fn,
                    rho_h=data.rho if cfg.rho_h is None else cfg.rho_h,
                    tau=lso_stopping_time(data, act.Gamma, eta, lam_C,
                                          constant=resolve_early_stop_constant(cfg.early_stop_constant)))
    label_function(cfg.label_fn, run.rho_h)          # validates h (and ρ_h < 1/2 for clipped)
    return run, {"lambda_max_J0": lam_max, "lambda_C": lam_C, "schedule": sched.spec}


def _at(pair) -> Optional[dict]:
    """engine's (step, loss) pair as ``RunInfo``'s {step, loss} (None stays None)."""
    return None if pair is None else {"step": int(pair[0]), "loss": float(pair[1])}


def _snapshot(net: TwoLayerNet, data: ClusterableData, bk):
    """snap(W, t): the oracle / early-stop record of the iterate W (step t)."""
    X, y, y_true = bk.asarray(data.X), bk.asarray(data.y), bk.asarray(data.y_true)
    X_test, y_test = bk.asarray(data.X_test), bk.asarray(data.y_test)
    W0, xp = bk.asarray(net.W), bk.xp

    def norm(a):
        return float(xp.linalg.vector_norm(a))

    def accuracy(f, labels):
        return float(xp.mean(xp.astype(xp.sign(f) == labels, f.dtype)))

    def snap(Ws, at):
        fw = net.with_weights(Ws)
        f = fw.forward(X)
        test_acc = accuracy(fw.forward(X_test), y_test) if X_test.shape[0] else float("nan")
        return {"step": at, "l2_clean": norm(f - y_true), "acc_clean": accuracy(f, y_true),
                "test_acc": test_acc, "l2_noisy": norm(f - y), "margin": float(xp.min(y_true * f)),
                "dist_init": norm(Ws - W0)}
    return snap


def _tracker(data: ClusterableData, net: TwoLayerNet, bk, tracked: list):
    """observe(...) for ``track_every``: the spectra of run 0 at the observed steps."""
    X, U, v = bk.asarray(data.X), bk.asarray(support_basis(data.cluster)), bk.asarray(net.v)
    X_centers = bk.asarray(data.X_centers)

    def observe(t, W, f, target, alpha):
        tracked.append((t, track_spectrum(W[0], X, X_centers, U, net.activation, v)))
    return observe

