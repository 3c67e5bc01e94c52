"""`theorem-lab report RUN`: a Markdown report and a standalone HTML page of a stored sweep
(tables, verdicts, vacuity, figures, findings, environment)."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

from theorem_lab.errors import fail
from theorem_lab.output import check_not_input, check_output_file

_OWNER = "report"


def configure(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a sweep directory (holding summary.json and results.sqlite)")
    parser.add_argument("--out", default=None, help="output file (default RUN/report.md; the HTML "
                        "page is written beside it with the suffix .html)")


def _is_cifar(run_dir: Path) -> bool:
    from .cifar_figures import is_cifar
    try:
        return is_cifar(run_dir)
    except sqlite3.DatabaseError:
        return False


def run(args) -> int:
    from . import image_report
    from .report import write_report

    run_dir = Path(args.run)
    if (run_dir / "results.sqlite").is_file() and image_report.kind(run_dir):   # teacher-epochs, ntk-air
        out = check_output_file("--out", run_dir / "report.md" if args.out is None else args.out, _OWNER)
        inputs = [run_dir / image_report.kind(run_dir), run_dir / "results.sqlite"]
        check_not_input("--out", out, _OWNER, inputs)
        check_not_input("--out", out.with_suffix(".html"), _OWNER, inputs)
        paths = image_report.write(run_dir, out)
        sys.stderr.write("report: " + ", ".join(str(p) for p in paths) + "\n")
        return 0
    has_store = (run_dir / "results.sqlite").is_file()
    if has_store and not (run_dir / "summary.json").is_file() and not _is_cifar(run_dir):
        raise fail("RUN", _OWNER, "a finished sweep's directory (its summary.json is written when "
                   "the sweep ends; this one has results.sqlite only, so the sweep was interrupted "
                   "or is still running: re-run the same sweep command to finish it, the stored "
                   "runs are reused)", str(run_dir))
    if not has_store or not ((run_dir / "summary.json").is_file() or _is_cifar(run_dir)):
        raise fail("RUN", _OWNER, "a directory written by 'theorem-lab sweep' (summary.json and "
                   "results.sqlite) or by 'theorem-lab cifar' (results.sqlite)", str(run_dir))
    out = check_output_file("--out", run_dir / "report.md" if args.out is None else args.out, _OWNER)
    inputs = [run_dir / "summary.json", run_dir / "results.sqlite"] + [
        run_dir / f"{name}.png" for name in ("trajectories", "phase", "t1", "table1", "epochs")]
    inputs += sorted(run_dir.glob("trajectories-*.png"))   # the trajectory figure's further pages
    check_not_input("--out", out, _OWNER, inputs)
    check_not_input("--out", out.with_suffix(".html"), _OWNER, inputs)
    try:
        paths = write_report(run_dir, out)
    except (json.JSONDecodeError, KeyError, sqlite3.DatabaseError) as exc:
        raise fail("RUN", _OWNER, f"a sweep directory with a readable summary and store ({exc})",
                   str(run_dir)) from None
    except OSError as exc:
        raise fail("--out", _OWNER, f"a writable file ({exc.strerror})", str(args.out)) from None
    sys.stderr.write("report: " + ", ".join(str(p) for p in paths) + "\n")
    return 0
