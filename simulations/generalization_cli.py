"""`theorem-lab generalization RUN`: Theorem 2 and spec issue I-16 on a stored sweep.

    theorem-lab sweep --n 100,200,400 --activation erf,tanh,relu --steps 400,1600 \\
        --methods self-distill,gd --seeds 3 --width 512 --out runs/thm2
    theorem-lab generalization runs/thm2          # table, trends, theorem2.json, theorem2.png

Reads the store only (see ``generalization.py`` for what is measured and why).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from theorem_lab.errors import fail

_OWNER = "generalization"


def configure(parser) -> None:
    parser.add_argument("run", metavar="RUN", help="a sweep directory (summary.json and results.sqlite)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-figure", action="store_true", help="skip theorem2.png/.pdf")


def run(args) -> int:
    from .generalization import analyse, render

    run_dir = Path(args.run)
    if not (run_dir / "summary.json").is_file() or not (run_dir / "results.sqlite").is_file():
        raise fail("RUN", _OWNER, "a directory written by 'theorem-lab sweep' (summary.json and "
                   "results.sqlite)", str(run_dir))
    try:
        result = analyse(run_dir)
    except (json.JSONDecodeError, KeyError, sqlite3.DatabaseError) as exc:
        raise fail("RUN", _OWNER, f"a sweep directory with a readable summary and store ({exc})",
                   str(run_dir)) from None
    if not result["groups"]:
        raise fail("RUN", _OWNER, "a sweep with finished runs and a test set (--n-test > 0)",
                   str(run_dir))
    (run_dir / "theorem2.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1) if args.json else render(result), end="")
    return 0
