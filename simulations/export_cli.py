"""`theorem-lab export RUN --format csv`: a stored sweep as tidy CSV.

    theorem-lab export runs/NAME --format csv                  # -> runs/NAME/trajectory.csv
    theorem-lab export runs/NAME --table runs --out -          # one row per run, on stdout

An existing file named by ``--out`` is refused unless ``--force`` (it may be anything the user
keeps); the default RUN/<table>.csv is export's own output and is replaced by a re-export.

Tables (tidy: one observation per row, one variable per column):
    trajectory  one row per (run, logged step): run_id, cell, method, seed, status, the resolved config
                (``cfg_*`` columns), step, then one column per quantity (l2_clean, l2_noisy, …)
    runs        one row per run: status, error, seconds, config (``cfg_*``), summary (``sum_*``)
Empty cells are missing values (NaN, or a quantity that does not apply).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
from pathlib import Path

from theorem_lab.errors import check_choice, fail
from theorem_lab.output import check_not_input, check_output_file

OWNER = "export"
FORMATS = ("csv",)
TABLES = ("trajectory", "runs")


def configure(parser):
    parser.add_argument("run", metavar="RUN", help="a sweep directory (holding results.sqlite) "
                        "or the .sqlite file")
    parser.add_argument("--format", default="csv", help="csv (the only format)")
    parser.add_argument("--table", default="trajectory", help="trajectory (default) or runs")
    parser.add_argument("--out", default=None,
                        help="output file, '-' for stdout (default RUN/<table>.csv, replaced "
                        "on a re-export); an existing file is refused unless --force")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing --out file")


def run(args) -> int:
    from .store import ResultStore

    check_choice("--format", args.format, OWNER, FORMATS)
    check_choice("--table", args.table, OWNER, TABLES)
    src = Path(args.run)
    db = src if src.suffix == ".sqlite" else src / ResultStore.FILENAME
    if not db.is_file():
        raise fail("RUN", OWNER, f"a sweep directory holding {ResultStore.FILENAME} (or that file)",
                   str(src))
    try:
        return _export(args, db)
    except sqlite3.DatabaseError as exc:
        raise fail("RUN", OWNER, f"a results store written by 'theorem-lab sweep' ({exc})",
                   str(src)) from None


def _export(args, db) -> int:
    from .store import ResultStore

    if args.out == "-":
        target = "stdout"
    else:    # refused before reading: '', DIR/, a device node, a FIFO or a symlink (never clobbered)
        target = check_output_file("--out", db.parent / f"{args.table}.{args.format}"
                                   if args.out is None else args.out, OWNER)
        check_not_input("--out", target, OWNER, [db, db.with_name(db.name + "-wal")])
        if args.out is not None and target.exists() and not getattr(args, "force", False):
            raise fail("--out", OWNER, f"a new file; {target} exists (pass --force to replace "
                       "it)", str(args.out))
    with ResultStore(db, readonly=True) as store:
        if target == "stdout":
            count = store.export_csv(sys.stdout, args.table)
            sys.stdout.flush()       # a closed pipe or a full disk is reported by cli.main
        else:
            fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                           suffix=".partial")      # renamed once complete
            try:
                with os.fdopen(fd, "w", newline="") as handle:
                    count = store.export_csv(handle, args.table)
                os.replace(partial, target)
            except OSError as exc:
                raise fail("--out", OWNER, f"a writable file ({exc.strerror})", str(target)) from None
            finally:
                Path(partial).unlink(missing_ok=True)
    sys.stderr.write(f"export: {count} row(s) of table '{args.table}' -> {target}\n")
    return 0
