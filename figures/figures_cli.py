"""`theorem-lab figures RUN`: redraw a stored sweep's trajectory figure (PNG + PDF) from its store."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from theorem_lab.errors import fail
from theorem_lab.output import check_output_stem

_OWNER = "figures"


def configure(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a sweep directory holding results.sqlite")
    parser.add_argument("--out", default=None,
                        help="file stem for the .png and .pdf (default RUN/trajectories)")


def run(args) -> int:
    from .trajectory_figure import trajectory_figure

    run_dir = Path(args.run)
    if not (run_dir / "results.sqlite").is_file():
        raise fail("RUN", _OWNER, "a sweep directory holding results.sqlite", str(run_dir))
    stem = check_output_stem("--out", run_dir / "trajectories" if args.out is None else args.out,
                             _OWNER, (".png", ".pdf"))
    try:
        paths = trajectory_figure(run_dir, stem)
    except sqlite3.DatabaseError as exc:
        raise fail("RUN", _OWNER, f"a readable results store ({exc})", str(run_dir)) from None
    except OSError as exc:
        raise fail("--out", _OWNER, f"a writable file stem ({exc.strerror})", str(args.out)) from None
    sys.stderr.write("figures: " + ", ".join(str(p) for p in paths) + "\n")
    return 0
