"""`theorem-lab figures RUN [--which NAME,…] [--format png,pdf,svg] [--out PATH]`: redraw stored
results' figures (never reruns anything).

Figures, each where RUN holds what it needs:
  ``trajectories`` (residuals, accuracies, margins), ``phase`` (where self-distillation works;
  when ε and T₂, or ρ and k, vary) and ``t1`` (T₁ observed vs every reading of the theorem's T₁;
  when k or ρ varies): a sweep directory (``results.sqlite``);
  ``vacuity`` (smallest working width vs Theorem 1's, against n): a ``width-search`` directory
  (``width_search.json``);
  ``slack`` (lhs/rhs of every checked statement): a file written by ``check --save`` with its
  samples, or its directory (``violations.json``, check's default name).
Without ``--which``, every figure that applies is drawn. ``--out``: a file stem when one figure
is drawn (``--out fig`` writes fig.png, fig.pdf), otherwise a directory (default RUN, or the
check file's directory). ``trajectories`` shows at most 6 settings a page; further pages are
saved beside the first as ``trajectories-2``, ``trajectories-3``, … (``fig-2``, … with ``--out``).

  ``table1`` (test accuracy vs noise rate beside the paper's) and ``epochs`` (Figure 4: CE vs
  self-distillation along training; when the store holds such a pair): a cifar store
  (``cifar train`` / ``cifar table1``).
  ``teacher_epochs`` (Figure 1) and ``ntk_air_figure2``, ``ntk_air_figure5`` (Figures 2 and 5 on
  ResNet's NTK): the stores of ``cifar teacher-epochs`` and ``cifar ntk-air`` (their
  ``teacher_epochs.json`` / ``ntk_air.json`` beside the store).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from theorem_lab.errors import fail, parse_list
from theorem_lab.output import check_output_dir, check_output_stem

_OWNER = "figures"
NAMES = ("trajectories", "phase", "t1", "vacuity", "slack", "table1", "epochs", "teacher_epochs",
         "ntk_air_figure2", "ntk_air_figure5")
NEEDS = {"phase": "two varying fields: ε and T₂, or ρ and k",
         "t1": "a varying width or ρ, and the theorem's T₁ in summary.json (rerun the sweep: it reuses its runs)",
         "slack": "a check file with samples",
         "table1": "stored runs of Table 1 cells",
         "epochs": "a CE and a self-distillation run that differ only in the method"}
FORMATS = ("png", "pdf", "svg")
# figures drawn on several pages (stem, stem-2, …): their builder takes the stem's name and the
# first format (for the pages' titles) and returns the list of pages
PAGED = ("trajectories",)
# figures of the image experiments that write one JSON result: name -> that file
JSON_FIGURES = {"teacher_epochs": "teacher_epochs.json", "ntk_air_figure2": "ntk_air.json",
                "ntk_air_figure5": "ntk_air.json"}
RUN_ALLOWED = ("a sweep or cifar directory holding results.sqlite, a width-search directory "
               "holding width_search.json, or a file written by 'check --save' (or its directory)")


def configure(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a sweep or width-search directory, or a check "
                        "file (--save of check) or its directory")
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


def applicable(run: Path) -> list:
    """The figures ``run`` (a directory or a check file) holds the results of."""
    from .slack_figure import source
    from theorem_lab.simulations.width_search import RESULT_NAME
    if run.is_file():
        return ["slack"]
    from .cifar_figures import is_cifar
    found = []
    if (run / "results.sqlite").is_file() and not (run / RESULT_NAME).is_file():   # not width-search's
        try:
            cifar = is_cifar(run)
        except sqlite3.DatabaseError as exc:
            raise fail("RUN", _OWNER, f"a readable results store ({exc})", str(run)) from None
        found += ["table1", "epochs"] if cifar else ["trajectories", "phase", "t1"]
    if (run / RESULT_NAME).is_file():
        found.append("vacuity")
    if source(run).is_file():
        found.append("slack")
    own = [name for name, result in JSON_FIGURES.items() if (run / result).is_file()]
    if own:                                    # an image experiment's store: its own figures
        found = own
    return found


def run(args) -> int:
    from . import style
    from .trajectory_figure import page_stem

    run_path = Path(args.run)
    if str(args.run).strip() == "" or not run_path.exists():
        raise fail("RUN", _OWNER, RUN_ALLOWED, str(args.run))
    found = applicable(run_path)
    if not found:
        raise fail("RUN", _OWNER, RUN_ALLOWED, str(args.run))
    which = _choices(args.which, "--which", NAMES) if args.which is not None else found
    formats = tuple(_choices(args.format, "--format", FORMATS))
    single = (args.out is not None and len(which) == 1
              and not (args.out.endswith("/") or Path(args.out).is_dir()))
    home = run_path.parent if run_path.is_file() else run_path
    if single:
        out = check_output_stem("--out", args.out, _OWNER, tuple("." + f for f in formats))
    else:
        out = check_output_dir("--out", home if args.out is None else args.out, _OWNER)
    builders = _builders(run_path)
    paths = []
    for name in which:
        if name not in found:
            sys.stderr.write(f"figures: {name}: does not apply to {run_path} (it holds: "
                             f"{', '.join(found)})\n")
            continue
        stem = out if single else check_output_stem("--out", out / name, _OWNER,
                                                     tuple("." + f for f in formats))
        with style.context() as plt:
            try:
                fig = (builders[name](plt, stem.name, formats[0]) if name in PAGED
                       else builders[name](plt))
            except sqlite3.DatabaseError as exc:
                raise fail("RUN", _OWNER, f"a readable results store ({exc})", str(run_path)) from None
            except (ValueError, KeyError, TypeError) as exc:       # JSON that is not ours
                raise fail("RUN", _OWNER, f"{RUN_ALLOWED} ({name}: {exc})", str(run_path)) from None
            if fig is None:
                if args.which:
                    sys.stderr.write(f"figures: {name}: does not apply to this store "
                                     f"(it needs {NEEDS[name]})\n")
                continue
            pages = fig if name in PAGED else [fig]
            targets = [stem] + [check_output_stem("--out", page_stem(stem, page), _OWNER,
                                                  tuple("." + f for f in formats))
                                for page in range(2, len(pages) + 1)]
            try:
                for page_fig, target in zip(pages, targets):
                    paths += style.save(page_fig, target, formats)
            except OSError as exc:
                raise fail("--out", _OWNER, f"a writable path ({exc.strerror})", str(args.out)) from None
    sys.stderr.write("figures: " + ", ".join(str(p) for p in paths) + "\n")
    return 0


def _builders(run_path: Path) -> dict:
    """name -> build(plt) reading ``run_path`` (each loads its input when called)."""
    import json

    from . import cifar_figures
    from .ntk_air_figure import build_figure2, build_figure5
    from .phase_figure import build as build_phase
    from .slack_figure import build as build_slack
    from .slack_figure import source
    from .t1_figure import build as build_t1
    from .t1_figure import load_cells
    from .teacher_figure import build as build_teacher
    from .trajectory_figure import build_pages as build_trajectories
    from .trajectory_figure import load
    from .vacuity_figure import build as build_vacuity
    from theorem_lab.simulations.width_search import RESULT_NAME

    loaded = []

    def sweep():                         # trajectories and phase share one read of the store
        if not loaded:
            loaded.append(load(run_path))
        return loaded[0]

    def result(name):
        return json.loads((run_path / JSON_FIGURES[name]).read_text())

    def slack(plt):
        samples = json.loads(source(run_path).read_text()).get("samples")
        return build_slack(plt, samples) if samples else None

    return {"trajectories": lambda plt, name, ext: build_trajectories(plt, *sweep(), name, ext),
            "phase": lambda plt: build_phase(plt, sweep()[0]),
            "t1": lambda plt: build_t1(plt, sweep()[0], load_cells(run_path)),
            "vacuity": lambda plt: build_vacuity(plt, json.loads((run_path / RESULT_NAME).read_text())),
            "slack": slack,
            "table1": lambda plt: _maybe(cifar_figures.table1_build, plt, cifar_figures.load_table(
                run_path, cifar_figures.last_grid(run_path))),
            "epochs": lambda plt: _maybe(cifar_figures.epochs_build, plt, cifar_figures.load_pair(
                run_path, run_ids=cifar_figures.last_grid(run_path))),
            "teacher_epochs": lambda plt: build_teacher(plt, result("teacher_epochs")),
            "ntk_air_figure2": lambda plt: build_figure2(plt, result("ntk_air_figure2")),
            "ntk_air_figure5": lambda plt: build_figure5(plt, result("ntk_air_figure5"))}


def _maybe(build, plt, data):
    return None if data is None else build(plt, data)
