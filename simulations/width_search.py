"""Width search: the smallest width at which self-distillation reaches the clean labels, against
the width Theorem 1 asks for (the vacuity question of DESIGN.md, in one number).

For widths k = k_min, 2k_min, …, k_max (powers of two times k_min) and several seeds, train
Algorithm 1 and call a run a success when ‖f − ỹ‖₂ ≤ ``fraction``·√n at the horizon (the sweep's
criterion). The reported empirical width is the smallest k from which every tested width succeeds
on every seed; the theorem's width is ``theorem_lab.proofs_check.requirements.theorem_requirements`` on the
same data.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Optional

import theorem_lab as tl
from theorem_lab.data import check_rho_realisable
from theorem_lab.errors import check_choice, check_fits, check_int, check_real, fail
from theorem_lab.network import init_seed
from theorem_lab.train import train_many

from .sweep import CONVERGED_FRACTION

_OWNER = "width-search"


@dataclass(frozen=True)
class WidthSearch:
    """Data, schedule and grid of a width search (defaults: the sweep's headline instance)."""

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
            raise fail(nm["schedule"], _OWNER, f"a valid α_t spec ({exc})", self.schedule) from None
        return self

    def widths(self) -> list:
        return [self.k_min * 2 ** i for i in range(int(math.log2(self.k_max / self.k_min)) + 1)]


def search(cfg: WidthSearch, progress: Optional[Callable[[int, int], None]] = None) -> dict:
    """Train every (width, seed); return the table, the empirical width and the theorem's."""
    from theorem_lab.proofs_check.requirements import theorem_requirements

    cfg = cfg.validated()
    datasets = [tl.make_clusterable(n=cfg.n, K=cfg.K, d=cfg.d, eps=cfg.eps, rho=cfg.rho, seed=s,
                                    n_test=0) for s in range(cfg.seeds)]
    threshold = cfg.fraction * math.sqrt(cfg.n)
    rows = []
    for k in cfg.widths():
        nets = [tl.TwoLayerNet.init(d=cfg.d, k=k, activation=cfg.activation, seed=init_seed(s))
                for s in range(cfg.seeds)]
        trajs = train_many(datasets, nets, steps=cfg.steps, schedule=cfg.schedule,
                           log_every=cfg.steps)          # the seeds of one width: one batch
        errors = [t.final["l2_clean"] if t.status == "finished" else math.inf for t in trajs]
        for s in range(cfg.seeds) if progress is not None else ():
            progress(k, s)
        rows.append({"width": k, "l2_clean": errors, "max_l2_clean": max(errors),
                     "success": all(e <= threshold for e in errors)})
    empirical = None
    for row in reversed(rows):            # smallest k from which every larger tested k succeeds
        if not row["success"]:
            break
        empirical = row["width"]
    theory = theorem_requirements(datasets[0], cfg.activation, cfg.k_max, cfg.schedule, cfg.steps)
    return {"config": asdict(cfg), "threshold": threshold, "rows": rows,
            "empirical_width": empirical, "theorem_width": theory["width_required"],
            "theorem_binding_term": theory["width_binding_term"], "theorem": theory}
