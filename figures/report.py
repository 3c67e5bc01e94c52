"""The report of a stored sweep, as Markdown and as one standalone HTML page.

Per cell: the setting, the table (mean ± sd over seeds), the verdict and the vacuity line; then
every figure that applies to the stored runs (trajectories, all its pages; T₁ against the
theorem's when k or ρ varies; the phase diagram when ε and T₂, or ρ and k, vary), the findings on Theorem 1 (from the packaged FINDINGS.md) and the environment.
Both renderings are made from one list of blocks, so they say the same thing. The HTML page
embeds its images (base64), needs no network and reflows on a phone.

Reads ``<run>/summary.json`` and ``<run>/results.sqlite`` only (DESIGN.md: figures read stored
results); missing figures are drawn from the store. A width-search directory or a check file
(``violations.json``) in RUN or a folder directly under it adds the vacuity and slack figures.
A cifar store (``cifar train`` / ``cifar table1``; no summary.json) gets its own report: Table 1
beside the paper's, the settings, the figures ``table1`` and ``epochs`` (Figure 4), the
environment.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from pathlib import Path

from theorem_lab.simulations.store import ResultStore
from theorem_lab.simulations.sweep import COLUMNS, SECONDS_NOTE, fmt

POINT_FIELDS = (("n", "n"), ("clusters", "K"), ("dim", "d"), ("eps", "ε"), ("rho", "ρ"),
                ("width", "k"), ("activation", "φ"), ("steps", "steps"), ("lr", "η"),
                ("schedule", "α_t"), ("label_fn", "h"), ("backend", "backend"), ("dtype", "dtype"))
ENV_KEYS = ("python", "numpy", "torch", "theorem_lab", "platform", "threads")
FIGURES = (("trajectories", "Residuals, accuracies and margins along training"),
           ("phase", "Where self-distillation works"),
           ("t1", "T₁ observed against every reading of the theorem's T₁ (gap factors at the right)"))
# figures of other commands' results, found in RUN or a folder directly under it:
# (figure, the file it is drawn from, caption)
OTHER_FIGURES = (("vacuity", "width_search.json", "The vacuity picture (width-search): the smallest "
                  "width at which Algorithm 1 works vs the width Theorem 1 asks for"),
                 ("slack", "violations.json", "Lemma slack (check): lhs/rhs of every checked "
                  "statement, violations and the findings that refute them"),
                 ("air_figure2", "air.json", "Figure 2 on clusterable data (air): label energy in "
                  "the top-K NTK eigenspace against the label noise"),
                 ("air_figure5", "air.json", "Figure 5 on clusterable data (air): the information "
                  "gain of the self-distillation targets"),
                 ("air_modes", "air.json", "AIR mode by mode (air): label energy per NTK mode and "
                  "the residual per mode along GD and Algorithm 1"))


def findings() -> list:
    """[(id, severity, verdict)] of all 23 issues of the spec, as FINDINGS.md's table states them
    (``proofs_check.verdict.VERDICTS``, which tests/proofs/test_issues.py keeps equal to it)."""
    from theorem_lab.proofs_check.verdict import VERDICTS
    return [(issue, sev, verdict) for issue, (sev, verdict, _) in VERDICTS.items()]


def blocks(summary: dict, environment: "dict | None", figures: "list[tuple]") -> list:
    """The report as ('h1'|'h2'|'p'|'quote'|'table'|'img', ...) blocks.
    ``figures``: [(png path relative to the report, caption)]."""
    from theorem_lab.proofs_check.requirements import requirements_line

    out = [("h1", "theorem-lab sweep report"),
           ("p", f"{summary['runs_total']} run(s) over {len(summary['cells'])} setting(s), "
                 f"{summary['seeds']} seed(s) each; "
                 + ("mean ± sample sd over seeds" if summary["seeds"] > 1 else "one seed: no spread")
                 + ". Store: "
                 f"{Path(summary['store']).name}.")]
    for cell in summary["cells"]:
        p = cell["point"]
        out += [("h2", cell["label"]),
                ("p", ", ".join(f"{sym} = {p[f]}" for f, sym in POINT_FIELDS if f in p))]
        if cell.get("activation_note") and "OUTSIDE" in cell["activation_note"]:
            out.append(("quote", cell["activation_note"]))
        head = ["method", "runs"] + [h for _, h in COLUMNS]
        rows = [[method, f"{m['finished']}/{m['runs']}"]
                + [fmt(m["mean"][k], m["std"][k], m["count"][k]) for k, _ in COLUMNS]
                for method, m in cell["methods"].items()]
        out.append(("table", head, rows))
        out += [("p", f"**{method} did not finish:** {err}")       # as the sweep printed them
                for method, m in cell["methods"].items() for err in m.get("errors", [])]
        out.append(("p", f"**Verdict.** {cell['verdict']}"))
        if "hypotheses" in cell:
            out.append(("p", f"**Vacuity.** {requirements_line(cell['hypotheses'])} (seed-0 data)."))
    if summary["cells"]:
        out.append(("p", SECONDS_NOTE + "."))
    if figures:
        out.append(("h2", "Figures"))
        out += [("img", path, caption) for path, caption in figures]
    found = findings()
    if found:
        out += [("h2", "Findings on Theorem 1"),
                ("p", "From proofs_check/FINDINGS.md (each with a reproducing command there):"),
                ("table", ["id", "severity", "verdict"], [list(f) for f in found])]
    if environment:
        out += [("h2", "Environment"),
                ("p", ", ".join(f"{k} {environment[k]}" for k in ENV_KEYS
                                if environment.get(k) is not None))]
    return out


def to_markdown(blocks_: list) -> str:
    lines = []
    for b in blocks_:
        kind = b[0]
        if kind == "h1":
            lines += [f"# {b[1]}", ""]
        elif kind == "h2":
            lines += [f"## {b[1]}", ""]
        elif kind == "p":
            lines += [b[1], ""]
        elif kind == "quote":
            lines += [f"> {b[1]}", ""]
        elif kind == "table":
            lines += ["| " + " | ".join(b[1]) + " |", "|" + "---|" * len(b[1])]
            lines += ["| " + " | ".join(r) + " |" for r in b[2]] + [""]
        elif kind == "img":
            lines += [f"![{b[2]}]({b[1]})", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


_CSS = """body{font-family:system-ui,-apple-system,sans-serif;max-width:60rem;margin:auto;
padding:0 1rem;line-height:1.45;color:#111}h1{font-size:1.5rem}h2{font-size:1.15rem;
margin-top:2rem;border-bottom:1px solid #ddd}.t{overflow-x:auto}table{border-collapse:collapse;
font-size:.85rem}td,th{border:1px solid #ccc;padding:.2rem .45rem;text-align:right;
white-space:nowrap}td:first-child,th:first-child{text-align:left}img{max-width:100%;height:auto}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#444}blockquote{color:#844;margin-left:0;
padding-left:1rem;border-left:3px solid #c99}"""


def to_html(blocks_: list, base: Path) -> str:
    """One standalone page; images are read from ``base`` / path and embedded."""
    def inline(text: str) -> str:
        return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))

    body = []
    for b in blocks_:
        kind = b[0]
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{html.escape(b[1])}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{inline(b[1])}</p>")
        elif kind == "quote":
            body.append(f"<blockquote>{inline(b[1])}</blockquote>")
        elif kind == "table":
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b[1])
            rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                           for r in b[2])
            body.append(f'<div class="t"><table><tr>{head}</tr>{rows}</table></div>')
        elif kind == "img":
            data = base64.b64encode((base / b[1]).read_bytes()).decode("ascii")
            body.append(f'<figure><img alt="{html.escape(b[2])}" src="data:image/png;base64,'
                        f'{data}"><figcaption>{html.escape(b[2])}</figcaption></figure>')
    title = html.escape(blocks_[0][1]) if blocks_ else "report"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{title}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _figures(run_dir: Path) -> list:
    """[(png path, caption)] of the figures that apply to the store, drawn if missing."""
    from .phase_figure import phase_figure
    from .t1_figure import t1_figure
    from .trajectory_figure import page_paths, trajectory_figure
    draw = {"trajectories": trajectory_figure, "phase": phase_figure, "t1": t1_figure}
    out = []
    for name, caption in FIGURES:
        pngs = page_paths(run_dir) if name == "trajectories" else [run_dir / f"{name}.png"]
        if not all(png.exists() for png in pngs):
            draw[name](run_dir)
        for page, png in enumerate(pngs, 1):        # every page of a paged figure
            if png.exists():
                out.append((png, caption if len(pngs) == 1 else f"{caption} (page {page} of {len(pngs)})"))
    return out + _other_figures(run_dir)


def _other_figures(run_dir: Path) -> list:
    """[(png path, caption)] of the width-search, check and air results in ``run_dir`` or a
    folder directly under it (drawn if missing, where the stored result holds what they need:
    air's Figures 2 and 5 are drawn by the air command only)."""
    from .air_modes_figure import modes_figure
    from .slack_figure import slack_figure
    from .vacuity_figure import vacuity_figure

    def air_modes(folder):
        if "modes" in json.loads((folder / "air.json").read_text()).get("figures", {}):
            modes_figure(folder)

    draw = {"vacuity": lambda folder: vacuity_figure(folder),
            "slack": lambda folder: slack_figure(folder / "violations.json"),
            "air_modes": air_modes, "air_figure2": lambda folder: None,
            "air_figure5": lambda folder: None}
    out = []
    for folder in [run_dir] + sorted(p for p in run_dir.iterdir() if p.is_dir()):
        for name, source, caption in OTHER_FIGURES:
            png = folder / f"{name}.png"
            if (folder / source).is_file() and not png.exists():
                draw[name](folder)
            if (folder / source).is_file() and png.exists():
                out.append((png, caption))
    return out


CIFAR_FIGURES = (("table1", "Test accuracy against the noise rate: ours (filled) beside the "
                            "paper's Table 1 (hollow)"),
                 ("epochs", "Figure 4: CE vs self-distillation along training"))


def cifar_blocks(table: "dict | None", environment: "dict | None", figures: "list[tuple]") -> list:
    """The report of a cifar store as blocks (``blocks``' kinds)."""
    from theorem_lab.simulations.cifar.table1 import table_rows
    out = [("h1", "theorem-lab cifar report")]
    if table is None:
        out.append(("p", "The store holds no run of a Table 1 cell (symmetric noise on CIFAR-10, "
                         "Fashion-MNIST or their synthetic stand-ins)."))
    else:
        out.append(("p", f"Test accuracy in percent, mean ± sample sd over {len(table['seeds'])} "
                         f"seed(s), beside {table['source']} ({table['paper_metric']})."))
        for ds in table["datasets"]:
            head, rows = table_rows(ds)
            out += [("h2", f"{ds['label']} ({ds['data']})"), ("table", head, rows)]
        out += [("h2", "Settings"),
                ("table", ["setting", "ours", "the paper"], [list(s) for s in table["settings"]])]
    if figures:
        out.append(("h2", "Figures"))
        out += [("img", path, caption) for path, caption in figures]
    if environment:
        out += [("h2", "Environment"),
                ("p", ", ".join(f"{k} {environment[k]}" for k in ENV_KEYS
                                if environment.get(k) is not None))]
    return out


def _cifar_content(run_dir: Path, runs: list, base: Path) -> list:
    from .cifar_figures import last_grid, load_table, table1_figures
    names = [n for n, _ in CIFAR_FIGURES]
    run_ids = last_grid(run_dir)               # the grid of the last `cifar table1` there
    if not all((run_dir / f"{n}.png").exists() for n in names):
        table1_figures(run_dir, run_ids=run_ids)
    figs = [(os.path.relpath((run_dir / f"{n}.png").resolve(), base), c)
            for n, c in CIFAR_FIGURES if (run_dir / f"{n}.png").exists()]
    env = next((r["environment"] for r in runs if r["environment"]), None)
    return cifar_blocks(load_table(run_dir, run_ids), env, figs)


def write_report(run_dir, out=None) -> list:
    """Write ``<run_dir>/report.md`` and ``report.html`` (or ``out`` and its .html sibling);
    return both paths."""
    from theorem_lab.simulations.cifar.table1 import is_cifar_store
    run_dir = Path(run_dir)
    with ResultStore(run_dir, readonly=True) as store:
        runs = store.runs()
    target = Path(out) if out else run_dir / "report.md"
    base = target.resolve().parent
    if is_cifar_store(runs):
        content = _cifar_content(run_dir, runs, base)
    else:
        summary = json.loads((run_dir / "summary.json").read_text())
        environment = runs[0]["environment"] if runs else None
        figs = [(os.path.relpath(p.resolve(), base), c) for p, c in _figures(run_dir)]
        content = blocks(summary, environment, figs)
    page = target.with_suffix(".html")
    target.write_text(to_markdown(content), encoding="utf-8")
    page.write_text(to_html(content, base), encoding="utf-8")
    return [target, page]
