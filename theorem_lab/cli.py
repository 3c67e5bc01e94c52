"""`theorem-lab`: the one composition root.

Each command lives in its own module with two functions, ``configure(parser)`` (declare the
options) and ``run(args) -> int`` (the exit code); this file maps names to modules and imports
only the module of the command being run, so ``theorem-lab --help`` stays fast.

Exit codes: 0 ok, 1 a run failed, 2 bad input (one line on stderr, no traceback), 130 interrupted
(Ctrl-C or SIGTERM; what finished is kept).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import re
import signal
import sys

# name -> (module, one-line help). Modules live in whichever layer owns the command; the layers
# are the folders theorem_lab/, proofs_check/, simulations/, figures/ of the repository, installed
# as theorem_lab, theorem_lab.proofs_check, theorem_lab.simulations, theorem_lab.figures.
COMMANDS = {
    "sweep": ("theorem_lab.simulations.sweep_cli", "the headline experiment: grids of runs, verdicts, a results store"),
    "export": ("theorem_lab.simulations.export_cli", "write a stored sweep as tidy CSV"),
    "figures": ("theorem_lab.figures.figures_cli", "redraw a stored sweep's figures (trajectories, phase diagram; PNG/PDF/SVG)"),
    "report": ("theorem_lab.figures.report_cli", "a Markdown + standalone HTML report of a stored sweep: tables, verdicts, vacuity, figures, findings"),
    "width-search": ("theorem_lab.simulations.width_search_cli", "smallest width at which Algorithm 1 works vs the width Theorem 1 asks for"),
    "air": ("theorem_lab.simulations.air_cli", "anisotropic information retrieval: label energy in the top NTK eigenspace"),
    "constants": ("theorem_lab.proofs_check.constants_cli", "Theorem 1's constants in closed form and evaluated"),
    "check": ("theorem_lab.proofs_check.check_cli", "check every lemma's inequality numerically"),
    "verdict": ("theorem_lab.proofs_check.verdict_cli",
                "the paper's 23 issues: the table, and the sampled checks of I-10, I-12, I-17, I-18, I-19"),
    "bench": ("theorem_lab.simulations.bench_cli", "benchmarks: GD step vs its two GEMMs, Gram vs torch.func"),
    "generalization": ("theorem_lab.simulations.generalization_cli",
                       "Theorem 2 on a stored sweep: clean test error, its prefactor, the capacity term (I-16)"),
    "lazy": ("theorem_lab.simulations.lazy_cli",
             "lazy training: ‖W_t−W₀‖_F and σ_min(J, S₊) along training across widths, the k-exponent"),
    "early-stop-calibration": ("theorem_lab.simulations.early_stop_calibration_cli",
                               "fit c in the early-stopping time τ = c·τ₀ to the oracle stopping step"),
    "cifar": ("theorem_lab.simulations.cifar.cli", "image experiments: noisy-label training with Algorithm 1 and baselines"),
}
# A sweep's figures, drawn after it from its store (each returns [] where it does not apply).
SWEEP_FIGURES = (("theorem_lab.figures.trajectory_figure", "trajectory_figure"),
                 ("theorem_lab.figures.phase_figure", "phase_figure"),
                 ("theorem_lab.figures.t1_figure", "t1_figure"))
# A command's figure, drawn by the root after the command succeeds (simulations never import
# figures): command (with its sub-command: 'cifar ntk-air') -> (figure module, function of the
# RUN directory, which the command sets as ``args.run``; none set, no figure).
FIGURES = {
    "generalization": ("theorem_lab.figures.generalization_figure", "generalization_figure"),
    "lazy": ("theorem_lab.figures.lazy_figure", "lazy_figure"),
    "width-search": ("theorem_lab.figures.vacuity_figure", "vacuity_figure"),
    "check": ("theorem_lab.figures.slack_figure", "slack_figure"),   # not after --replay
    "cifar teacher-epochs": ("theorem_lab.figures.teacher_figure", "teacher_figure"),
    "cifar ntk-air": ("theorem_lab.figures.ntk_air_figure", "ntk_air_figure"),
}


class _HelpWithDefaults(argparse.HelpFormatter):
    """--help names every option's default: '(default X)' is added where the help text does not
    already say it (flags and options without a default are left as they are)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (not action.option_strings or "default" in text or action.nargs == 0
                or action.default in (None, argparse.SUPPRESS, "")):
            return text
        return f"{text} (default %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the option, then exit 2; a value argparse
    itself rejects (``--n x``) gets the project's one message template."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpWithDefaults)
        super().__init__(*args, **kwargs)

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {_templated(self.prog, message)}\n")
        raise SystemExit(2)


_ARGPARSE = (  # argparse's own value errors -> (allowed, got) of the one template
    (re.compile(r"argument (?P<opt>[^:/ ]+)(?:/\S+)?: invalid (?P<kind>int|float) value: "
                r"(?P<got>'.*')$"),
     lambda m: ({"int": "an integer", "float": "a real number"}[m["kind"]], m["got"])),
    (re.compile(r"argument (?P<opt>[^:/ ]+)(?:/\S+)?: invalid choice: (?P<got>'.*') "
                r"\(choose from (?P<choices>.*)\)$"),
     lambda m: (f"one of {m['choices']}", m["got"])),
    (re.compile(r"argument (?P<opt>[^:/ ]+)(?:/\S+)?: expected one argument$"),
     lambda m: (f"given a value (write {m['opt']}=VALUE for one that starts with '-')",
                "no value")),
)


def _templated(prog: str, message: str) -> str:
    """'argument --n: invalid int value: 'x'' -> "The '--n' parameter of sweep must be an
    integer. Got 'x' instead." (other argparse messages pass unchanged)."""
    owner = prog.removeprefix("theorem-lab").strip() or "theorem-lab"
    for pattern, parts in _ARGPARSE:
        m = pattern.match(message)
        if m:
            allowed, got = parts(m)
            return f"The '{m['opt']}' parameter of {owner} must be {allowed}. Got {got} instead."
    return message


def build_parser(command: "str | None" = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="theorem-lab",
                     description="Put Theorem 1 of 'Distillation ≈ Early Stopping?' on the bench.",
                     epilog="Exit codes: 0 ok, 1 a run failed, 2 bad input, 130 interrupted (Ctrl-C "
                            "or SIGTERM: finished work is kept). "
                            "Every command has --help.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"theorem-lab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == command:
            try:
                importlib.import_module(module).configure(p)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
    return parser


def _on_sigterm(signum, frame):
    """SIGTERM (a batch scheduler's time limit, ``kill``) stops a command as Ctrl-C does: what
    is finished is kept, the rest is resumed by running the same command again."""
    raise KeyboardInterrupt("SIGTERM")


def main(argv=None) -> int:
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:              # not the main thread: leave the signals alone
        return _main(argv)
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        module = importlib.import_module(COMMANDS[args.command][0])
    except ModuleNotFoundError:
        sys.stderr.write(f"theorem-lab: error: the '{args.command}' command is not built yet\n")
        return 2
    # simulations must not import figures (figures -> simulations): the root wires them in
    if args.command == "sweep":
        args.draw_figure = lambda out: [path for mod, fn in SWEEP_FIGURES for path in
                                        getattr(importlib.import_module(mod), fn)(out)]
    if args.command == "cifar" and args.cifar == "table1":
        args.draw_figure = lambda out, run_ids=None: importlib.import_module(
            "theorem_lab.figures.cifar_figures").table1_figures(out, run_ids=run_ids)
    if args.command == "air":
        args.plots = importlib.import_module("theorem_lab.figures.air_figures")   # figure2, figure5
    from .errors import ParameterError
    sub = getattr(args, "bench", None) or getattr(args, "cifar", None)     # a sub-command
    label = args.command + (f" {sub}" if sub else "")
    try:
        code = int(module.run(args) or 0)
        if (code == 0 and label in FIGURES and not getattr(args, "no_figure", False)
                and getattr(args, "run", None) is not None):   # the command set what to draw from
            fig_module, fn = FIGURES[label]
            paths = getattr(importlib.import_module(fig_module), fn)(args.run)
            sys.stdout.flush()
            sys.stderr.write("figure: " + ", ".join(str(p) for p in paths) + "\n")
        sys.stdout.flush()          # a closed pipe or a full disk shows here, not at exit
        return code
    except ParameterError as exc:
        sys.stderr.write(f"theorem-lab {label}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("theorem-lab: interrupted; results finished so far are saved\n")
        return 130
    except BrokenPipeError:         # `theorem-lab export RUN --out - | head -1`: the reader left
        _silence_stdout()
        return 0
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRNOS:
            raise
        _silence_stdout()
        sys.stderr.write(f"theorem-lab {label}: error: could not write the output "
                         f"({exc.strerror}); free some space or choose another --out\n")
        return 1


# write errors that are the destination's fault, not the program's: one line, exit 1
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO, errno.EPIPE}


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush of the unwritable buffer
    does not print a second error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):   # stdout replaced (tests) or already closed
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
