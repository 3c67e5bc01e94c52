"""A Markdown report of a stored sweep, ready to paste: per cell the setting, the table (mean ± sd
over seeds), the verdict, the vacuity line and the trajectory figure; then the environment.

Reads ``<run>/summary.json`` and ``<run>/results.sqlite`` only (DESIGN.md: figures read stored
results).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from theorem_lab.simulations.store import ResultStore
from theorem_lab.simulations.sweep import fmt
from theorem_lab.simulations.sweep_cli import COLUMNS

POINT_FIELDS = (("n", "n"), ("clusters", "K"), ("dim", "d"), ("eps", "ε"), ("rho", "ρ"),
                ("width", "k"), ("activation", "φ"), ("steps", "steps"), ("lr", "η"),
                ("schedule", "α_t"), ("label_fn", "h"), ("backend", "backend"), ("dtype", "dtype"))


def _table(cell: dict) -> list:
    head = ["method", "runs"] + [h for _, h in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, m in cell["methods"].items():
        vals = [fmt(m["mean"][k], m["std"][k], m["count"][k]) for k, _ in COLUMNS]
        lines.append("| " + " | ".join([method, f"{m['finished']}/{m['runs']}", *vals]) + " |")
    return lines


def markdown(summary: dict, environment: "dict | None", figure: "str | None") -> str:
    """The report text. ``figure``: path of the trajectory PNG relative to the report, if any."""
    from theorem_lab.proofs_check.requirements import requirements_line

    out = ["# theorem-lab sweep report", "",
           f"{summary['runs_total']} run(s) over {len(summary['cells'])} setting(s), "
           f"{summary['seeds']} seed(s) each; mean ± sample sd over seeds. Store: "
           f"`{Path(summary['store']).name}`."]
    for cell in summary["cells"]:
        p = cell["point"]
        setting = ", ".join(f"{sym} = {p[f]}" for f, sym in POINT_FIELDS if f in p)
        out += ["", f"## {cell['label']}", "", setting, ""]
        if cell.get("activation_note") and "OUTSIDE" in cell["activation_note"]:
            out += [f"> {cell['activation_note']}", ""]
        out += _table(cell)
        out += ["", f"**Verdict.** {cell['verdict']}"]
        if "hypotheses" in cell:
            out += ["", f"**Vacuity.** {requirements_line(cell['hypotheses'])} (seed-0 data)."]
    if figure:
        out += ["", f"![residuals along training]({figure})"]
    if environment:
        keys = ("python", "numpy", "torch", "theorem_lab", "platform", "threads")
        out += ["", "## Environment", "",
                ", ".join(f"{k} {environment[k]}" for k in keys if environment.get(k) is not None)]
    return "\n".join(out) + "\n"


def write_report(run_dir, out=None) -> Path:
    """Write ``<run_dir>/report.md`` (or ``out``) and return its path."""
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    with ResultStore(run_dir, readonly=True) as store:
        runs = store.runs()
    environment = runs[0]["environment"] if runs else None
    target = Path(out) if out else run_dir / "report.md"
    png = run_dir / "trajectories.png"
    figure = os.path.relpath(png.resolve(), target.resolve().parent) if png.exists() else None
    target.write_text(markdown(summary, environment, figure))
    return target
