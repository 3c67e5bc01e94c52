"""One figure style for the project: palette, sizes, math labels (STYLE.md, "Figures").

    from theorem_lab.figures import style
    with style.context():
        fig, ax = plt.subplots(figsize=style.size("one"))
        ax.plot(t, e, color=style.method_color("self-distill"), label=style.METHOD_LABELS[...])
        ax.set_ylabel(style.LABELS["l2_clean"])
        style.save(fig, path_stem)            # PNG (200 dpi) + PDF

Palette: Okabe & Ito (2008), distinguishable under the common colour-vision deficiencies.
Sizes: one column 3.4 in, two columns 7.0 in wide (ICLR/NeurIPS-like page), golden-ish heights.
Labels: the paper's symbols in matplotlib mathtext (no LaTeX install needed).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

# Okabe-Ito: black, orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple.
PALETTE = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
SERIES = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7")   # no yellow/black:
# for ordered series (widths, n) on white; pair with LINESTYLES for greyscale
METHOD_COLORS = {"self-distill": "#0072B2", "gd": "#D55E00", "early-stop": "#009E73"}
METHOD_LABELS = {"self-distill": "self-distillation (Alg. 1)", "gd": r"GD on $y$ ($\alpha_t\equiv 1$)",
                 "early-stop": "GD, early-stopped (LSO19)"}
LINESTYLES = ("-", "--", ":", "-.")

ONE_COLUMN = 3.4   # inches
TWO_COLUMN = 7.0
ASPECT = 0.68      # height / width of one panel

LABELS = {
    "step": r"step $t$",
    "alpha": r"$\alpha_t$",
    "loss": r"$\frac{1}{2}\|f(W_t,X)-\hat y_t\|_2^2$",
    "l2_clean": r"$\|f(W_t,X)-\tilde y\|_2$",
    "l2_noisy": r"$\|f(W_t,X)-y\|_2$",
    "l2_target": r"$\|f(W_t,X)-\hat y_t\|_2$",
    "l2_target_proj": r"$\|P_{S_+}(f(W_t,X)-\hat y_t)\|_2$",
    "acc_clean": r"train accuracy vs $\tilde y$",
    "acc_noisy": r"train accuracy vs $y$",
    "margin": r"$\min_i \tilde y_i f(W_t,x_i)$",
    "dist_init": r"$\|W_t-W_0\|_F$",
    "path_length": r"$\sum_{s<t}\|W_{s+1}-W_s\|_F$",
    "test_l2": r"$\|f(W_t,X_{\rm test})-y_{\rm test}\|_2$",
    "test_acc": "test accuracy",
    "width": r"width $k$", "rho": r"noise $\rho$", "eps": r"radius $\varepsilon$",
    "n": r"$n$", "clusters": r"$K$", "dim": r"$d$",
}

RC = {
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.3,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.25, "grid.linewidth": 0.5, "legend.frameon": False,
    "savefig.bbox": "tight", "savefig.pad_inches": 0.02, "pdf.fonttype": 42,
    "mathtext.fontset": "cm", "svg.hashsalt": "theorem-lab",   # deterministic SVG ids
}


def size(columns: str = "one", rows: int = 1, cols: int = 1) -> tuple[float, float]:
    """Figure size in inches for a grid of panels, one or two columns wide."""
    width = ONE_COLUMN if columns == "one" else TWO_COLUMN
    return width, width / cols * ASPECT * rows + 0.3


def method_color(method: str) -> str:
    return METHOD_COLORS.get(method, PALETTE[sum(map(ord, method)) % len(PALETTE)])


@contextmanager
def context():
    """matplotlib's rc settings for our figures (Agg backend; no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with plt.rc_context(RC):
        yield plt


def ticks_at(axis, values, most: int = 8, merge: float = 0.04) -> None:
    """Label a log ``axis`` (``ax.xaxis``) at the values run, as plain numbers, when they are at
    most ``most``: over a span of a decade or less the log axis's own labels are minor ones
    (2×10¹, 3×10¹, …) that crowd each other and name none of the values run. Values closer than
    ``merge`` of the values' log span (T₂ = 398 at n = 50 and 399 at n = 100) would print on top
    of each other: they get one tick, at the smallest, labelled with the range ('398–399')."""
    import math

    from matplotlib.ticker import FixedLocator, NullLocator
    values = sorted({float(v) for v in values})
    if not values or len(values) > most:
        return
    span = math.log10(values[-1] / values[0]) if values[0] > 0 else 0.0
    groups = [[values[0]]]
    for v in values[1:]:
        if groups[-1][0] > 0 and math.log10(v / groups[-1][0]) < merge * span:
            groups[-1].append(v)
        else:
            groups.append([v])
    axis.set_major_locator(FixedLocator([g[0] for g in groups]))
    axis.set_minor_locator(NullLocator())
    axis.set_ticklabels([f"{g[0]:g}" if len(g) == 1 else f"{g[0]:g}–{g[-1]:g}" for g in groups])


def legend_below(ax, pad_pt: float = 4.0, **kwargs):
    """The axes' legend centred under its x label and tick labels, where it covers no data.
    Call once the layout is final (after ``fig.tight_layout()``): the place is measured from the
    drawn labels; ``savefig.bbox = "tight"`` keeps it in the saved file. Columns (``ncol``) are
    dropped while the legend is wider than its axes: beside another panel's legend, a wider one
    runs into it (long labels, e.g. a sweep's settings)."""
    renderer = ax.figure.canvas.get_renderer()
    below = ax.xaxis.get_tightbbox(renderer)                 # ticks, tick labels, x label (px)
    bottom = min(ax.bbox.y0, below.y0 if below is not None else ax.bbox.y0)
    y = (bottom - ax.bbox.y0 - pad_pt * ax.figure.dpi / 72) / ax.bbox.height   # axes fraction
    ncol = kwargs.pop("ncol", 1)
    while True:
        legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, y), ncol=ncol, **kwargs)
        if ncol == 1 or legend.get_window_extent(renderer).width <= ax.bbox.width:
            return legend
        ncol -= 1


def save(fig, stem, formats=("png", "pdf")) -> list[Path]:
    """Write ``stem.png`` (200 dpi) and ``stem.pdf`` (vector; or the ``formats`` asked for);
    close the figure; return the paths. No dates or versions in the files: the same store
    gives the same bytes."""
    import logging

    import matplotlib.pyplot as plt
    logging.getLogger("fontTools").setLevel(logging.ERROR)   # font-file timestamp chatter
    stem = Path(stem)
    metadata = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None},
                "svg": {"Date": None, "Creator": None}}
    paths = []
    for fmt in formats:
        path = stem.with_name(stem.name + "." + fmt)
        fig.savefig(path, dpi=200, metadata=metadata[fmt])
        paths.append(path)
    plt.close(fig)
    return paths


def save_from_json(build, run_dir, name: str, stem=None) -> list[Path]:
    """Draw ``build(plt, <run_dir>/<name>.json)`` and save it as ``stem`` (default
    ``<run_dir>/<name>``): the figures of commands that write one JSON result."""
    import json
    run_dir = Path(run_dir)
    result = json.loads((run_dir / f"{name}.json").read_text())
    with context() as plt:
        return save(build(plt, result), stem or run_dir / name)
