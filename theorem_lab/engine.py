"""The engine: B gradient-descent runs of one shape (n, d, k) advanced together (Algorithm 1).

Every run b has its own data X_b (n, d), labels y_b, ground truth ỹ_b, W₀_b (k, d), step size
η_b, α_t table (or the adaptive rule 1 − α_t = λ_b·acc_t), label function h_b and LSO19 time τ_b;
the activation φ, the fixed output layer v (k,) and the horizon T are shared. One step is

    f_b   = φ(X_b W_bᵀ) v                                    (batched GEMM 1 + epilogue)
    ŷ_b,t = α_b,t y_b + (1 − α_b,t) h_b(f_b)                 (detached target)
    W_b  ← W_b − η_b · diag(v) φ'(X_b W_bᵀ)ᵀ ((f_b − ŷ_b,t) ⊙ X_b)   (batched GEMM 2)

and it is written once, here: ``train`` is the B = 1 case, the sweep batches seeds and grid
points of one shape, ``air``, the proof's paired runs and the width search call it too.

Bookkeeping lives on the device as (B,) arrays updated without host synchronisation: T1 (first
step with sgn f = ỹ everywhere), T1_stable, the best clean ℓ2 and its step and weights (the
oracle), the weights at τ_b (LSO19 early stop), the largest loss and the first step whose loss
exceeds ``UNSTABLE_FACTOR`` × loss₀ (at every step, not only the logged ones), the divergence
mask. A run whose loss is
non-finite or exceeds ``DIVERGE_FACTOR``·max(loss₀, 1) is frozen at that step (its W stops
moving, its bookkeeping stops) while the others go on. Logged rows (``trajectory.COLUMNS``) are
written into one preallocated (B, rows, columns) device buffer that the host reads once, at the
end. The loop synchronises with the host once per chunk of ``CHUNK`` steps (to tell
``progress`` and to stop early when every run has diverged), and at the steps an ``observe``
callback asks for. On the CPU, where reading a value costs nothing, the per-run selections of
(B, k, d) weights (the update of frozen runs, the oracle, W at τ) branch on their masks instead
(``_select``): a ``where`` over the weights every step cost more than the rest of the
bookkeeping. With torch on CUDA the plain steps (no logging, observing or τ) are recorded
once as a CUDA graph and replayed (step_graph.py): ``advance``, one step, is what both run.
The step kernels (batched_steps.py, chosen by kernel_choice.py) do the arithmetic: ``forward``
and ``descend`` (W − η∇ and its squared norm). Nothing here knows about experiments, files or
plots.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
from array_api_compat import is_cupy_array

from . import step_graph
from .activations import Activation
from .backend import Backend, to_numpy
from .batched_steps import make_step, sumsq, sumsq_runs
from .errors import ParameterError
from .kernel_choice import choose
from .trajectory import COLUMNS

DIVERGE_FACTOR = 1e6   # a loss above this multiple of max(initial loss, 1) counts as exploding
UNSTABLE_FACTOR = 10.0  # a finite loss above this multiple of its start marks the run unstable:
                        # with a stable step size GD on the MSE decreases the loss (descent
                        # lemma, η ≤ 1/λ_max) and the self-distillation targets stay in [−1, 1],
                        # so the loss can only creep up by a small factor while α_t moves.
                        # Evidence: `sweep --lr auto,1000 --seeds 2` (tanh): lr = auto never
                        # exceeds 1.0× its start; lr = 1000 jumps from 32.6 to 982 (30×) at
                        # step 1 and stays there. With lr = 2-10 (n=100 K=4 d=8 k=64-256) the
                        # loss jumps 29-180× at step 1 and is back below 10× by step 2-6: seen
                        # only at logged steps, such runs passed as stable (measured)
CHUNK = 64             # steps between host reads of the metric buffer (and progress calls)
LABEL_CODES = {"clipped": 0, "sign": 1, "identity": 2}
MEMORY_LIMIT_ENV = "THEOREM_LAB_MEMORY_LIMIT"   # bytes; a batch whose state exceeds it raises
                                                # MemoryError (a fake allocator limit for tests)


def state_bytes(B: int, n: int, d: int, k: int, m: int, steps: int, dtype: str = "float64") -> int:
    """Bytes of a batch's engine state: φ, φ' and Z (n, k), W, W₀, the oracle's and τ's W and
    a gradient (k, d), the test forward's buffers (3 of (m, k)), the α table, per run, times B."""
    itemsize = 4 if dtype == "float32" else 8
    return B * itemsize * (3 * n * k + 6 * k * d + 3 * m * k + 3 * n * d + 2 * (steps + 1))


def check_memory(B: int, n: int, d: int, k: int, m: int, steps: int, dtype: str) -> None:
    """MemoryError if the batch's state exceeds ``$THEOREM_LAB_MEMORY_LIMIT`` bytes."""
    limit = os.environ.get(MEMORY_LIMIT_ENV)
    need = state_bytes(B, n, d, k, m, steps, dtype)
    if limit and need > int(limit):
        raise MemoryError(f"out of memory: a batch of {B} run(s) needs {need} bytes, "
                          f"{MEMORY_LIMIT_ENV}={limit}")


@dataclass(frozen=True)
class RunInputs:
    """One run of a batch, on the host (float64 numpy). Shapes: X (n, d), y and y_true (n,),
    X_test (m, d), y_test (m,), U (n, K) orthonormal basis of S₊, W0 (k, d)."""

    X: np.ndarray
    y: np.ndarray
    y_true: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    U: np.ndarray
    W0: np.ndarray
    lr: float                          # η
    alpha: Optional[np.ndarray]        # (T+1,) α_0..α_T, or None for the adaptive rule
    adaptive_lam: float = 1.0          # λ of 1 − α_t = λ·acc_t (when alpha is None)
    label_fn: str = "clipped"          # h: 'clipped' | 'sign' | 'identity'
    rho_h: float = 0.0                 # ρ inside the clipped h (L_h = 4/(1 − 2ρ))
    tau: Optional[int] = None          # LSO19 stopping time τ₀ (None: no stop)


@dataclass
class RunOutcome:
    """What the engine returns per run (host arrays; weights in the batch's namespace)."""

    columns: dict                      # name -> (rows,) float64, the logged steps ≤ steps_done
    alphas: np.ndarray                 # (steps_done + 1,) α_t actually used
    status: str                        # 'finished' | 'diverged' | 'interrupted'
    steps_done: int
    diverged_step: Optional[int]
    T1: Optional[int]
    T1_stable: Optional[int]
    best_step: int                     # argmin_t ‖f(W_t) − ỹ‖₂ (the oracle iterate)
    loss_start: float                  # the loss at step 0
    loss_peak: Optional[tuple]         # (step, loss): the largest finite loss (first such
                                       # step); None if no step up to steps_done had one
                                       # (an interrupt: the chunk may have gone further)
    loss_rise: Optional[tuple]         # (step, loss): the first step whose loss exceeded
                                       # UNSTABLE_FACTOR·max(loss₀, 1e-12); None if none did
    W_best: object
    W_stop: object                     # W at τ (None if the run ended before it)
    W_final: object
    kernel: str = ""                   # the training step's kernel (kernel_choice.CANDIDATES)
    seconds_loop: float = 0.0          # the batch's step loop, wall (logging included)
    seconds_logging: float = 0.0       # of which the logged rows and ``observe`` (host time:
                                       # on a device, their launches)
    graph: Optional[str] = None        # torch on CUDA: the plain steps' CUDA graph, 'captured',
                                       # 'off', 'unused', 'eager' or 'failed: …'
                                       # (step_graph.StepGraph.status); None elsewhere


def log_steps(steps: int, every: int, extra: Sequence[int] = ()) -> np.ndarray:
    """Sorted steps to log: multiples of ``every``, the last step, and ``extra``."""
    at = set(range(0, steps + 1, every)) | {steps} | {t for t in extra if 0 <= t <= steps}
    return np.array(sorted(at), dtype=np.int64)


def _stack(bk: Backend, arrays) -> object:
    return bk.asarray(np.stack([np.asarray(to_numpy(a), dtype=np.float64) for a in arrays]))


def _pad_columns(Us: list) -> list:
    K = max(U.shape[1] for U in Us)
    return [np.pad(U, ((0, 0), (0, K - U.shape[1]))) for U in Us]


class Batch:
    """The device state of B runs: inputs stacked, bookkeeping as (B,) arrays. Its step kernel
    is set by ``use_kernel`` (``run``: ``choose_kernel``); the test forward, run at the logged
    steps only, takes the same kernel rather than timing its own."""

    def __init__(self, runs: Sequence[RunInputs], v, activation: Activation, steps: int,
                 bk: Backend):
        shapes = {(r.X.shape, r.W0.shape, r.X_test.shape) for r in runs}
        if len(shapes) != 1:
            raise ParameterError("The 'runs' parameter of the engine must share one shape "
                                 f"(X, W0, X_test); got {sorted(shapes)} instead.")
        xp, B = bk.xp, len(runs)
        (n, d), k, m = runs[0].X.shape, runs[0].W0.shape[0], runs[0].X_test.shape[0]
        check_memory(B, n, d, k, m, steps, bk.dtype)
        self.bk, self.xp, self.B, self.steps, self.activation = bk, xp, B, steps, activation
        self.X, self.y, self.y_true = (_stack(bk, [getattr(r, a) for r in runs])
                                       for a in ("X", "y", "y_true"))              # (B,n,d),(B,n)
        self.X_test, self.y_test = _stack(bk, [r.X_test for r in runs]), _stack(bk, [r.y_test for r in runs])
        self.U = _stack(bk, _pad_columns([r.U for r in runs]))                      # (B, n, K)
        self.W0 = _stack(bk, [r.W0 for r in runs])                                  # (B, k, d)
        self.v = bk.asarray(np.asarray(to_numpy(v), dtype=np.float64))              # (k,)
        col = lambda vals: bk.asarray(np.asarray(vals, dtype=np.float64))           # noqa: E731
        self.eta = col([r.lr for r in runs])                                         # (B,)
        table = np.full((B, steps + 1), np.nan)
        for b, r in enumerate(runs):
            if r.alpha is not None:
                table[b] = r.alpha
        self.alpha_table = bk.asarray(table)                                         # (B, T+1)
        self.any_adaptive = any(r.alpha is None for r in runs)
        self.lam = col([r.adaptive_lam for r in runs])
        self.codes = {LABEL_CODES[r.label_fn] for r in runs}
        self.code = col([LABEL_CODES[r.label_fn] for r in runs])
        self.L_h = col([4.0 / (1.0 - 2.0 * r.rho_h) for r in runs])
        taus = np.array([-1 if r.tau is None else r.tau for r in runs])
        self.tau = col(taus)
        self.stop_runs = {int(t): bk.asarray(taus == t) == 1.0 for t in set(taus) if 0 <= t <= steps}
        self.step = self.test_step = None

    def use_kernel(self, name: str) -> None:
        """Step with kernel ``name`` (kernel_choice.CANDIDATES), the test forward too."""
        self.step = make_step(name, self.X, self.v, self.activation, self.bk)
        self.test_step = (make_step(name, self.X_test, self.v, self.activation, self.bk)
                          if self.X_test.shape[1] else None)

    def forward_test(self, W):
        """f(W_b, X_test,b) per run (B, m), with the training step's kernel."""
        if self.test_step is None:
            return self.X_test[:, :, 0]
        return self.test_step.forward(W)

    def h(self, f):
        """h_b(f_b) per run (B, n): each label function present is computed once."""
        xp = self.xp
        out = f
        if 0 in self.codes:
            clipped = _clip(xp, f * self.L_h[:, None], -1.0, 1.0)
            out = clipped if self.codes == {0} else xp.where(self.code[:, None] == 0, clipped, out)
        if 1 in self.codes:
            out = xp.where(self.code[:, None] == 1, _sign(xp, f), out)
        return out

    def target(self, f, alpha):
        """ŷ_t = α_t y + (1 − α_t) h(f) per run (B, n); exactly y where α_t = 1."""
        a = alpha[:, None]
        return self.xp.where(a == 1.0, self.y, a * self.y + (1 - a) * self.h(f))

    def alpha(self, t, acc_noisy):
        """α_b,t (B,): the table's value, or clip(1 − λ_b·acc_t, 0, 1) for adaptive runs
        (t an int, or a (1,) device array: step_graph.py)."""
        xp = self.xp
        if isinstance(t, int):
            a = self.alpha_table[:, t]
        else:
            a = xp.take(self.alpha_table, t, axis=1)[:, 0]
        if not self.any_adaptive:
            return a
        return xp.where(xp.isnan(a), _clip(xp, 1.0 - self.lam * acc_noisy, 0.0, 1.0), a)


def _norm(xp, a):
    """‖a_b‖₂ over every axis but the first, per run (B,) (``vector_norm`` over a tuple of
    axes is 1.5-7× slower on the CPU, measured)."""
    return xp.sqrt(sumsq_runs(xp, a))


def _accuracy(xp, f, labels):
    if labels.shape[-1] == 0:
        return xp.full(labels.shape[:-1], float("nan"), dtype=f.dtype, device=_device(f))
    return xp.mean(xp.astype(_sign(xp, f) == labels, f.dtype), axis=-1)


def _sign(xp, a):
    """sgn a, NaN kept. numpy's own; elsewhere from comparisons: array_api_compat's torch
    ``sign`` writes its NaNs through a boolean mask, a host synchronisation that no CUDA graph
    can record (tests/core/test_step_graph.py)."""
    if isinstance(a, np.ndarray):
        return np.sign(a)
    one = xp.ones_like(a)
    return xp.where(a > 0, one, xp.where(a < 0, -one, a))


def _clip(xp, a, lo, hi):
    """clip for (B, n) arrays: numpy's own on numpy arrays (array_api_compat's generic clip
    costs 3× as much on small arrays, measured) and CuPy's own on CuPy arrays (the generic one
    writes through a boolean mask: a host synchronisation every step), torch's (clamp) else."""
    if isinstance(a, np.ndarray):
        return np.clip(a, lo, hi)
    if is_cupy_array(a):
        return a.clip(lo, hi)
    return xp.clip(a, lo, hi)


def _device(a):
    return getattr(a, "device", None) if not isinstance(a, np.ndarray) else None


def _select(xp, host: bool, mask, new, old):
    """Per run b: ``new[b]`` where ``mask[b]``, else ``old[b]`` (mask (B,), arrays (B, ...)).
    On the host, where reading the mask costs no device synchronisation, the common cases (all
    or none) return an input without touching its elements; on a device it is one ``where``."""
    if host:
        if bool(mask.all()):
            return new
        if not bool(mask.any()):
            return old
    return xp.where(xp.reshape(mask, (-1,) + (1,) * (new.ndim - 1)), new, old)


def metrics_row(bt: Batch, W, f, r, alpha, acc_noisy, path, loss, l2_clean):
    """The ``COLUMNS`` quantities of every run at one step, stacked as (B, len(COLUMNS))
    (the step column is filled by the caller)."""
    xp = bt.xp
    f_test = bt.forward_test(W)                                                    # (B, m)
    proj = xp.squeeze(xp.matmul(xp.permute_dims(bt.U, (0, 2, 1)), r[:, :, None]), axis=2)
    q = {"alpha": alpha, "loss": loss, "l2_clean": l2_clean,
         "l2_noisy": _norm(xp, f - bt.y), "l2_target": xp.sqrt(2 * loss),
         "l2_target_proj": _norm(xp, proj), "acc_clean": _accuracy(xp, f, bt.y_true),
         "acc_noisy": acc_noisy, "margin": xp.min(bt.y_true * f, axis=1),
         "dist_init": _norm(xp, W - bt.W0), "path_length": path,
         "test_l2": _norm(xp, f_test - bt.y_test), "test_acc": _accuracy(xp, f_test, bt.y_test)}
    q["step"] = xp.zeros_like(loss)
    return xp.stack([q[c] for c in COLUMNS], axis=1)


def run(runs: Sequence[RunInputs], v, activation: Activation, steps: int, bk: Backend,
        log_at: np.ndarray, observe: Optional[Callable] = None, observe_at=(),
        progress: Optional[Callable[[int], None]] = None) -> list:
    """Advance every run of ``runs`` for ``steps`` GD steps; return one ``RunOutcome`` each.

    ``log_at``: sorted steps whose ``COLUMNS`` row is kept. ``observe(t, W, f, target, alpha)``
    is called (batched arrays, a host sync) at the steps in ``observe_at``. ``progress(t)`` is
    called once for every step t = 1..steps, in bursts at chunk ends; a KeyboardInterrupt from it
    (or from anywhere in the loop) ends every run with status 'interrupted' at the last step
    reported (the weights and the oracle may have moved on to the end of that chunk).
    """
    bt = Batch(runs, v, activation, steps, bk)
    bt.use_kernel(choose_kernel(bt, steps + 1))
    xp, B, dev, dt = bt.xp, bt.B, _device(bt.X), bt.X.dtype
    host = on_host(bk)
    row_of = np.full(steps + 1, -1, dtype=np.int64)
    row_of[log_at] = np.arange(log_at.size)
    observe_at = set(observe_at) if observe is not None else set()
    buf = xp.zeros((B, log_at.size, len(COLUMNS)), dtype=dt, device=dev)    # logged rows
    alphas = xp.zeros((B, steps + 1), dtype=dt, device=dev)                 # α_b,t used
    s = _State.initial(bt)
    graph = _graph(bt, alphas, host)
    reported, status, t = 0, "finished", 0

    logging = [0.0]

    def record(t, f, target, r, alpha, acc_noisy, loss, l2_clean):
        if row_of[t] >= 0:
            since = time.perf_counter()
            buf[:, int(row_of[t]), :] = metrics_row(bt, s.W, f, r, alpha, acc_noisy, s.path,
                                                    loss, l2_clean)
            logging[0] += time.perf_counter() - since
        if t in observe_at:
            since = time.perf_counter()
            observe(t, s.W, f, target, alpha)
            logging[0] += time.perf_counter() - since

    loop_started = time.perf_counter()
    try:
        for t in range(steps + 1):
            looked_at = row_of[t] >= 0 or t in observe_at
            if graph is not None and 0 < t < steps and not looked_at and t not in bt.stop_runs:
                graph.step(s, t)                          # a plain step: replayed on CUDA
            else:
                advance(bt, s, t, alphas, host, bt.stop_runs.get(t),
                        record if looked_at else None, last=t == steps)
            if t == steps:
                break
            if (t + 1) % CHUNK == 0 or t + 1 == steps:
                for told in range(reported + 1, t + 2) if progress is not None else ():
                    progress(told)
                    reported = told
                reported = t + 1
                if not bool(xp.any(s.active)):
                    break
    except KeyboardInterrupt:
        status = "interrupted"
    last = reported if status == "interrupted" else t
    outcomes = _outcomes(bt, s, to_numpy(buf), log_at, to_numpy(alphas), last, status)
    loop_s = time.perf_counter() - loop_started          # after the buffers' host copies
    for out in outcomes:
        out.graph = graph.status if graph is not None else step_graph.setting(bk)
        out.seconds_loop, out.seconds_logging = loop_s, logging[0]
    return outcomes


def choose_kernel(bt: Batch, steps: "int | None") -> str:
    """The step kernel for this batch: kernel_choice's measured pick for a run of ``steps``
    steps (None: the fastest step), its candidates timed in this loop (``timing_drive``)."""
    return choose(bt.X, bt.v, bt.activation, bt.bk, steps, timing_drive(bt)).chosen


def timing_drive(bt: Batch) -> Callable:
    """``drive(step)``: one plain step of this batch's loop (``advance`` at t = 1, no logging)
    with kernel ``step``, on a scratch state: how kernel_choice times the candidates, with the
    host work between their calls. Timed back to back instead, the threaded kernels looked
    faster than they run here, where their worker threads idle through that work: B=32 n=40
    k=128, 2-core AVX-512 EPYC, batched:threads 0.59 ms per step against batched:fused's 0.80
    back to back, 1.3-1.7× slower than it in the engine (measured)."""
    s, t = _State.initial(bt), min(1, bt.steps)
    alphas = bt.xp.zeros((bt.B, t + 1), dtype=bt.X.dtype, device=_device(bt.X))
    host = on_host(bt.bk)

    def drive(step):
        advance(bt, s, t, alphas, host, step=step)
    return drive


def advance(bt: Batch, s: "_State", t, alphas, host: bool, stop=None,
            record: Optional[Callable] = None, last: bool = False, step=None) -> None:
    """Step t of Algorithm 1 for every run, in place on the state ``s``: f, the target ŷ_t and
    the bookkeeping at W_t, then (unless ``last``) W_t+1 for the runs still active, with the
    batch's kernel (``step``: another, for timing it).

    ``t`` is the step as an int, or as a (1,) integer device array (a recorded CUDA graph reads
    it there, step_graph.py). ``stop``: the (B,) mask of runs whose τ is t (None: none).
    ``record(t, f, target, r, α, acc_noisy, loss, l2_clean)`` sees the step's quantities before
    the divergence mask freezes anything (logging, ``observe``)."""
    xp, step = bt.xp, step or bt.step
    f = step.forward(s.W)                                                      # (B, n)
    acc_noisy = _accuracy(xp, f, bt.y) if record is not None or bt.any_adaptive else None
    alpha = bt.alpha(t, acc_noisy)                                             # (B,)
    target = bt.target(f, alpha)                                               # ŷ_t
    r = f - target
    loss = 0.5 * sumsq(xp, r)
    if s.limit is None:            # a loss above this counts as exploding (from step 0's)
        s.limit = DIVERGE_FACTOR * _clip(xp, loss, 1.0, None)
        s.loss0 = loss
        s.rise_limit = UNSTABLE_FACTOR * _clip(xp, loss, 1e-12, None)
    _set_column(alphas, t, alpha)
    l2_clean = _norm(xp, f - bt.y_true)
    newly = s.bookkeep(bt, t, f, l2_clean, loss, host, stop)  # diverging at t count at t
    if record is not None:
        record(t, f, target, r, alpha, acc_noisy, loss, l2_clean)
    s.active = s.active & ~newly                      # a diverged run is frozen from here
    if last:
        return
    W_new, sq = step.descend(s.W, bt.eta[:, None] * r)         # W − η∇, Σ(η∇)² per run
    s.W = _select(xp, host, s.active, W_new, s.W)
    s.path = s.path + _select(xp, host, s.active, xp.sqrt(sq), xp.zeros_like(s.path))


def _set_column(a, t, values) -> None:
    """a[:, t] = values for an int t or a (1,) index array (torch: ``index_copy_``, which a
    CUDA graph replays with the index it reads then)."""
    if isinstance(t, int):
        a[:, t] = values
    else:
        a.index_copy_(1, t, values[:, None])


def _graph(bt: Batch, alphas, host: bool):
    """The ``StepGraph`` of this batch's plain steps (torch on CUDA, step_graph.wanted), or
    None: every step is launched as it comes."""
    if host or not step_graph.wanted(bt.bk):
        return None
    return step_graph.StepGraph(lambda view, t: advance(bt, view, t, alphas, False),
                                bt.xp, _device(bt.X))


def on_host(bk: Backend) -> bool:
    """Whether reading a value of this backend's arrays costs no device synchronisation (then
    the loop may branch on values; on a device it stays branch-free)."""
    return bk.device == "cpu"


def _ints(xp, B, value, dev):
    return xp.full((B,), value, dtype=xp.int64, device=dev)


@dataclass
class _State:
    """Per-run bookkeeping on the device, all (B,) except the (B, k, d) weights. The weights
    are never written in place (each step makes a new W), so W_best may share W's array."""

    T1: object
    T1_stable: object
    div_step: object
    best_step: object
    active: object
    best_l2: object
    path: object               # Σ_{s<t} ‖W_{s+1} − W_s‖_F
    W: object
    W_best: object = None
    W_stop: object = None
    limit: object = None       # the divergence threshold, DIVERGE_FACTOR·max(loss₀, 1)
    loss0: object = None       # the loss at step 0
    rise_limit: object = None  # UNSTABLE_FACTOR·max(loss₀, 1e-12)
    peak_loss: object = None   # the largest finite loss so far, and its (first) step
    peak_step: object = None
    rise_loss: object = None   # the loss at the first step above rise_limit, and that step
    rise_step: object = None   # (−1: none yet)

    @classmethod
    def initial(cls, bt: "Batch") -> "_State":
        """The state at step 0: W = W₀, nothing recorded yet, every run active."""
        xp, B, dev, dt = bt.xp, bt.B, _device(bt.X), bt.X.dtype
        s = cls(T1=_ints(xp, B, -1, dev), T1_stable=_ints(xp, B, -1, dev),
                div_step=_ints(xp, B, -1, dev), best_step=_ints(xp, B, 0, dev),
                active=xp.ones((B,), dtype=xp.bool, device=dev),
                best_l2=xp.full((B,), math.inf, dtype=dt, device=dev),
                path=xp.zeros((B,), dtype=dt, device=dev), W=xp.asarray(bt.W0, copy=True))
        s.W_best, s.W_stop = s.W, xp.zeros_like(s.W)
        s.peak_loss = xp.full((B,), -math.inf, dtype=dt, device=dev)
        s.rise_loss = xp.full((B,), math.nan, dtype=dt, device=dev)
        s.peak_step, s.rise_step = _ints(xp, B, 0, dev), _ints(xp, B, -1, dev)
        return s

    def bookkeep(self, bt: "Batch", t, f, l2_clean, loss, host: bool, stop=None):
        """T1, T1_stable, the oracle, W at τ (``stop``: the runs whose τ is t), the loss's peak
        and rise, and divergence at step t (an int or a (1,) device array); returns the (B,)
        mask of runs that diverge at t. No host synchronisation on a device."""
        xp = bt.xp
        live = self.active
        correct = xp.all(_sign(xp, f) == bt.y_true, axis=1) & live
        self.T1 = xp.where(correct & (self.T1 < 0), t, self.T1)
        self.T1_stable = xp.where(correct, xp.where(self.T1_stable < 0, t, self.T1_stable),
                                  xp.where(live, -1, self.T1_stable))
        better = (l2_clean < self.best_l2) & live
        self.best_l2 = xp.where(better, l2_clean, self.best_l2)
        self.best_step = xp.where(better, t, self.best_step)
        self.W_best = _select(xp, host, better, self.W, self.W_best)
        if stop is not None:                              # τ_b is known on the host
            self.W_stop = _select(xp, host, stop & live, self.W, self.W_stop)
        self._watch_loss(xp, t, loss, live, host)
        newly = (~xp.isfinite(loss) | (loss > self.limit)) & live
        self.div_step = xp.where(newly, t, self.div_step)
        return newly

    def _watch_loss(self, xp, t, loss, live, host: bool) -> None:
        """The loss's peak and its first rise above ``rise_limit``. A first rise is always a
        new peak (every loss before it was at most the limit), so on the host a step with no
        new peak, the common one, ends after one mask."""
        higher = xp.isfinite(loss) & (loss > self.peak_loss) & live
        if host and not bool(higher.any()):
            return
        self.peak_loss = xp.where(higher, loss, self.peak_loss)
        self.peak_step = xp.where(higher, t, self.peak_step)
        rises = higher & (loss > self.rise_limit) & (self.rise_step < 0)
        self.rise_loss = xp.where(rises, loss, self.rise_loss)
        self.rise_step = xp.where(rises, t, self.rise_step)


def _divergence_rows(bt: Batch, s: _State, alphas: np.ndarray) -> np.ndarray:
    """The (B, columns) row of every run at its divergence step, recomputed at the end: a
    diverged run is frozen, so its W, f and path are still those of that step."""
    xp = bt.xp
    f = bt.step.forward(s.W)
    acc_noisy = _accuracy(xp, f, bt.y)
    at = np.clip(to_numpy(s.div_step), 0, None)
    alpha = bt.bk.asarray(alphas[np.arange(bt.B), at])
    r = f - bt.target(f, alpha)
    loss = 0.5 * sumsq(xp, r)
    return to_numpy(metrics_row(bt, s.W, f, r, alpha, acc_noisy, s.path, loss,
                                _norm(xp, f - bt.y_true)))


def _outcomes(bt: Batch, s: _State, host, log_at, alphas, last: int, status: str) -> list:
    """Per-run ``RunOutcome`` from the host copies of the buffers."""
    ints = lambda a: [int(x) for x in to_numpy(a)]                                 # noqa: E731
    div, T1, T1s, best, tau = (ints(a) for a in (s.div_step, s.T1, s.T1_stable, s.best_step, bt.tau))
    peak_t, rise_t = ints(s.peak_step), ints(s.rise_step)
    peak, rise = (to_numpy(a).astype(float) for a in (s.peak_loss, s.rise_loss))
    loss0 = np.full(bt.B, math.nan) if s.loss0 is None else to_numpy(s.loss0).astype(float)
    div_rows = _divergence_rows(bt, s, alphas) if max(div, default=-1) >= 0 else None
    out = []
    for b in range(bt.B):
        diverged = 0 <= div[b] <= last
        end = div[b] if diverged else last
        keep = log_at <= end
        rows, logged = host[b, keep], log_at[keep]
        if diverged and (logged.size == 0 or logged[-1] != end):
            rows, logged = np.vstack([rows, div_rows[b]]), np.append(logged, end)
        cols = {c: np.array(rows[:, j], dtype=float) for j, c in enumerate(COLUMNS)}
        cols["step"] = logged.astype(float)
        out.append(RunOutcome(
            columns=cols, alphas=alphas[b, : end + 1],
            status="diverged" if diverged else status, steps_done=end,
            diverged_step=end if diverged else None,
            T1=T1[b] if 0 <= T1[b] <= end else None,
            T1_stable=T1s[b] if 0 <= T1s[b] <= end else None,
            best_step=best[b], loss_start=float(loss0[b]),
            loss_peak=((peak_t[b], float(peak[b])) if math.isfinite(peak[b]) and peak_t[b] <= end
                       else None),
            loss_rise=(rise_t[b], float(rise[b])) if 0 <= rise_t[b] <= end else None,
            W_best=s.W_best[b],
            W_stop=s.W_stop[b] if 0 <= tau[b] <= end else None, W_final=s.W[b],
            kernel=bt.step.name))
    return out
