"""`theorem-lab sweep`: Theorem 1 at a grid of settings, against GD and early stopping.

    theorem-lab sweep --width 4096 --rho 0.3
    theorem-lab sweep --width 256,1024,4096 --rho 0.1,0.2,0.3,0.4 --seeds 5

Numeric and choice options take comma lists; the sweep is their full grid × seeds × methods.
Everything is validated before any work starts (bad input: one line, exit 2). Results go to
``--out`` (default ``runs/<name>``, the name derived from the grid so that re-running the same
command resumes it): ``results.sqlite``, ``summary.json`` and ``trajectories.png/.pdf``.
Exit 0 when every run of this invocation finished, 1 when some diverged, were unstable or raised
(counted on stderr), 130 on Ctrl-C (runs finished so far stay stored). One sweep writes a store at
a time (``lock.StoreLock``); ``summary.json`` covers every sweep written into the store.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from theorem_lab.errors import ParameterError, check_fits, fail
from theorem_lab.output import check_output_dir, strict_json

from . import grid as G
from .sweep import COLUMNS, SECONDS_NOTE

# Evidence for the default step count: `theorem-lab sweep --steps 200,400,600,1000,1600
# --methods self-distill --seeds 3` (n=1000, K=10, d=50, ε=0.05, ρ=0.3, k=4096, tanh, lr=auto,
# linear α_t reaching 0 at steps/2, numpy float64) gives final ‖f−ỹ‖₂ = 1.14 ± 0.06, 1.11 ± 0.06,
# 1.08 ± 0.06, 1.05 ± 0.05, 1.03 ± 0.04 (mean ± sd over seeds; √n = 31.6). The residual settles
# within ~20 steps of α_t reaching 0, then drifts down by < 0.01 per 100 steps: from 600 steps on,
# more steps move it by less than the seed-to-seed spread (0.2 % of √n).
DEFAULT_STEPS = 600
DEFAULTS = {  # option -> default text (every grid option)
    "n": "1000", "clusters": "10", "dim": "50", "eps": "0.05", "rho": "0.3", "n_test": "1000",
    "min_separation": "0", "width": "4096", "activation": "tanh", "steps": str(DEFAULT_STEPS),
    "lr": "auto", "schedule": "linear", "label_fn": "clipped", "rho_h": "data", "log_every": "10",
    "early_stop_constant": "calibrated",
    "backend": "auto", "device": "auto", "dtype": "float64",
}
HELP = {
    "n": "training points n", "clusters": "clusters K (n >= 2K)", "dim": "input dimension d",
    "eps": "cluster radius ε in (0, 2]", "rho": "label-noise fraction ρ in [0, 0.5)",
    "n_test": "clean held-out points", "min_separation": "minimum distance between centres",
    "width": "hidden width k (even)", "activation": "tanh, softplus, erf or relu (outside Theorem 1)",
    "steps": "GD steps", "lr": "step size: auto (1/λ_max(J₀J₀ᵀ)), theorem (1/(2Γ²n)) or a number",
    "schedule": "α_t schedule spec(s), e.g. linear or linear:end=200,exponential:tau=50",
    "label_fn": "h: clipped (Theorem 1), sign or identity",
    "rho_h": "ρ inside the clipped h: 'data' (the realised max ρ_l) or a number",
    "log_every": "log a trajectory row every this many steps",
    "early_stop_constant": "c of the early-stop baseline τ = c·τ₀: calibrated (the packaged fit, "
                           "theorem-lab early-stop-calibration) or a number (1 = uncalibrated)",
    "backend": "auto (torch on CUDA if present, else numpy), numpy, torch or cupy",
    "device": "auto, cpu or cuda", "dtype": "float64 or float32",
}


def configure(parser):
    g = parser.add_argument_group("grid (comma lists expand to the full grid)")
    for opt, default in DEFAULTS.items():
        g.add_argument("--" + opt.replace("_", "-"), dest=opt, default=default, metavar="LIST",
                       help=f"{HELP[opt]} (default {default})")
    g.add_argument("--methods", default="self-distill,gd,early-stop", metavar="LIST",
                   help="self-distill, gd, early-stop (default all three)")
    g.add_argument("--seeds", default="1", metavar="S",
                   help="seeds 0..S-1; seed s fixes the data and W₀ (default 1)")
    r = parser.add_argument_group("running")
    r.add_argument("--workers", default=None, metavar="W", help="worker processes (default: cores)")
    r.add_argument("--executor", default="local", help="local (default) or ray")
    r.add_argument("--address", default=None, help="Ray cluster address (with --executor ray)")
    r.add_argument("--batch", default="auto", metavar="B",
                   help="runs of one shape trained together: auto (as many as fit memory), off "
                        "(one at a time) or a number (default auto)")
    r.add_argument("--out", default=None, help="output directory (default runs/NAME with --name, else "
                   "runs/sweep-<hash of the grid>)")
    r.add_argument("--name", default=None, help="sweep name for the default --out (letters, "
                   "digits, '.', '_', '-')")
    r.add_argument("--wait", default="0", metavar="SECONDS",
                   help="wait this long for another sweep writing the same --out (default 0: "
                   "exit 2 at once)")
    r.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    r.add_argument("--no-figure", action="store_true", help="skip the trajectory figure")
    r.add_argument("--verbose", action="store_true",
                   help="at the end, measure each shape's compute floor (2 GEMMs + 1 φ pass per "
                        "step) and print the runs' and the whole sweep's time against it")


def _validated(args):
    """Everything checked, nothing run: (points, methods, seeds, workers, out)."""
    from .executors import check_executor, cores
    grid = G.parse_grid({opt: getattr(args, opt) for opt in DEFAULTS})
    methods = G.parse_methods(args.methods)
    seeds = G.parse_int(args.seeds, "--seeds", low=1)
    workers = cores() if args.workers is None else G.parse_int(args.workers, "--workers", low=1)
    check_executor(args.executor, args.address, G.OWNER)
    wait = G.parse_real(args.wait, "--wait", low=0.0)
    points = G.expand(grid, remote=args.executor == "ray" and args.address is not None)
    check_fits("--seeds", seeds, G.OWNER, PLAN_BYTES * len(points) * len(methods) * seeds,
               f"the plan of {len(points)} cell(s) × {len(methods)} method(s) × {seeds} seed(s)")
    for p in points:
        check_feasible(p, seeds)
    varying = varying_fields(points)
    if args.name is not None:
        check_name(args.name)
    name = args.name or "sweep-" + G.config_hash({"points": points, "methods": methods,
                                                  "seeds": seeds})[:8]
    out = check_output_dir("--out", Path("runs") / name if args.out is None else args.out,
                           G.OWNER)
    args.batch_size = (args.batch if args.batch in ("auto", "off")
                       else G.parse_int(args.batch, "--batch", low=1))
    return points, varying, methods, seeds, workers, out, wait


def varying_fields(points: list) -> list:
    return [f for f in G.GRID_FIELDS if len({G.canonical_json(p[f]) for p in points}) > 1]


NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def check_name(name: str) -> str:
    """--name is one path component under runs/: no separators, no '..', not hidden, not empty."""
    if not name or not set(name) <= NAME_CHARS or name.startswith("."):
        raise fail("--name", G.OWNER, "a non-empty name of letters, digits, '.', '_' and '-' "
                   "that does not start with '.' (it becomes runs/<name>; use --out for "
                   "another place)", name)
    return name


PLAN_BYTES = 4096      # a planned run: its config dict, run id and task record (measured ~2.5 kB)

# option names of a grid point's sizes, as the user typed them
SIZE_OPTIONS = {"n": "--n", "d": "--dim", "k": "--width", "n_test": "--n-test", "steps": "--steps"}


def check_feasible(point: dict, seeds: int) -> None:
    """Refuse a grid point before the sweep starts when a run cannot fit in memory or its data
    cannot be drawn (the centre separation), instead of storing failed runs."""
    from theorem_lab.data import draw_centers
    from theorem_lab.sizes import check_size, train_bytes, trajectory_bytes
    check_size(G.OWNER, SIZE_OPTIONS, train_bytes(point["n"], point["dim"], point["width"],
                                                   point["n_test"]),
               trajectory_bytes(point["steps"], point["log_every"]),
               what=f"a run's weights and (n, k) activations (n={point['n']}, "
                    f"dim={point['dim']}, width={point['width']}, n-test={point['n_test']})")
    if point["min_separation"] > 0:
        for seed in range(seeds):
            try:
                draw_centers(point["clusters"], point["dim"], point["min_separation"], seed)
            except ParameterError:
                raise fail("--min-separation", G.OWNER, f"achievable: no draw of "
                           f"{point['clusters']} random unit centres in dimension "
                           f"{point['dim']} met it (seed {seed}); lower --min-separation, "
                           "lower --clusters or raise --dim", point["min_separation"]) from None


def _write_summary(out, summary: dict) -> None:
    (Path(out) / "summary.json").write_text(strict_json(summary, indent=1, ensure_ascii=False) + "\n")


def run(args) -> int:
    from .lock import StoreLock

    points, varying, methods, seeds, workers, out, wait = _validated(args)
    with StoreLock(out, "--out", G.OWNER, wait):      # one writer per store
        return _run(args, points, varying, methods, seeds, workers, out)


def _run(args, points, varying, methods, seeds, workers, out) -> int:
    from tqdm import tqdm

    from .executors import make_executor
    from .store import ResultStore
    from .batching import batch_tasks
    from .sweep import execute, make_plan, merge_plans, summarise, task_steps

    started, started_epoch = time.perf_counter(), time.time()
    store = ResultStore(out)
    store.record_sweep({"points": points, "methods": methods, "seeds": seeds})
    plan = make_plan(points, methods, seeds, store.final_ids(), varying)
    plan.tasks = batch_tasks(plan.tasks, args.batch_size, workers)
    executor = make_executor(args.executor, workers, len(plan.tasks), args.address)
    log = sys.stderr
    log.write(f"sweep: {len(points)} cell(s) × {len(methods)} method(s) × {seeds} seed(s) = "
              f"{plan.total_runs} run(s); {plan.skipped} already stored, {plan.pending_runs} to run "
              f"as {len(plan.tasks)} task(s) on {type(executor).__name__} -> {out}\n")
    quiet = True if not plan.tasks else None     # None: tqdm draws only on a terminal
    runs_bar = tqdm(total=plan.pending_runs, desc="runs ", unit="run", file=log, position=0,
                    disable=quiet, dynamic_ncols=True)
    steps_bar = tqdm(total=sum(task_steps(t) for t in plan.tasks), desc="steps", unit="step",
                     file=log, position=1, disable=quiet, dynamic_ncols=True)
    try:
        execute(plan, executor, store, runs_bar.update, steps_bar.update)
    except KeyboardInterrupt:
        executor.close()
        runs_bar.close(), steps_bar.close()
        n_runs, _ = store.count_rows()
        store.close()
        log.write(f"sweep: interrupted; {n_runs} run(s) stored in {store.path}; "
                  "re-run the same command to resume\n")
        raise
    finally:
        executor.close()
    runs_bar.close(), steps_bar.close()

    # the summary (and the report read from it) covers every sweep written into this store
    whole = merge_plans(store.sweeps(), varying_fields)
    ids = set(whole.run_ids.values())
    runs = {r["run_id"]: r for r in store.runs(ids)}
    store.close()
    cells = summarise(whole, runs)
    failed = [r for r in runs.values() if r["status"] != "finished"]
    mine = set(plan.run_ids.values())           # this invocation's runs (the exit code's)
    summary = ({
        "out": str(out), "store": str(Path(out) / ResultStore.FILENAME), "figure": [],
        "figure_error": None, "runs_total": len(ids), "runs_skipped": plan.skipped,
        "runs_failed": len(failed), "seconds": time.perf_counter() - started,
        "methods": whole.methods, "seeds": whole.seeds, "varying": varying_fields(whole.points),
        "cells": cells, "this_sweep": {"runs": plan.total_runs, "methods": methods,
                                       "seeds": seeds, "cells": len(points),
                                       "failed": sum(r["run_id"] in mine for r in failed)},
        "runs": [{k: r[k] for k in ("run_id", "cell", "method", "seed", "status", "error",
                                    "seconds", "summary")} for r in runs.values()]})
    _write_summary(out, summary)                  # before the figures, which read it
    draw = getattr(args, "draw_figure", None)     # given by the composition root (theorem_lab/cli.py)
    if not args.no_figure and draw is not None:
        try:
            summary["figure"] = [str(p) for p in draw(out)]
        except Exception as exc:   # results are stored; a figure bug must not lose the summary
            summary["figure_error"] = f"{type(exc).__name__}: {exc}"
            log.write(f"sweep: the figure failed ({summary['figure_error']}); results are in {out}\n")
        _write_summary(out, summary)
    if args.json:
        sys.stdout.write(strict_json(summary, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render(cells, summary))
    if args.verbose:
        from .engine_report import report
        wall = time.perf_counter() - started
        trained = [r for r in runs.values() if r["started"] >= started_epoch]
        sys.stdout.write("\n".join(report(trained, wall)) + "\n")
    failed = [r for r in failed if r["run_id"] in mine]   # the exit code is about this invocation's runs
    if failed:
        kinds = {}
        for r in failed:
            kinds[r["status"]] = kinds.get(r["status"], 0) + 1
        log.write(f"sweep: {len(failed)} of {len(mine)} run(s) did not finish ("
                  + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
                  + f"); see {out / 'summary.json'}\n")
        return 1
    return 0


def render(cells: list, summary: dict) -> str:
    """The per-cell summary tables and verdicts, as text (mean ± sample std over seeds)."""
    from .sweep import fmt
    lines = []
    for cell in cells:
        p = cell["point"]
        lines.append(f"\n== {cell['label']}: n={p['n']} K={p['clusters']} d={p['dim']} "
                     f"ε={p['eps']:g} ρ={p['rho']:g} k={p['width']} {p['activation']} "
                     f"steps={p['steps']} lr={p['lr']} schedule={p['schedule']} "
                     f"{p['backend']}/{p['device']}/{p['dtype']}")
        if cell["activation_note"] and "OUTSIDE" in cell["activation_note"]:
            lines.append(f"   note: {cell['activation_note']}")
        table = [["method", "runs"] + [h for _, h in COLUMNS]]
        for method, m in cell["methods"].items():
            runs = f"{m['finished']}/{m['runs']}"
            table.append([method, runs] + [fmt(m["mean"][k], m["std"][k], m["count"][k])
                                           for k, _ in COLUMNS])
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        for r in table:
            lines.append("   " + "  ".join(c.rjust(w) if i > 1 else c.ljust(w)
                                           for i, (c, w) in enumerate(zip(r, widths))))
        for method, m in cell["methods"].items():
            for note in m["notes"]:
                lines.append(f"   {method}: {note}")
            for err in m["errors"]:
                lines.append(f"   {method} failed: {err}")
        lines.append(f"   verdict: {cell['verdict']}")
        if "hypotheses" in cell:
            from theorem_lab.proofs_check.requirements import requirements_line
            lines.append(f"   {requirements_line(cell['hypotheses'])} (seed-0 data)")
    if cells:
        lines.append(f"\n{SECONDS_NOTE}.")
    this = summary["this_sweep"]
    whole = (f" The store holds {summary['runs_total']} run(s) of every sweep written into it "
             f"({summary['runs_failed']} not finished), all in the tables above."
             if summary["runs_total"] != this["runs"] or summary["runs_failed"] != this["failed"]
             else "")
    lines.append(f"\n{this['runs']} run(s), {summary['runs_skipped']} reused from the "
                 f"store, {this['failed']} failed; {summary['seconds']:.1f} s.{whole} "
                 f"Results: {summary['store']}"
                 + (f"; figure: {', '.join(f for f in summary['figure'] if f.endswith('.png'))}"
                    if summary["figure"] else ""))
    return "\n".join(lines).lstrip("\n") + "\n"
