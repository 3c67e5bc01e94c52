"""Lemma slack from a file written by `theorem-lab check` (its ``--save`` JSON, "samples").

One row per statement (grouped by lemma, in the order checked), every sample's ratio lhs/rhs on
a log axis: ratio ≤ 1 holds, the distance below 1 is the statement's slack, above 1 a
violation. Violations of a claim whose hypotheses hold are vermillion crosses (counterexamples);
violations of a hypothesis row (``hyp:``), of a conclusion checked outside its hypotheses
(``[hyp fail]``) or of an informational row are open circles (not counterexamples). Ratios of 0
(lhs = 0) and ∞ (rhs ≤ 0 < lhs) are drawn at the axis ends as ◁ and ▷. The ids of the packaged
findings (``proofs_check/findings/I-n.json``) are written beside the statements they refute.
Rows of statements that raised (``error: …``) are left out.
"""

from __future__ import annotations

import math
from pathlib import Path

from . import style

CHECK_FILE = "violations.json"      # check's default --save name: what a directory is read for
HOLDS = "#0072B2"
COUNTEREXAMPLE = "#D55E00"
NOT_COUNTEREXAMPLE = "#E69F00"
LABEL_CHARS = 46
ROW_IN = 0.108                      # inches per statement row


def statements(samples: dict) -> list:
    """[((lemma, statement), kind, [(ratio, holds)])] in the order checked, errors left out;
    a ratio stored as null (∞ or NaN in the file's strict JSON) reads as ∞."""
    out: dict = {}
    for r in samples["rows"]:
        if r["kind"] == "error":
            continue
        key = (r["lemma"], r["statement"])
        ratio = math.inf if r["ratio"] is None else float(r["ratio"])
        out.setdefault(key, (r["kind"], []))[1].append((ratio, bool(r["holds"])))
    return [(key, kind, values) for key, (kind, values) in out.items()]


def axis_range(rows: list) -> tuple:
    """(lo, hi): decades around the finite positive ratios and 1; 0 and ∞ are clipped to them."""
    finite = [v for _, _, vals in rows for v, _ in vals if 0 < v < math.inf]
    lo = min(finite + [1.0])
    hi = max(finite + [1.0])
    return (10.0 ** (math.floor(math.log10(max(lo, 1e-300))) - 1),
            10.0 ** (math.ceil(math.log10(hi)) + 1))


def _strip(ax, part: list, lo: float, hi: float, findings: dict) -> None:
    import numpy as np
    for y, (key, kind, vals) in enumerate(part):
        counter = kind == "claim"
        groups = {"holds": [], "violated": [], "low": [], "high": []}
        for v, ok in vals:
            if v <= lo:
                groups["low"].append(lo)
            elif v >= hi:
                groups["high"].append(hi)
            groups["holds" if ok else "violated"].append(min(max(v, lo), hi))
        if groups["holds"]:
            ax.scatter(groups["holds"], np.full(len(groups["holds"]), y), s=7, marker="o",
                       color=HOLDS, alpha=0.45, lw=0, zorder=2)
        if groups["violated"]:
            xs, ys = groups["violated"], np.full(len(groups["violated"]), y)
            if counter:
                ax.scatter(xs, ys, s=16, marker="x", color=COUNTEREXAMPLE, lw=0.9, zorder=4)
            else:
                ax.scatter(xs, ys, s=14, marker="o", facecolors="none",
                           edgecolors=NOT_COUNTEREXAMPLE, lw=0.7, zorder=3)
        for side, marker in (("low", "<"), ("high", ">")):
            if groups[side]:
                ax.scatter(groups[side][:1], [y], s=12, marker=marker, color="0.35", zorder=5)
        ids = findings.get(key)
        if ids:
            # 6 points right of the axis end, clear of the ▶ a ratio of ∞ is drawn with there
            ax.annotate(", ".join(ids), (1.0, y), xycoords=ax.get_yaxis_transform(),
                        xytext=(6, 0), textcoords="offset points", va="center", ha="left",
                        fontsize=5.5, color=COUNTEREXAMPLE, fontweight="bold")
    labels = [f"{lemma}: {name}" for (lemma, name), _, _ in part]
    ax.set_yticks(range(len(part)),
                  [t if len(t) <= LABEL_CHARS else t[:LABEL_CHARS - 1] + "…" for t in labels],
                  fontsize=5)
    for tick, (key, _, _) in zip(ax.get_yticklabels(), part):
        if key in findings:
            tick.set_color(COUNTEREXAMPLE)
    ax.set_ylim(len(part) - 0.5, -0.5)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.axvline(1.0, color="black", ls="--", lw=0.8, zorder=1, label="ratio = 1 (lhs = rhs)")
    ax.set_xlabel("lhs / rhs  (≤ 1: holds)")
    ax.tick_params(axis="y", length=0, pad=1)
    ax.grid(axis="y", alpha=0.0)


def build(plt, samples: dict, findings: "dict | None" = None):
    """The figure (inside ``style.context()``), or None when no statement was sampled.
    ``findings``: {(lemma, statement): [ids]} (default: the packaged findings)."""
    from matplotlib.lines import Line2D

    if findings is None:
        from theorem_lab.proofs_check.check import refuting_findings
        findings = refuting_findings()
    rows = statements(samples)
    if not rows:
        return None
    lo, hi = axis_range(rows)
    cols = 2 if len(rows) > 24 else 1
    per = math.ceil(len(rows) / cols)
    legend_in = 0.15 * math.ceil(5 / (cols + 1)) + 0.05        # inches: legend rows, title, axis
    title_in, axis_in = 0.35, 0.5
    height = max(per * ROW_IN, 1.0) + legend_in + title_in + axis_in
    fig, axes = plt.subplots(1, cols, squeeze=False,
                             figsize=(style.TWO_COLUMN if cols == 2 else style.ONE_COLUMN + 1.2,
                                      height))
    for i, ax in enumerate(axes[0]):
        _strip(ax, rows[i * per:(i + 1) * per], lo, hi, findings)
    handles = [Line2D([], [], ls="none", marker="o", color=HOLDS, alpha=0.6, ms=3, label="holds"),
               Line2D([], [], ls="none", marker="x", color=COUNTEREXAMPLE, ms=4,
                      label="violated: a counterexample"),
               Line2D([], [], ls="none", marker="o", mfc="none", mec=NOT_COUNTEREXAMPLE, ms=3.5,
                      label="violated, not a counterexample (hyp:, [hyp fail], info)"),
               Line2D([], [], color="black", ls="--", lw=0.8, label="ratio = 1"),
               Line2D([], [], ls="none", marker=">", color="0.35", ms=3,
                      label="ratio 0 or ∞, at the axis end")]
    meta = ", ".join(f"{k} {samples[k]}" for k in ("samples", "seed") if k in samples)
    fig.legend(handles=handles, loc="lower center", ncol=cols + 1, fontsize=5.5, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"Slack of every checked statement: lhs/rhs per sample\n({meta} per lemma; "
                 "I-n: the finding in FINDINGS.md that refutes it)", fontsize=7, y=0.995)
    fig.tight_layout(rect=(0, legend_in / height, 1, 1))         # it leaves room for the title
    return fig


def source(path) -> Path:
    """The check file a FILE_OR_DIR names: the file itself, or DIR/violations.json."""
    path = Path(path)
    return path / CHECK_FILE if path.is_dir() else path


def slack_figure(path, stem=None) -> list:
    """Draw ``slack.png/.pdf`` beside the check file (``path``: the file or its directory), or
    ``NAME_slack.png/.pdf`` beside ``NAME.json`` when it is not ``violations.json`` (two checks
    saved into one folder keep their own figures); [] when the file holds no samples (a packaged
    finding, a file from before samples)."""
    from theorem_lab.proofs_check.check import load_samples
    file = source(path)
    samples = load_samples(file)
    if not samples:
        return []
    with style.context() as plt:
        fig = build(plt, samples)
        own = "slack" if file.name == CHECK_FILE else f"{file.stem}_slack"
        return [] if fig is None else style.save(fig, stem or file.parent / own)
