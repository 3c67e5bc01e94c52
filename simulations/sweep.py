"""The sweep: plan runs over a grid, skip finished ones, execute the rest, store each as it ends.

A *task* is one training trajectory; it yields one or more *records* (store rows). The ``gd``
and ``early-stop`` methods share their trajectory (plain GD on y): it is computed once per
(grid point, seed) and gives two records, each with its own run_id. ``early-stop`` reports the
iterate at the stopping time τ of Li, Soltanolkotabi & Oymak (2019) (``traj.early_stop``)
and keeps the oracle best-ℓ2 iterate (``traj.oracle``) alongside; its stored trajectory
is GD's, cut at τ.

Workers only compute (``run_task`` is a pure function of its task dict); the coordinator is the
only process that writes the store. A run that raises or diverges becomes a record with its
status and error text; a KeyboardInterrupt records nothing for the unfinished runs.
"""

from __future__ import annotations

import math
import os
import platform
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from typing import Callable, Optional

from theorem_lab.engine import UNSTABLE_FACTOR
from theorem_lab.output import CACHE_ENV  # noqa: F401  (tests set it through this module)

from .grid import RunConfig, cell_label, config_hash, run_config, trajectory_config
from .store import interrupts_held

SUMMARY_KEYS = ("l2_clean", "l2_noisy", "acc_clean", "test_acc", "margin", "dist_init")


@dataclass
class Plan:
    """What a sweep will do: grid points (cells), every run_id per (cell, method, seed), the
    tasks still to run and the run_ids skipped because their outcome is already stored."""

    points: list
    labels: list
    methods: list
    seeds: int
    run_ids: dict = field(default_factory=dict)   # (cell index, method, seed) -> run_id
    tasks: list = field(default_factory=list)
    skipped: int = 0

    @property
    def total_runs(self) -> int:
        return len(set(self.run_ids.values()))

    @property
    def pending_runs(self) -> int:
        return sum(len(t["records"]) for task in self.tasks for t in task.get("batch", [task]))


def make_plan(points: list, methods: list, seeds: int, done: set, varying: list) -> Plan:
    """Tasks for every (point, seed, trajectory) with at least one run_id not in ``done``."""
    plan = Plan(points, [cell_label(p, varying) for p in points], list(methods), seeds)
    tasks: dict = {}
    skipped = set()
    for ci, point in enumerate(points):
        for seed in range(seeds):
            for method in methods:
                cfg = run_config(point, method, seed)
                rid = cfg.run_id
                plan.run_ids[(ci, method, seed)] = rid
                if rid in done:
                    skipped.add(rid)
                    continue
                base = trajectory_config(cfg, point)
                tid = config_hash(base)
                task = tasks.setdefault(tid, {"task_id": tid, "config": base, "records": []})
                if rid not in {r["run_id"] for r in task["records"]}:
                    task["records"].append({"run_id": rid, "method": method,
                                            "cell": plan.labels[ci], "config": cfg.as_dict()})
    plan.tasks = list(tasks.values())
    plan.skipped = len(skipped)
    return plan


def merge_plans(grids: list, varying_of) -> Plan:
    """One plan over every sweep recorded in a store (``ResultStore.sweeps``), for the summary
    and the report: the union of their cells, methods and (cell, method, seed) run ids.
    ``varying_of(points)`` names the fields that vary (for the cell labels)."""
    from .grid import canonical_json
    points, index = [], {}
    methods = []
    for g in grids:
        for p in g["points"]:
            key = canonical_json(p)
            if key not in index:
                index[key] = len(points)
                points.append(p)
        methods += [m for m in g["methods"] if m not in methods]
    varying = varying_of(points)
    plan = Plan(points, [cell_label(p, varying) for p in points], methods,
                max((g["seeds"] for g in grids), default=0))
    for g in grids:
        for p in g["points"]:
            ci = index[canonical_json(p)]
            for method in g["methods"]:
                for seed in range(g["seeds"]):
                    plan.run_ids[(ci, method, seed)] = run_config(p, method, seed).run_id
    return plan


# --- one task (runs in a worker) ----------------------------------------------------------

@lru_cache(maxsize=None)
def _version(pkg: str):
    """An installed package's version (read once per process: 2 ms a call)."""
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def environment(cfg: dict, threads: int) -> dict:
    """Versions and engine of a run (saved with it)."""
    return {"python": platform.python_version(), "platform": platform.platform(),
            "host": platform.node(), "pid": os.getpid(), "threads": threads,
            "numpy": _version("numpy"), "torch": _version("torch"),
            "theorem_lab": _version("theorem-lab"), "backend": cfg["backend"],
            "device": cfg["device"], "dtype": cfg["dtype"]}


def _plain(obj):
    """JSON-safe copy: numpy scalars to Python numbers, tuples to lists."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        return obj.item()
    return obj


@contextmanager
def _thread_limits(threads: int, backend: str):
    """BLAS (threadpoolctl) and torch intra-op threads for one run.

    torch's threads are limited for every backend: the numpy GD step runs torch's kernels on
    numpy memory (theorem_lab/step.py), so two numpy workers would otherwise oversubscribe.
    """
    import sys

    from threadpoolctl import threadpool_limits
    torch_before, omp_before = None, os.environ.get("OMP_NUM_THREADS")
    if backend == "torch" or "torch" in sys.modules:
        import torch
        torch_before = torch.get_num_threads()
        torch.set_num_threads(threads)
    else:   # torch not imported (the engine may not need it): a later import reads this
        os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        with threadpool_limits(threads):
            yield
    finally:
        if torch_before is not None:
            import torch
            torch.set_num_threads(torch_before)
        elif omp_before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = omp_before


def run_task(task: dict, progress: Optional[Callable[[int], None]] = None) -> list:
    """Train one trajectory, or one batch of them, and return its records. Pure: reads
    nothing, writes nothing.

    ``task``: {'task_id', 'config' (RunConfig dict of the trajectory), 'records' (the run_ids
    wanted from it), 'threads'}, or a batch {'task_id', 'batch': [such tasks], 'threads'} made
    by ``batching.batch_tasks`` (its trajectories run as one engine batch). Exceptions become 'error'
    records; out of memory splits a batch in halves and retries; KeyboardInterrupt propagates.
    """
    threads = int(task.get("threads", 1))
    members = task.get("batch", [task])
    counter = _RunSteps(progress)
    with _thread_limits(threads, members[0]["config"]["backend"]):
        return list(_train_groups(members, threads, counter))


class _RunSteps:
    """progress(t) of the engine -> run-steps done (finished groups + t × the group's runs)."""

    def __init__(self, progress):
        self.progress, self.done, self.runs = progress, 0, 1

    def __call__(self, t: int):
        if self.progress is not None:
            self.progress(self.done + t * self.runs)


def _train_groups(members: list, threads: int, counter: _RunSteps):
    """Yield the records of ``members`` trained as one batch; halve it on out-of-memory."""
    counter.runs = len(members)
    try:
        records = _train_batch(members, threads, counter)
    except MemoryError as exc:
        if len(members) == 1:
            yield from error_records(members[0], exc, time.time())
            return
        half = len(members) // 2
        for part in (members[:half], members[half:]):
            yield from _train_groups(part, threads, counter)
        return
    counter.done += members[0]["config"]["steps"] * len(members)
    yield from records


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "out of memory" in str(exc).lower()


def _train_batch(members: list, threads: int, progress) -> list:
    """One engine batch of the members' trajectories; their records (errors per member)."""
    import theorem_lab as tl
    from theorem_lab.train import train_many

    started = time.time()
    cfgs, datas, nets, ok, out = [], [], [], [], []
    for task in members:                         # a bad data set fails its run only
        cfg = RunConfig(**task["config"])
        try:
            data = tl.make_clusterable(n=cfg.n, K=cfg.clusters, d=cfg.dim, eps=cfg.eps,
                                       rho=cfg.rho, seed=cfg.data_seed, n_test=cfg.n_test,
                                       min_separation=cfg.min_separation)
            net = tl.TwoLayerNet.init(d=cfg.dim, k=cfg.width, activation=cfg.activation,
                                      seed=cfg.init_seed)
        except Exception as exc:
            out.extend(error_records(task, exc, started, environment(task["config"], threads)))
            continue
        datas.append(data)
        nets.append(net)
        cfgs.append(cfg)
        ok.append(task)
    if not ok:
        return out
    try:
        trajs = train_many(datas, nets, method=[c.method for c in cfgs], steps=cfgs[0].steps,
                           lr=[c.lr for c in cfgs], schedule=[c.schedule for c in cfgs],
                           label_fn=[c.label_fn or "clipped" for c in cfgs],
                           backend=cfgs[0].backend, device=cfgs[0].device, dtype=cfgs[0].dtype,
                           log_every=cfgs[0].log_every, rho_h=[c.rho_h for c in cfgs],
                           progress=progress,
                           early_stop_constant=["calibrated" if c.early_stop_constant is None
                                                else c.early_stop_constant for c in cfgs])
    except KeyboardInterrupt:
        raise
    except Exception as exc:   # recorded, the sweep goes on
        if _is_oom(exc):
            raise MemoryError(str(exc)) from exc
        for task in ok:
            out.extend(error_records(task, exc, started, environment(task["config"], threads)))
        return out
    if any(t.status == "interrupted" for t in trajs):
        raise KeyboardInterrupt
    ended = time.time()
    share = (ended - started) / len(ok)          # a batch's wall time shared out per run
    for task, cfg, data, net, traj in zip(ok, cfgs, datas, nets, trajs):
        out.extend(_records(task, cfg, data, net, traj, started, share,
                            environment(task["config"], threads)))
    return out


def _records(task, cfg, data, net, traj, started: float, seconds: float, env: dict) -> list:
    """The store records one trajectory yields (early-stop and gd share GD's)."""
    context = {"sqrt_n": math.sqrt(data.n), "n_corrupted": int(data.corrupted.sum()),
               "noise_l2": 2 * math.sqrt(int(data.corrupted.sum())),
               "rho_observed": data.rho, "eps_observed": data.eps_observed,
               "activation_note": net.activation.note, "smooth": net.activation.smooth}
    info = _plain({k: v for k, v in traj.info.as_dict().items() if k != "config"})
    rows = traj.rows()
    out = []
    for want in task["records"]:
        summary, status, error, kept = _summarise_run(want["method"], traj, rows, cfg.steps)
        out.append({"run_id": want["run_id"], "cell": want["cell"], "method": want["method"],
                    "seed": cfg.seed, "status": status, "error": error, "started": started,
                    "ended": started + seconds, "seconds": seconds, "task_id": task["task_id"],
                    "config": want["config"], "summary": _plain({**summary, **context,
                                                                 "seconds": seconds}),
                    "info": info, "environment": env, "rows": kept})
    return out


# A run whose loss rises above UNSTABLE_FACTOR × its starting loss at any step (and stays
# finite) is 'unstable', not 'finished' (engine.UNSTABLE_FACTOR says why and what was measured).
# Exploding (non-finite or 10⁶×) losses stop the run in train() as 'diverged'.


def instability(info: dict, upto: Optional[int] = None) -> "str | None":
    """The 'unstable' message of a run (``RunInfo.as_dict()``), or None when its loss stayed
    at most UNSTABLE_FACTOR × its start at every step (up to step ``upto``: early stop's τ).
    The engine checks every step, not only the logged ones (``loss_rise``, ``loss_peak``)."""
    rise, peak = info.get("loss_rise"), info.get("loss_peak")
    if rise is None or (upto is not None and rise["step"] > upto):
        return None
    start = info["loss_start"]
    lr, rule = info["lr"], info["lr_rule"]
    fix = "lower --lr (the default, auto, is 1/λ_max(J₀J₀ᵀ))" if rule == "fixed" else "lower --lr"
    top = ""
    if peak is not None and peak["step"] != rise["step"] and (upto is None or peak["step"] <= upto):
        top = f"; its peak {peak['loss']:.4g} at step {peak['step']}"
    return (f"unstable: the loss rose from {start:.4g} to {rise['loss']:.4g} "
            f"({rise['loss'] / max(start, 1e-12):.3g}× its start) at step {rise['step']} (the "
            f"first step above {UNSTABLE_FACTOR:g}×{top}) with lr={lr:.4g} ({rule}); {fix}")


def task_steps(task: dict) -> int:
    """Run-steps of a task (a batch counts each of its runs)."""
    return sum(t["config"]["steps"] for t in task.get("batch", [task]))


def _summarise_run(method: str, traj, rows: list, steps: int):
    """(summary, status, error, trajectory rows) of one record from a trajectory."""
    summary, status, error, kept = _summarise_trajectory(method, traj, rows)
    if status == "finished":
        upto = summary.get("step") if method == "early-stop" else None   # early stop: up to τ
        why = instability(traj.info.as_dict(), upto)
        if why is not None:
            status, error = "unstable", why
    return summary, status, error, kept


def _summarise_trajectory(method: str, traj, rows: list):
    info = traj.info.as_dict()
    status, error = "finished", None
    if info["status"] == "diverged":
        status = "diverged"
        error = (f"loss diverged at step {info['diverged_step']} with lr={info['lr']:.4g} "
                 f"({info['lr_rule']}); lower --lr")
    if method != "early-stop":
        final = traj.final
        summary = {k: final.get(k, float("nan")) for k in SUMMARY_KEYS}
        summary.update(step=info["steps_done"], T1=info["T1"], T2=info["T2"], lr=info["lr"],
                       oracle=info["oracle"], early_stop=info["early_stop"])
        return summary, status, error, rows
    stop = info["early_stop"]
    tau = info["early_stop_step"]
    summary = {"tau": tau, "oracle": info["oracle"], "lr": info["lr"]}
    if stop is None:
        why = ("λ(C) ≤ 0: no stopping time" if tau is None else
               f"the LSO19 stopping time τ = {tau} is beyond the run's last step "
               f"{info['steps_done']}")
        summary.update({k: float("nan") for k in SUMMARY_KEYS}, step=None, T1=None, note=why)
        if status == "finished":
            summary["note"] = why + "; raise --steps"
        return summary, status, error, rows
    summary.update({k: stop.get(k, float("nan")) for k in SUMMARY_KEYS}, step=stop["step"])
    T1 = info["T1"]
    summary["T1"] = T1 if T1 is not None and T1 <= stop["step"] else None
    if status == "diverged" and info["diverged_step"] > stop["step"]:
        status, error = "finished", None   # GD diverged after τ; the stopped iterate is fine
    return summary, status, error, [r for r in rows if r["step"] <= stop["step"]]


def error_records(task: dict, exc: BaseException, started: float, env: Optional[dict] = None) -> list:
    """'error' records for every run of a task that raised (or whose worker was lost)."""
    if "batch" in task:
        return [r for t in task["batch"] for r in error_records(t, exc, started, env)]
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    text = last + (f" (at {where[0].filename}:{where[0].lineno})" if where else "")
    ended = time.time()
    cfg = task["config"]
    return [{"run_id": w["run_id"], "cell": w["cell"], "method": w["method"], "seed": cfg["seed"],
             "status": "error", "error": text, "started": started, "ended": ended,
             "seconds": ended - started, "task_id": task["task_id"], "config": w["config"],
             "summary": {}, "info": {}, "environment": env or {}, "rows": []}
            for w in task["records"]]


# --- coordinator ------------------------------------------------------------------------

def execute(plan: Plan, executor, store, on_runs: Callable[[int], None] = lambda k: None,
            on_steps: Callable[[int], None] = lambda k: None) -> int:
    """Run the plan's tasks on ``executor``; write every record as it arrives. Returns the
    number of records whose status is not 'finished'."""
    failed = 0
    for task, result in executor.run(plan.tasks, on_steps):
        records = result if isinstance(result, list) else error_records(task, result, time.time())
        with interrupts_held():             # a batch's runs are all stored before Ctrl-C stops it
            for rec in records:
                store.write(rec)
                failed += rec["status"] != "finished"
        on_runs(len(records))
    return failed


# --- summaries and verdicts -------------------------------------------------------------

# Theorem 1 concludes ‖f(W_t, X) − ỹ‖₂ → small; we call a residual "converged" when it is at most
# this fraction of ‖ỹ‖₂ = √n (and "fitted" likewise for GD's ‖f − y‖₂). 10 % of √n is an
# average per-point error of at most 0.1 in root-mean-square, below the ±1 label scale.
CONVERGED_FRACTION = 0.10
TABLE_KEYS = ("l2_clean", "l2_noisy", "acc_clean", "test_acc", "T1", "margin", "dist_init",
              "seconds", "step")


def _mean_std(values: list) -> tuple:
    """(mean, sample std (ddof=1; 0 for one value), count) over the finite values."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return float("nan"), float("nan"), 0
    m = sum(xs) / len(xs)
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, s, len(xs)


def summarise(plan: Plan, runs: dict) -> list:
    """One dict per cell: its point, per-method mean/std over seeds, statuses, and a verdict.

    ``runs``: run_id -> store row (``ResultStore.runs``). Means use the finished runs only.
    """
    cells = []
    for ci, point in enumerate(plan.points):
        methods = {}
        note = None
        for method in plan.methods:
            ids = [plan.run_ids[(ci, method, s)] for s in range(plan.seeds)
                   if (ci, method, s) in plan.run_ids]
            if not ids:          # a merged plan: no sweep asked for this method at this cell
                continue
            rows = [runs[i] for i in ids if i in runs]
            ok = [r for r in rows if r["status"] == "finished"]
            statuses = {}
            for r in rows:
                statuses[r["status"]] = statuses.get(r["status"], 0) + 1
            mean, std, count = {}, {}, {}
            for k in TABLE_KEYS:
                mean[k], std[k], count[k] = _mean_std([r["summary"].get(k) for r in ok])
            notes = sorted({r["summary"].get("note") for r in rows if r["summary"].get("note")})
            errors = sorted({r["error"] for r in rows if r["error"]})
            note = note or next((r["summary"].get("activation_note") for r in ok), None)
            methods[method] = {"runs": len(ids), "finished": len(ok), "statuses": statuses,
                               "mean": mean, "std": std, "count": count, "run_ids": ids,
                               "notes": notes, "errors": errors}
        sqrt_n = math.sqrt(point["n"])
        noise = [r["summary"].get("noise_l2") for m in methods.values()
                 for r in (runs.get(i) for i in m["run_ids"]) if r and r["status"] == "finished"]
        cell = {"label": plan.labels[ci], "point": point, "sqrt_n": sqrt_n,
                "noise_l2": _mean_std(noise)[0], "activation_note": note, "methods": methods}
        cell["verdict"] = verdict(cell)
        if "self-distill" in plan.methods:
            cell["hypotheses"] = hypotheses(point)
        cells.append(cell)
    return cells




def _cache_file(point: dict):
    """The cache file of a point's vacuity report: keyed by the point and the source of the
    code that computes it (constants, requirements, data), so an edit invalidates it."""
    from theorem_lab.output import cache_dir
    where = cache_dir("requirements")
    if where is None:
        return None
    return where / f"{config_hash({'point': point, 'code': requirements_digest()})}.json"


def requirements_digest() -> str:
    """A hash of the code behind a vacuity report (constants, requirements, data): stored
    numbers computed by other code are recomputed."""
    import hashlib
    from pathlib import Path

    import theorem_lab
    from theorem_lab import proofs_check
    sources = [Path(proofs_check.__file__).with_name(f) for f in ("constants.py", "requirements.py")]
    sources.append(Path(theorem_lab.__file__).with_name("data.py"))
    return hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]


def hypotheses(point: dict) -> dict:
    """Theorem 1's explicit conditions at this grid point, on the seed-0 data (the vacuity
    report of ``theorem_lab.proofs_check.requirements``: required width, allowed ε, the schedule's decay).

    Cached on disk per (point, code version) in ``$THEOREM_LAB_CACHE_DIR`` (default
    ~/.cache/theorem-lab): the report needs sympy, whose import and the constants' composition
    cost 1.3-3.6 s, more than a small sweep's arithmetic."""
    import json

    from theorem_lab.output import write_cache_json
    path = _cache_file(point)
    if path is not None and path.exists():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass                              # unreadable: recompute and rewrite
    report = _plain(_hypotheses(point))
    if path is not None:
        write_cache_json(path, report)        # a read-only home: no cache, same report
    return report


def _hypotheses(point: dict) -> dict:
    import theorem_lab as tl
    from theorem_lab.proofs_check.requirements import theorem_requirements

    try:
        data = tl.make_clusterable(n=point["n"], K=point["clusters"], d=point["dim"],
                                   eps=point["eps"], rho=point["rho"], seed=0, n_test=0,
                                   min_separation=point["min_separation"])
    except tl.ParameterError as exc:      # the runs of this cell failed the same way
        return {"error": str(exc)}
    return theorem_requirements(data, point["activation"], point["width"], point["schedule"],
                                point["steps"])


# The summary table's columns: (summary key, heading); shared by the CLI's table and the report.
COLUMNS = (("l2_clean", "‖f−ỹ‖₂"), ("l2_noisy", "‖f−y‖₂"), ("acc_clean", "train acc"),
           ("test_acc", "test acc"), ("T1", "T1"), ("margin", "min margin"),
           ("dist_init", "‖W−W₀‖_F"), ("seconds", "s/run"), ("step", "at step"))
SECONDS_NOTE = ("s/run: each run's share of its batch's wall time (runs trained together split it "
                "evenly; early-stop is read off its GD run)")


def fmt(mean: float, std: float, count: int, digits: int = 3) -> str:
    """'mean ± std' (just the mean for one value; '—' for none); whole numbers as integers."""
    if count == 0 or not math.isfinite(mean):
        return "—"
    if float(mean).is_integer() and abs(mean) < 1e7:
        text = f"{mean:.0f}"
    else:
        text = f"{mean:.{digits}g}" if abs(mean) < 1e4 else f"{mean:.3e}"
    return text if count < 2 else f"{text} ± {std:.2g}"


def verdict(cell: dict) -> str:
    """Theorem 1 at this cell, in words with the numbers."""
    m, sqrt_n = cell["methods"], cell["sqrt_n"]
    parts = []
    head = "Theorem 1's conclusion not tested (no finished self-distill run)"
    sd = m.get("self-distill")
    if sd and sd["finished"]:
        e, s, c = sd["mean"]["l2_clean"], sd["std"]["l2_clean"], sd["count"]["l2_clean"]
        ok = e <= CONVERGED_FRACTION * sqrt_n
        head = (f"Theorem 1's conclusion {'reproduced' if ok else 'NOT reproduced'}: self-distillation "
                f"{'converged' if ok else 'did not converge'} to the clean labels in ℓ2, "
                f"‖f−ỹ‖₂ = {fmt(e, s, c)} = {e / sqrt_n:.1%} of ‖ỹ‖₂ = √n = {sqrt_n:.1f} "
                f"(threshold {CONVERGED_FRACTION:.0%}) after {sd['mean']['step']:.0f} steps")
    gd = m.get("gd")
    if gd and gd["finished"]:
        r, rs, c = gd["mean"]["l2_noisy"], gd["std"]["l2_noisy"], gd["count"]["l2_noisy"]
        fitted = r <= CONVERGED_FRACTION * sqrt_n
        parts.append(f"GD {'fitted the noise' if fitted else 'had not fitted the noise'} "
                     f"(‖f−y‖₂ = {fmt(r, rs, c)} = {r / sqrt_n:.1%} of √n; "
                     f"‖f−ỹ‖₂ = {fmt(gd['mean']['l2_clean'], gd['std']['l2_clean'], c)}, "
                     f"full memorisation gives 2√#flipped = {cell['noise_l2']:.1f})")
    es = m.get("early-stop")
    if es and es["finished"] and es["count"]["l2_clean"]:
        parts.append(f"early stopping at τ = {fmt(es['mean']['step'], es['std']['step'], es['count']['step'])} (LSO19) gives "
                     f"‖f−ỹ‖₂ = {fmt(es['mean']['l2_clean'], es['std']['l2_clean'], es['count']['l2_clean'])}")
    bad = sum(v["runs"] - v["finished"] for v in m.values())
    if bad:
        parts.append(f"{bad} run(s) did not finish")
    return head + ("; " + "; ".join(parts) if parts else "") + "."
