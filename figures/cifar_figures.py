"""Figures of the image experiments, drawn from a cifar store only (never rerun).

    table1   test accuracy against the noise rate p per method, one panel per data set: ours as
             mean ± sd over seeds (error bars) of the last-epoch test accuracy (the paper's
             "final test accuracy"), the paper's printed Table 1 numbers as hollow markers
    epochs   Figure 4 of the paper: test accuracy and accuracy on the noisy training labels
             against the epoch, CE vs self-distillation, for one stored pair of runs that differ
             only in the method (by default CIFAR-10, or its synthetic stand-in, at p = 0.4,
             seed 0; else the nearest rate)

On the noisy labels a network that only fits the clean share reaches 1 − p̂ (p̂ the realised
corruption rate, a dotted line); above it, it is memorising wrong labels.
"""

from __future__ import annotations

from pathlib import Path

from theorem_lab.simulations.cifar import table1 as T
from theorem_lab.simulations.store import ResultStore

from . import style

PAPER_MARKERS = ("s", "^", "D", "v", "P")       # the paper-only methods (Co-teaching, D2L, WAT)
# the image methods' colours (Okabe-Ito, self-distillation as in every figure) and legend labels
COLORS = {"self-distill": style.method_color("self-distill"), "ce": "#D55E00", "gce": "#009E73",
          "bootstrap": "#CC79A7"}
LABELS = {"self-distill": style.METHOD_LABELS["self-distill"], "ce": "cross entropy (CE)",
          "gce": "GCE", "bootstrap": "bootstrap"}
FIGURE4_RATE = 0.4


def _runs(run_dir, run_ids=None) -> list:
    """The store's runs; only those of ``run_ids`` where given."""
    with ResultStore(Path(run_dir), readonly=True) as store:
        return store.runs(set(run_ids)) if run_ids is not None else store.runs()


def last_grid(run_dir) -> "set | None":
    """The run ids of the grid that the last ``cifar table1`` into ``run_dir`` asked for (its
    ``table1.json``), so that ``figures`` and ``report`` show that grid and not another one the
    store also holds; None without a readable table1.json (then: the grid of most runs)."""
    import json
    try:
        table = json.loads((Path(run_dir) / "table1.json").read_text(encoding="utf-8"))
        return {i for ds in table["datasets"] for row in ds["rows"] for cell in row["cells"]
                for i in cell["run_ids"]} or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_cifar(run_dir) -> bool:
    """Whether the store in ``run_dir`` holds image runs (``cifar train`` / ``cifar table1``)."""
    return T.is_cifar_store(_runs(run_dir))


def load_table(run_dir, run_ids=None) -> "dict | None":
    """The Table 1 of the store (``table1.infer_grid``; of the runs ``run_ids`` only, where
    given), None when it holds no table cell."""
    grid, cells = T.infer_grid(_runs(run_dir, run_ids))
    return None if grid is None else T.build_table(grid, cells)


def load_pair(run_dir, dataset: str = "cifar10", rate: float = FIGURE4_RATE,
              run_ids=None) -> "dict | None":
    """The CE / self-distillation pair for Figure 4 with its trajectories, or None.

    Pairs share every setting but the method (and λ); preferred: ``dataset``, then the rate
    nearest ``rate``, then the lowest seed; finished runs before unfinished ones. Only among
    the runs ``run_ids``, where given."""
    pairs: dict = {}
    for r in _runs(run_dir, run_ids):
        cell = T.cell_of(r["config"] or {})
        if cell is None or cell.method not in ("ce", "self-distill"):
            continue
        key = (T.setting_of(r["config"]), cell.dataset, cell.rate, cell.seed)
        pairs.setdefault(key, {})[cell.method] = r
    full = [(k, v) for k, v in pairs.items() if len(v) == 2]
    if not full:
        return None

    def score(item):
        (_, ds, p, seed), runs = item
        unfinished = sum(r["status"] != "finished" for r in runs.values())
        return (ds != dataset, abs(p - rate), unfinished, seed)
    (_, ds, p, seed), runs = min(full, key=score)
    with ResultStore(Path(run_dir), readonly=True) as store:
        trajs = {m: store.trajectory(r["run_id"]) for m, r in runs.items()}
    data = runs["ce"]["config"]["dataset"]
    return {"dataset": ds, "rate": p, "seed": seed, "runs": runs, "trajectories": trajs,
            "label": T.DATASET_LABELS[ds] + ("" if data != "synthetic" else
                                             f" (synthetic {T.SYNTHETIC_SHAPES[ds]})"),
            "profile": (runs["ce"].get("info") or {}).get("profile", "unknown")}


def table1_build(plt, table: dict):
    """Accuracy vs noise rate, one panel per data set (call inside ``style.context()``)."""
    n = len(table["datasets"])
    fig, axes = plt.subplots(1, n, figsize=style.size("two" if n > 1 else "one", 1, n),
                             squeeze=False)
    for ax, ds in zip(axes[0], table["datasets"]):
        for row in ds["rows"]:
            m = row["method"]
            color, label = COLORS.get(m, style.method_color(m)), LABELS.get(m, m)
            ours = [(c["rate"], c["test_acc_last"]) for c in row["cells"]
                    if c["test_acc_last"]["mean"] is not None]
            if ours:
                ax.errorbar([p for p, _ in ours], [s["mean"] for _, s in ours],
                            yerr=[s["sd"] for _, s in ours], color=color, marker="o", ms=3,
                            capsize=2, label=label)
            printed = [(c["rate"], c["paper"]) for c in row["cells"] if c["paper"] is not None]
            if printed:
                ax.plot([p for p, _ in printed], [v for _, v in printed], ls="none", marker="o",
                        ms=6, mfc="none", mec=color, mew=1.0,
                        label=f"paper: {label}")
        rates = table["rates"]
        for (label, values), marker in zip(ds["paper_only"], PAPER_MARKERS):
            pts = [(p, v) for p, v in zip(rates, values) if v is not None]
            if pts:
                ax.plot([p for p, _ in pts], [v for _, v in pts], ls="none", marker=marker, ms=5,
                        mfc="none", mec="#555555", mew=0.8, label=f"paper: {label.split(' (')[0]}")
        ax.set_title(f"{ds['label']} ({ds['data']})")
        ax.set_xlabel(r"noise rate $p$")
        ax.set_xticks(rates, [f"{p:g}" for p in rates])
    axes[0][0].set_ylabel("test accuracy, last epoch (%)")
    handles, labels = {}, []
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in handles:
                handles[lab] = h
                labels.append(lab)
    profile = next((s[1] for s in table["settings"] if s[0] == "profile"), "")
    sep = "\n" if n == 1 else "; "               # one column is too narrow for one line
    fig.suptitle(f"Table 1 — ours: filled, mean ± sd over {len(table['seeds'])} seed(s){sep}"
                 f"paper: hollow; profile {profile.split(':')[0]}", fontsize=7.5)
    fig.tight_layout()             # room for the suptitle and x labels; the legend under them
    fig.legend([handles[lab] for lab in labels], labels, loc="upper center", ncol=3,
               bbox_to_anchor=(0.5, 0.0), fontsize=6.5)
    return fig


def epochs_build(plt, pair: dict):
    """Figure 4: test accuracy and accuracy on the noisy training labels vs epoch."""
    fig, (a, b) = plt.subplots(1, 2, figsize=style.size("two", 1, 2))
    realised = None
    for m in ("ce", "self-distill"):
        traj, color, label = pair["trajectories"][m], COLORS[m], LABELS[m]
        epochs = traj["step"]
        a.plot(epochs, [100 * v for v in traj["test_acc"]], color=color, label=label)
        b.plot(epochs, [100 * v for v in traj["train_acc_noisy"]], color=color, label=label)
        realised = realised or (pair["runs"][m]["summary"] or {}).get("noise_realised_rate")
    if realised is not None:
        b.axhline(100 * (1 - realised), color="#555555", ls=":", lw=1.0,
                  label=rf"clean share $1-\hat p$ = {100 * (1 - realised):.1f}%")
    from matplotlib.ticker import MaxNLocator
    a.set_ylabel("test accuracy (%)")
    b.set_ylabel("accuracy on the noisy\ntraining labels (%)")   # one line is taller than the panel
    for ax in (a, b):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"Figure 4: {pair['label']}, noise rate p = {pair['rate']:g}, seed {pair['seed']}, "
                 f"profile {pair['profile']}", fontsize=7.5)
    fig.tight_layout()
    handles, labels = b.get_legend_handles_labels()   # both methods and the clean share
    fig.legend(handles, labels, loc="upper center", ncol=3,   # under the panels: the curves
               bbox_to_anchor=(0.5, 0.0))                      # can pass anywhere in them
    return fig


def table1_figures(run_dir, formats=("png", "pdf"), run_ids=None) -> list:
    """Draw ``table1`` and (when the store holds a CE / self-distillation pair) ``epochs`` into
    ``run_dir``; return the paths. ``run_ids``: draw those runs only (``cifar table1`` passes the
    cells it was asked for: a store that also holds another grid, larger, would otherwise give
    its figures); None: the grid of the last ``cifar table1`` there (``last_grid``), else the
    grid the store holds most runs of."""
    run_dir = Path(run_dir)
    run_ids = last_grid(run_dir) if run_ids is None else run_ids
    paths = []
    for name, data, build in (("table1", load_table(run_dir, run_ids), table1_build),
                              ("epochs", load_pair(run_dir, run_ids=run_ids), epochs_build)):
        if data is not None:
            with style.context() as plt:
                paths += style.save(build(plt, data), run_dir / name, formats)
    return paths
