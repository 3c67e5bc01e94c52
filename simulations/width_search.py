"""Width search: the smallest width at which self-distillation reaches the clean labels, against
the width Theorem 1 asks for (the vacuity question of DESIGN.md, in one number per instance).

An *instance* is one (n, ρ, ε, …) data setting. For widths k = k_min, 2k_min, …, k_max (powers
of two times k_min) and several seeds, train Algorithm 1 and call a run a success when
‖f − ỹ‖₂ ≤ ``fraction``·√n at the horizon (the sweep's criterion). The reported empirical width
is the smallest k from which every tested width succeeds on every seed; the theorem's width is
``theorem_lab.proofs_check.requirements.theorem_requirements`` on the same (seed-0) data at the
schedule's T₂, and, per reading of ``constants.READINGS``, ``reading_requirements`` at the
earliest T₂ that reading admits.

Every run is a sweep run (``grid.RunConfig``: self-distill, n_test = 0, one logged row at the
horizon) stored in a ``ResultStore`` under its config-hash run id, so a search over a list of n,
ρ and ε resumes like a sweep (finished runs are never recomputed) and ``theorem-lab export``
reads it. The per-instance table (rows, empirical and theorem widths) is written beside the
store as ``width_search.json``, which the vacuity figure reads; the theorem's numbers are kept
there and reused when the same instance is searched again by the same code (a hash of
constants.py, requirements.py and data.py, as the sweep's vacuity cache).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import theorem_lab as tl
from theorem_lab.data import check_rho_realisable
from theorem_lab.errors import check_choice, check_fits, check_int, check_real, fail, reword

from .sweep import CONVERGED_FRACTION

_OWNER = "width-search"
RESULT_NAME = "width_search.json"
RESULT_FORMAT = "theorem-lab-width-search/1"


@dataclass(frozen=True)
class WidthSearch:
    """Data, schedule and grid of one instance's width search (defaults: the sweep's headline
    instance)."""

    n: int = 1000
    K: int = 10
    d: int = 50
    eps: float = 0.05
    rho: float = 0.3
    activation: str = "tanh"
    steps: int = 600
    schedule: str = "linear"
    k_min: int = 2                     # smallest width tried (even)
    k_max: int = 1024                  # largest width tried
    seeds: int = 3
    fraction: float = CONVERGED_FRACTION   # success: ‖f − ỹ‖₂ ≤ fraction·√n

    def validated(self, names: "dict | None" = None) -> "WidthSearch":
        """Every field checked before any work; ``names`` maps fields to the names a message
        uses (the CLI passes its option names, ``--k-max``); by default the field names."""
        nm = {f: f for f in self.__dataclass_fields__} | (names or {})
        n = check_int(nm["n"], self.n, _OWNER, low=2)
        K = check_int(nm["K"], self.K, _OWNER, low=2)
        if n < 2 * K:
            raise fail(nm["n"], _OWNER, f"an integer >= 2*{nm['K'].lstrip('-')} = {2 * K} (two "
                       "points per cluster)", n)
        check_int(nm["d"], self.d, _OWNER, low=2)
        check_real(nm["eps"], self.eps, _OWNER, low=0.0, high=2.0, low_open=True)
        rho = check_real(nm["rho"], self.rho, _OWNER, low=0.0, high=0.5, high_open=True)
        check_rho_realisable(rho, n, K, nm["rho"], _OWNER)
        check_choice(nm["activation"], self.activation, _OWNER, tl.ACTIVATIONS)
        k_min = check_int(nm["k_min"], self.k_min, _OWNER, low=2, even=True)
        check_int(nm["k_max"], self.k_max, _OWNER, low=2, even=True)
        if self.k_max < k_min:
            raise fail(nm["k_max"], _OWNER, f">= {nm['k_min'].lstrip('-')} = {k_min}", self.k_max)
        check_int(nm["seeds"], self.seeds, _OWNER, low=1)
        check_int(nm["steps"], self.steps, _OWNER, low=1)
        check_fits(nm["steps"], self.steps, _OWNER, 3 * 8.0 * (self.steps + 1),
                   f"α_t over {self.steps} steps")
        check_real(nm["fraction"], self.fraction, _OWNER, low=0.0, high=1.0, low_open=True)
        try:
            tl.parse_schedule(self.schedule, self.steps)
        except tl.ParameterError as exc:
            raise reword(exc, nm["schedule"], _OWNER, "a valid α_t spec", self.schedule) from None
        return self

    def widths(self) -> list:
        return [self.k_min * 2 ** i for i in range(int(math.log2(self.k_max / self.k_min)) + 1)]

    def points(self) -> list:
        """The sweep grid points of this instance, one per width (``grid.GRID_FIELDS``,
        resolved): the data and schedule of the search, no test set, one logged row."""
        from .grid import RunConfig, expand
        defaults = {**RunConfig().as_dict(), "n": self.n, "clusters": self.K, "dim": self.d,
                    "eps": self.eps, "rho": self.rho, "n_test": 0, "activation": self.activation,
                    "steps": self.steps, "schedule": self.schedule, "log_every": self.steps,
                    "backend": "numpy", "device": "cpu", "dtype": "float64"}
        return expand({"width": self.widths()}, defaults)


def instances(base: WidthSearch, ns, rhos, epss) -> list:
    """One ``WidthSearch`` per (n, ρ, ε) of the lists (in that order), the rest from ``base``."""
    return [replace(base, n=n, rho=rho, eps=eps) for n, rho, eps in itertools.product(ns, rhos, epss)]


LABEL_FIELDS = ["n", "rho", "eps", "width"]     # the cell label of a stored run


def plan_runs(cfgs: list, done: set):
    """The sweep ``Plan`` of every (instance, width, seed) whose run is not in ``done``
    (all instances share ``seeds``)."""
    from .sweep import make_plan
    points = [p for cfg in cfgs for p in cfg.points()]
    return make_plan(points, ["self-distill"], cfgs[0].seeds, done, LABEL_FIELDS)


def run_missing(cfgs: list, store, on_runs: Callable[[int], None] = lambda k: None) -> int:
    """Train (in this process, seeds and instances of one shape batched) every run of ``cfgs``
    that ``store`` does not hold; write each as it ends. Returns the number of runs trained."""
    from .executors import make_executor
    from .batching import batch_tasks
    from .sweep import execute
    plan = plan_runs(cfgs, store.final_ids())
    plan.tasks = batch_tasks(plan.tasks, "auto")
    executor = make_executor("local", 1, len(plan.tasks))
    try:
        execute(plan, executor, store, on_runs)
    finally:
        executor.close()
    return plan.pending_runs


def empirical_width(rows: list) -> "int | None":
    """The smallest tested width from which every larger tested width succeeds (None if the
    widest fails)."""
    width = None
    for row in reversed(rows):
        if not row["success"]:
            break
        width = row["width"]
    return width


def table(cfg: WidthSearch, runs: dict) -> dict:
    """The instance's rows from stored runs (``run_id -> store row``): per width the final
    ‖f − ỹ‖₂ of each seed (inf for a run that did not finish), success, and the empirical width."""
    from .grid import run_config
    threshold = cfg.fraction * math.sqrt(cfg.n)
    rows = []
    for point in cfg.points():
        errors = []
        for s in range(cfg.seeds):
            r = runs.get(run_config(point, "self-distill", s).run_id)
            ok = r is not None and r["status"] == "finished"
            errors.append(r["summary"]["l2_clean"] if ok else math.inf)
        rows.append({"width": point["width"], "l2_clean": errors, "max_l2_clean": max(errors),
                     "success": all(e <= threshold for e in errors)})
    return {"config": asdict(cfg), "threshold": threshold, "rows": rows,
            "empirical_width": empirical_width(rows)}


def theorem(cfg: WidthSearch) -> dict:
    """Theorem 1's width on the instance's seed-0 data: at the schedule's T₂ (``theorem``,
    ``theorem_width``, its binding term) and per reading at the earliest admissible T₂
    (``readings``)."""
    from theorem_lab.proofs_check.requirements import reading_requirements, theorem_requirements
    data = tl.make_clusterable(n=cfg.n, K=cfg.K, d=cfg.d, eps=cfg.eps, rho=cfg.rho, seed=0,
                               n_test=0)
    theory = theorem_requirements(data, cfg.activation, cfg.k_max, cfg.schedule, cfg.steps)
    return {"theorem_width": theory["width_required"],
            "theorem_binding_term": theory["width_binding_term"], "theorem": theory,
            "readings": reading_requirements(data, cfg.activation, cfg.schedule, cfg.steps)}


THEOREM_KEYS = ("theorem_width", "theorem_binding_term", "theorem", "readings", "code")


def search_all(cfgs: list, out, on_runs: Callable[[int], None] = lambda k: None) -> list:
    """Search every instance into the store at ``out`` (resuming it) and write
    ``out/width_search.json``; return the instances' results (``table`` + ``theorem``)."""
    from .store import ResultStore
    from .sweep import requirements_digest
    cfgs = [c.validated() for c in cfgs]
    out = Path(out)
    known = {json.dumps(r["config"], sort_keys=True): r for r in load(out)}
    with ResultStore(out) as store:
        run_missing(cfgs, store, on_runs)
        runs = {r["run_id"]: r for r in store.runs()}
    code = requirements_digest()
    results = []
    for cfg in cfgs:
        key = json.dumps(asdict(cfg), sort_keys=True)
        old = known.pop(key, None)
        theory = ({k: old[k] for k in THEOREM_KEYS} if old and old.get("code") == code
                  else {**theorem(cfg), "code": code})      # reused unless the code changed
        results.append({**table(cfg, runs), **theory})
    save(out, list(known.values()) + results)       # earlier instances first, then these
    return results


def search(cfg: WidthSearch, progress: Optional[Callable[[int], None]] = None, out=None) -> dict:
    """One instance: its result (``search_all`` into ``out``, or into a temporary store)."""
    import tempfile
    on_runs = progress or (lambda k: None)
    if out is not None:
        return search_all([cfg], out, on_runs)[0]
    with tempfile.TemporaryDirectory(prefix="width-search-") as tmp:
        return search_all([cfg], tmp, on_runs)[0]


def load(out) -> list:
    """The instances stored in ``out/width_search.json`` ([] if there is none)."""
    path = Path(out) / RESULT_NAME
    if not path.is_file():
        return []
    return list(json.loads(path.read_text())["instances"])


def save(out, results: list) -> Path:
    from theorem_lab.output import strict_json
    path = Path(out) / RESULT_NAME
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(strict_json({"format": RESULT_FORMAT, "instances": results}, indent=1,
                               ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path
