"""Table 1 of the paper as data: the grid of runs, the paper's printed numbers, and our table.

The grid is data sets × methods × noise rates p × seeds; each cell is one ``TrainConfig``
(the training run of ``cifar train``, same run_id), so a finished cell is never recomputed and
``cifar train`` with the same settings finds it. Seed s fixes the model's initialisation, the data
order, the augmentation stream *and* the label noise (``noise_seed = s``): the paper's "average
of 3 runs" then spreads over noise draws too, while all methods of one seed see the same noisy
labels. Self-distillation takes the paper's λ for its data set and noise rate (§3.4) unless
``--lam`` gives a number.

``--data synthetic`` replaces each of the paper's data sets by synthetic images of its shape:
CIFAR-10 by 3x32x32, Fashion-MNIST by 1x28x28 (10 classes each); the table says so.

The table (``build_table``) is in percent, as the paper's: per data set, per method and noise
rate, mean ± sample sd over the finished seeds of the last-epoch test accuracy (the paper's "final
test accuracy") and of the test accuracy at the epoch of best noisy-validation accuracy; the
paper's printed number (``paper_table1.json``, "Table 1 of the paper") and the difference ours −
paper. A cell with no finished run says "not run"; the paper's '-' is "not reported".
Built from store rows alone, so the figures and the report rebuild it from the store
(``infer_grid``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache

OWNER = "cifar table1"
PAPER_DATASETS = ("cifar10", "fashion-mnist")
DATASET_LABELS = {"cifar10": "CIFAR-10", "fashion-mnist": "Fashion-MNIST"}
SYNTHETIC_SHAPES = {"cifar10": "3x32x32", "fashion-mnist": "1x28x28"}
METHODS = ("self-distill", "ce", "gce", "bootstrap")     # the table's row order
QUANTITIES = (("test_acc_last", "last epoch"), ("test_acc_at_best_val", "at best noisy-val epoch"))
# fields that differ between the cells of one table (everything else is the table's setting)
CELL_FIELDS = ("dataset", "synthetic_shape", "method", "noise_rate", "seed", "noise_seed", "lam")

# What each profile's grid defaults to (options override): the paper's grid on paper and fast,
# a CPU-sized one on smoke (two rates: the clean one and Figure 4's 0.4; one seed; synthetic).
GRID_DEFAULTS = {
    "paper": {"rates": "0,0.2,0.4,0.6,0.8", "seeds": "3", "data": "real"},
    "fast": {"rates": "0,0.2,0.4,0.6,0.8", "seeds": "3", "data": "real"},
    "smoke": {"rates": "0,0.4", "seeds": "1", "data": "synthetic"},
}


@lru_cache(maxsize=1)
def paper() -> dict:
    """``paper_table1.json`` (package data): the paper's Table 1 and its λ, with their source."""
    from importlib.resources import files
    return json.loads((files("theorem_lab.simulations.cifar") / "paper_table1.json")
                      .read_text(encoding="utf-8"))


def _rate_index(rate: float) -> "int | None":
    rates = paper()["noise_rates"]
    return next((i for i, r in enumerate(rates) if math.isclose(r, rate, abs_tol=1e-9)), None)


def paper_lam(dataset: str, rate: float) -> "float | None":
    """The paper's λ for ``dataset`` at noise rate p (§3.4); None at a rate it did not use."""
    i = _rate_index(rate)
    return None if i is None else paper()["lambda"][dataset][i]


def paper_entry(method: str, dataset: str, rate: float) -> tuple:
    """(printed value in percent or None, why none): why is 'not in the paper' (a method the
    paper did not run), 'rate not in the paper' or 'not reported' (a '-' in the table)."""
    key = next((k for k, m in paper()["methods"].items() if m["ours"] == method), None)
    if key is None:
        return None, "not in the paper"
    i = _rate_index(rate)
    if i is None:
        return None, "rate not in the paper"
    value = paper()["methods"][key][dataset][i]
    return value, (None if value is not None else "not reported")


def paper_only_rows(dataset: str, rates: list) -> list:
    """The paper's rows for methods we do not run (Co-teaching, D2L, WAT): (label, values)."""
    out = []
    for m in paper()["methods"].values():
        if m["ours"] is None:
            idx = [_rate_index(r) for r in rates]
            out.append((m["label"], [None if i is None else m[dataset][i] for i in idx]))
    return out


@dataclass(frozen=True, order=True)
class Cell:
    dataset: str     # the paper's data set (the table's column group)
    method: str
    rate: float      # noise rate p
    seed: int


def cell_options(cell: Cell, data: str, lam: "float | None") -> dict:
    """The ``TrainConfig`` options that a cell sets on top of the grid's base options."""
    opts = {"method": cell.method, "noise_type": "symmetric", "noise_rate": cell.rate,
            "seed": cell.seed, "noise_seed": cell.seed}
    if data == "synthetic":
        opts.update(dataset="synthetic", synthetic_shape=SYNTHETIC_SHAPES[cell.dataset])
    else:
        opts["dataset"] = cell.dataset
    if cell.method == "self-distill":
        opts["lam"] = lam if lam is not None else paper_lam(cell.dataset, cell.rate)
    return opts


def paper_dataset(config: dict) -> "str | None":
    """The paper data set a stored run stands for (a synthetic run: by its image shape)."""
    if config.get("dataset") in PAPER_DATASETS:
        return config["dataset"]
    if config.get("dataset") == "synthetic":
        return next((d for d, s in SYNTHETIC_SHAPES.items() if s == config.get("synthetic_shape")), None)
    return None


def cell_of(config: dict) -> "Cell | None":
    ds = paper_dataset(config)
    if ds is None or config.get("noise_type") != "symmetric":
        return None
    return Cell(ds, config["method"], float(config["noise_rate"]), int(config["seed"]))


def setting_of(config: dict) -> str:
    """What the cells of one table share: the config less ``CELL_FIELDS``, and whether its data
    are real or synthetic (canonical JSON)."""
    shared = {k: v for k, v in sorted(config.items()) if k not in CELL_FIELDS}
    return json.dumps({**shared, "synthetic": config.get("dataset") == "synthetic"}, sort_keys=True)


def is_cifar_store(runs: list) -> bool:
    return any("noise_rate" in (r["config"] or {}) for r in runs)


def infer_grid(runs: list) -> tuple:
    """(grid, {Cell: run row}) of the table that a store holds, from its rows alone: the setting
    shared by most runs (others are left out, and counted in ``grid['other_runs']``)."""
    by_setting: dict = {}
    for r in runs:
        cell = cell_of(r["config"] or {})
        if cell is not None:
            by_setting.setdefault(setting_of(r["config"]), {})[cell] = r
    if not by_setting:
        return None, {}
    setting, cells = max(by_setting.items(), key=lambda kv: len(kv[1]))
    other = sum(len(c) for s, c in by_setting.items() if s != setting)
    methods = sorted({c.method for c in cells},
                     key=lambda m: (METHODS.index(m) if m in METHODS else len(METHODS), m))
    grid = {"datasets": [d for d in PAPER_DATASETS if any(c.dataset == d for c in cells)],
            "methods": methods, "rates": sorted({c.rate for c in cells}),
            "seeds": sorted({c.seed for c in cells}), "other_runs": other}
    return grid, cells


def _mean_sd(values: list) -> dict:
    xs = [100.0 * v for v in values if v is not None and math.isfinite(v)]
    if not xs:
        return {"mean": None, "sd": None, "n": 0}
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return {"mean": m, "sd": sd, "n": len(xs)}


def build_table(grid: dict, runs: dict) -> dict:
    """The table (JSON-able) of ``grid`` ({'datasets', 'methods', 'rates', 'seeds'}) from
    ``runs`` ({Cell: store row}; a cell without a row, or without a finished one, is not run)."""
    first = next((r for r in runs.values() if r and r["status"] == "finished"), None)
    out = {"source": paper()["source"], "paper_metric": paper()["metric"],
           "rates": list(grid["rates"]), "seeds": list(grid["seeds"]), "datasets": [],
           "settings": settings(first, grid), "other_runs": grid.get("other_runs", 0)}
    for ds in grid["datasets"]:
        rows = []
        for method in grid["methods"]:
            cells = []
            for rate in grid["rates"]:
                got = [runs.get(Cell(ds, method, rate, s)) for s in grid["seeds"]]
                done = [r for r in got if r is not None and r["status"] == "finished"]
                value, why = paper_entry(method, ds, rate)
                entry = {"rate": rate, "finished": len(done), "seeds": len(grid["seeds"]),
                         "status": "not run" if not done else
                         ("ok" if len(done) == len(got) else "partial"),
                         "run_ids": [r["run_id"] for r in got if r is not None],
                         "paper": value, "paper_note": why}
                for key, _ in QUANTITIES:
                    entry[key] = _mean_sd([r["summary"].get(key) for r in done])
                    mean = entry[key]["mean"]
                    entry["diff_" + key] = (mean - value if mean is not None and value is not None
                                            else None)
                cells.append(entry)
            rows.append({"method": method, "cells": cells})
        mine = next((r for c, r in runs.items() if c.dataset == ds and r is not None), first)
        data = (f"synthetic {SYNTHETIC_SHAPES[ds]} stand-in" if mine and
                mine["config"]["dataset"] == "synthetic" else "real")
        out["datasets"].append({"name": ds, "label": DATASET_LABELS[ds], "data": data,
                                "rows": rows, "paper_only": paper_only_rows(ds, grid["rates"])})
    out["settings"].append(("λ", lam_line(runs), "CIFAR-10 1, 1, 1, 1.5, 1.5; Fashion-MNIST 0.6, "
                            "1, 1, 1.4, 1.6 at p = 0, 0.2, 0.4, 0.6, 0.8"))
    return out


def lam_line(runs: dict) -> str:
    """The λ that the stored self-distillation runs used, per data set and rate."""
    lams: dict = {}
    for cell, r in sorted(runs.items()):
        if r is not None and cell.method == "self-distill":
            lams.setdefault(cell.dataset, {})[cell.rate] = r["config"]["lam"]
    if not lams:
        return "no self-distillation run"
    return "; ".join(f"{DATASET_LABELS[d]} " + ", ".join(f"{v:g}" for v in by.values())
                     + " at p = " + ", ".join(f"{p:g}" for p in by) for d, by in lams.items())


def settings(run: "dict | None", grid: dict) -> list:
    """[(setting, ours, what the paper says)] printed under the table: every setting the paper
    leaves open, and the profile that made the numbers."""
    if run is None:
        return [("runs", "none finished yet", "")]
    c = run["config"]
    profile = (run.get("info") or {}).get("profile", "unknown")
    real = c["dataset"] != "synthetic"
    verdict = ("the paper's settings" if profile == "paper" and real
               else "NOT a reproduction of the paper's (that is --profile paper on the real data)")
    model = c["model"] + (f" (width {c['width']})" if c["model"] == "fast" else "")
    data = ("the real training and test sets" if real else
            f"synthetic images of each data set's shape ({c['synthetic_train']} train, "
            f"{c['synthetic_test']} test, class signal {c.get('synthetic_signal', 48.0):g} "
            "grey levels against pixel noise of sd 32)")
    return [
        ("profile", f"{profile}: {verdict}", ""),
        ("data", data + (f", a stratified subset of {c['train_subset']}" if c["train_subset"] else ""),
         "CIFAR-10 and Fashion-MNIST, full training sets"),
        ("noise", f"symmetric, convention {c['noise_convention']}, noise seed = training seed",
         "'assigned a symmetric noisy label with probability p': whether the true class can "
         "be redrawn (uniform-all) or not (uniform-other) is not said"),
        ("validation", f"a noisy split of {c['val_fraction']:g} of the training set, used only "
         "for the best-noisy-val column", "none (the final test accuracy is reported)"),
        ("model", model, "shake-shake 26 2x32d"),
        ("schedule", f"{c['epochs']} epochs, batch {c['batch_size']}, SGD momentum "
         f"{c['momentum']:g}, weight decay {c['weight_decay']:g}, cosine lr {c['lr']:g} → 0"
         + (f" after {c['warmup_epochs']:g} warm-up epoch(s)" if c["warmup_epochs"] else ""),
         "600 epochs, batch 128, momentum 0.9, weight decay 1e-4, cosine 0.2 → 0"),
        ("augmentation", "pad-4 random crop + flip" if c["augment"] else "none",
         "mean subtraction, flip, pad-4 32x32 crop (on Fashion-MNIST's 28x28 not said)"),
        ("self-distill", f"h = {c['h']}, loss {c['loss']}, 1 − α_t = λ·(batch accuracy), "
         f"α_t clipped to [0, 1]: {'on' if c['alpha_clip'] else 'off'}",
         "λ as printed; with λ > 1 the rule makes α_t < 0, clipping not said; h not said"),
        ("baselines", f"gce q = {c['q']:g}; bootstrap {c['bootstrap']} β = {c['beta']:g}",
         "GCE's numbers quoted from its paper; ce and bootstrap are not in Table 1"),
        ("seeds", f"{len(grid['seeds'])} ({', '.join(map(str, grid['seeds']))}); mean ± sample sd",
         "3 runs, mean only"),
        ("device", c["device"], "not said"),
    ]


def fmt_cell(stat: dict) -> str:
    if stat["mean"] is None:
        return "not run"
    return f"{stat['mean']:.2f} ± {stat['sd']:.2f}" if stat["n"] > 1 else f"{stat['mean']:.2f}"


def _fmt_paper(value, why) -> str:
    return f"{value:.2f}" if value is not None else why


def table_rows(ds: dict) -> tuple:
    """(header, rows) of one data set's block: per method its last-epoch, best-val, paper and
    difference lines (columns: the noise rates); then the paper-only methods."""
    rates = [c["rate"] for c in ds["rows"][0]["cells"]] if ds["rows"] else []
    head = ["method", "quantity"] + [f"p = {r:g}" for r in rates]
    rows = []
    for row in ds["rows"]:
        cells = row["cells"]
        for i, (key, label) in enumerate(QUANTITIES):
            rows.append([row["method"] if i == 0 else "", label]
                        + [fmt_cell(c[key]) + ("" if c["status"] != "partial" else
                           f" ({c['finished']}/{c['seeds']} seeds)") for c in cells])
        rows.append(["", "paper"] + [_fmt_paper(c["paper"], c["paper_note"]) for c in cells])
        rows.append(["", "Δ last − paper"] + [
            (f"{c['diff_test_acc_last']:+.2f}" if c["diff_test_acc_last"] is not None else "–")
            for c in cells])
    for label, values in ds["paper_only"]:
        rows.append([label, "paper"] + [_fmt_paper(v, "not reported") for v in values])
    return head, rows


def render(table: dict) -> str:
    """The table as text: one block per data set, then the settings."""
    lines = []
    for ds in table["datasets"]:
        lines.append(f"== {ds['label']} ({ds['data']}): test accuracy %, mean ± sd over seeds")
        head, rows = table_rows(ds)
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        for r in [head] + rows:
            lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        lines.append("")
    lines.append(f"paper: {table['source']}; {table['paper_metric']}")
    lines += [f"{name}: {ours}" + (f"  [paper: {theirs}]" if theirs else "")
              for name, ours, theirs in table["settings"]]
    if table["other_runs"]:
        lines.append(f"({table['other_runs']} other run(s) in the store have other settings and "
                     "are not in this table)")
    return "\n".join(lines) + "\n"


def to_markdown(table: dict) -> str:
    out = []
    for ds in table["datasets"]:
        head, rows = table_rows(ds)
        out += [f"### {ds['label']} ({ds['data']})", "", "| " + " | ".join(head) + " |",
                "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows] + [""]
    out += [f"Paper: {table['source']}; {table['paper_metric']}.", ""]
    out += [f"- **{name}**: {ours}" + (f" (paper: {theirs})" if theirs else "")
            for name, ours, theirs in table["settings"]]
    return "\n".join(out) + "\n"


def to_csv_rows(table: dict) -> list:
    """Long format: one row per (data set, method, rate, quantity)."""
    rows = [["dataset", "data", "method", "noise_rate", "quantity", "mean_pct", "sd_pct",
             "seeds_finished", "status", "paper_pct", "paper_note", "diff_pct"]]
    for ds in table["datasets"]:
        for row in ds["rows"]:
            for c in row["cells"]:
                for key, _ in QUANTITIES:
                    s = c[key]
                    rows.append([ds["name"], ds["data"], row["method"], c["rate"], key,
                                 s["mean"], s["sd"], s["n"], c["status"], c["paper"],
                                 c["paper_note"] or "", c["diff_" + key]])
    return rows
