"""`theorem-lab figures RUN [--which NAME,…] [--format png,pdf,svg] [--out PATH]`: redraw a stored
sweep's figures from its store (never reruns anything).

Figures of a sweep store: ``trajectories`` (residuals, accuracies, margins; always), ``phase``
(the heat map of where self-distillation works; when ε and T₂, or ρ and k, vary in the store)
and ``t1`` (T₁ observed vs every reading of the theorem's T₁; when k or ρ varies). Of a cifar
store (``cifar train`` / ``cifar table1``): ``table1`` (test accuracy vs noise rate beside the
paper's) and ``epochs`` (Figure 4: CE vs self-distillation along training; when the store holds
such a pair). Without ``--which``, every figure that applies is drawn. ``--out``: a file stem
when one figure is drawn (``--out fig`` writes fig.png, fig.pdf), otherwise a directory (default
RUN).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from theorem_lab.errors import fail, parse_list
from theorem_lab.output import check_output_dir, check_output_stem

_OWNER = "figures"
NAMES = ("trajectories", "phase", "t1", "table1", "epochs")
KINDS = {"sweep": ("trajectories", "phase", "t1"), "cifar": ("table1", "epochs")}
NEEDS = {"phase": "two varying fields: ε and T₂, or ρ and k",
         "t1": "a varying width or ρ, and the theorem's T₁ in summary.json (rerun the sweep: it reuses its runs)",
         "table1": "stored runs of Table 1 cells",
         "epochs": "a CE and a self-distillation run that differ only in the method"}
FORMATS = ("png", "pdf", "svg")


def configure(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a sweep directory holding results.sqlite")
    parser.add_argument("--which", default=None,
                        help="comma list of " + ", ".join(NAMES) + " (default: all that apply)")
    parser.add_argument("--format", default="png,pdf", help="comma list of png, pdf, svg (default png,pdf)")
    parser.add_argument("--out", default=None,
                        help="file stem (one figure) or directory (several; default RUN)")


def _choices(text: str, option: str, allowed: tuple) -> list:
    def item(token):
        if token not in allowed:
            raise fail(option, _OWNER, "a comma list of " + ", ".join(allowed), text)
        return token
    return parse_list(text, option, _OWNER, item)


def _maybe(build, plt, data):
    return None if data is None else build(plt, data)


def run(args) -> int:
    from . import cifar_figures, style
    from .phase_figure import build as build_phase
    from .t1_figure import build as build_t1
    from .t1_figure import load as load_t1
    from .trajectory_figure import build as build_trajectories
    from .trajectory_figure import load

    run_dir = Path(args.run)
    if not (run_dir / "results.sqlite").is_file():
        raise fail("RUN", _OWNER, "a sweep directory holding results.sqlite", str(run_dir))
    which = _choices(args.which, "--which", NAMES) if args.which is not None else None
    formats = tuple(_choices(args.format, "--format", FORMATS))
    single = (args.out is not None and which is not None and len(which) == 1
              and not (args.out.endswith("/") or Path(args.out).is_dir()))
    if single:
        out = check_output_stem("--out", args.out, _OWNER, tuple("." + f for f in formats))
    else:
        out = check_output_dir("--out", run_dir if args.out is None else args.out, _OWNER)
    try:
        kind = "cifar" if cifar_figures.is_cifar(run_dir) else "sweep"
        if kind == "sweep":
            runs, trajs = load(run_dir)
    except sqlite3.DatabaseError as exc:
        raise fail("RUN", _OWNER, f"a readable results store ({exc})", str(run_dir)) from None
    builders = {"trajectories": lambda plt: build_trajectories(plt, runs, trajs),
                "phase": lambda plt: build_phase(plt, runs),
                "t1": lambda plt: build_t1(plt, runs, load_t1(run_dir)[1]),
                "table1": lambda plt: _maybe(cifar_figures.table1_build, plt,
                                             cifar_figures.load_table(run_dir)),
                "epochs": lambda plt: _maybe(cifar_figures.epochs_build, plt,
                                             cifar_figures.load_pair(run_dir))}
    paths = []
    for name in which or KINDS[kind]:
        if name not in KINDS[kind]:
            sys.stderr.write(f"figures: {name}: does not apply to this {kind} store (its "
                             f"figures: {', '.join(KINDS[kind])})\n")
            continue
        stem = out if single else check_output_stem("--out", out / name, _OWNER,
                                                     tuple("." + f for f in formats))
        with style.context() as plt:
            fig = builders[name](plt)
            if fig is None:
                if args.which:
                    sys.stderr.write(f"figures: {name}: does not apply to this store "
                                     f"(it needs {NEEDS[name]})\n")
                continue
            try:
                paths += style.save(fig, stem, formats)
            except OSError as exc:
                raise fail("--out", _OWNER, f"a writable path ({exc.strerror})", str(args.out)) from None
    sys.stderr.write("figures: " + ", ".join(str(p) for p in paths) + "\n")
    return 0
