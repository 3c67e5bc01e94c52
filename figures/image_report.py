"""The report of an image experiment's store (``cifar teacher-epochs``, ``cifar ntk-air``), as
Markdown and standalone HTML through ``report.to_markdown`` / ``report.to_html``.

Reads ``<run>/teacher_epochs.json`` or ``<run>/ntk_air.json`` (what the command wrote from its
store) and the figures beside it, drawing them if they are missing; reruns nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .report import to_html, to_markdown

SOURCES = ("teacher_epochs.json", "ntk_air.json")


def kind(run_dir) -> "str | None":
    """Which image experiment wrote ``run_dir`` (its JSON's name), or None."""
    return next((name for name in SOURCES if (Path(run_dir) / name).is_file()), None)


def _open(result: dict) -> list:
    return [("h2", "Settings the paper leaves open"),
            ("table", ["setting", "our choice"], [[k, v] for k, v in result["open"].items()])]


def teacher_blocks(r: dict, figures: list) -> list:
    rows = [[str(x["E"]), f"{x['teacher_test_acc']:.4f}", f"{x['student_test_acc']:.4f}",
             f"{x['student_test_acc_at_best_val']:.4f}"] for x in r["rows"]]
    return ([("h1", "theorem-lab cifar teacher-epochs (Figure 1)"),
             ("p", f"Teacher {r['teacher_model']} on {r['dataset']} ({r['teacher_epochs']} epochs, "
                   f"teachers: {r['teachers']}), student {r['student_model']} ({r['student_epochs']} "
                   f"epochs), KD T = {r['temperature']:g}, w = {r['soft_weight']:g}; profile "
                   f"{r['profile']}: {r['note']}."),
             ("table", ["E", "teacher test acc", "student test acc", "student at best noisy val"], rows),
             ("p", f"**Best student:** E = {r['best_E']} (the paper: E = {r['paper']['best_E']}, "
                   f"{r['paper']['source']}; it prints no numbers for Figure 1).")]
            + [("img", p, c) for p, c in figures] + _open(r))


def ntk_blocks(r: dict, figures: list) -> list:
    c = r["config"]
    head = ["stage"] + [f"p = {p:g}" for p in r["noise"]] + ["λ_min", "λ_max"]
    rows = [[stage] + [f"{m:.3f} ± {s:.3f}" for m, s in zip(f["mean"], f["std"])]
            + [f"{min(f['lambda_min']):.3g}", f"{max(f['lambda_max']):.3g}"]
            for stage, f in r["figure2"].items()]
    f5 = r["figure5"]
    return ([("h1", "theorem-lab cifar ntk-air (Figures 2 and 5)"),
             ("p", f"{c['model']} on binary {c['dataset']} (classes 2, 7 → +1), NTK batch "
                   f"{c['ntk_batch']}, seeds {r['seeds']}; profile {r['profile']}"
                   + ("" if r["profile"] == "paper" else " (not the paper's setting)") + "."),
             ("h2", "Figure 2: ρ₅(y) = ‖P₅y‖/‖y‖ (mean ± sd over seeds)"), ("table", head, rows),
             ("p", f"**Figure 5:** information gain ρ₅(ŷ_t) − ρ₅(y) at label noise "
                   f"{c['gain_noise']:g} is positive at {f5['positive_share']:.0%} of the "
                   f"evaluations after t = 0 (mean {sum(f5['mean']) / len(f5['mean']):+.3f}).")]
            + [("img", p, cap) for p, cap in figures] + _open(r))


def write(run_dir, out=None) -> list:
    """Write ``<run>/report.md`` and ``report.html`` (or ``out`` and its .html sibling)."""
    from .ntk_air_figure import ntk_air_figure
    from .teacher_figure import teacher_figure
    run_dir = Path(run_dir)
    name = kind(run_dir)
    result = json.loads((run_dir / name).read_text())
    if name == "teacher_epochs.json":
        pngs = [(run_dir / "teacher_epochs.png", "Figure 1: student and teacher test accuracy vs E")]
        draw, build = teacher_figure, teacher_blocks
    else:
        pngs = [(run_dir / "ntk_air_figure2.png", "Figure 2: label energy in the top-5 NTK eigenspace"),
                (run_dir / "ntk_air_figure5.png", "Figure 5: information gain of self-distillation")]
        draw, build = ntk_air_figure, ntk_blocks
    if not all(p.exists() for p, _ in pngs):
        draw(run_dir)
    target = Path(out) if out else run_dir / "report.md"
    base = target.resolve().parent
    content = build(result, [(os.path.relpath(p.resolve(), base), c) for p, c in pngs])
    page = target.with_suffix(".html")
    target.write_text(to_markdown(content), encoding="utf-8")
    page.write_text(to_html(content, base), encoding="utf-8")
    return [target, page]
