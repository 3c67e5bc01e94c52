"""The results store: one SQLite file per sweep directory (DESIGN.md, "Results store").

    runs        one row per run: run_id (hash of the resolved config, primary key), cell, method,
                seed, config JSON, status, error text, timings, summary JSON, info JSON,
                environment JSON (versions, backend, device, dtype, threads)
    trajectory  one row per (run_id, logged step); one REAL column per quantity of
                ``theorem_lab.trajectory.COLUMNS`` (more are added on demand)

A run is written in one transaction when it ends (its runs row and all its trajectory rows
together), so a process killed at any moment - SIGKILL included - leaves each run either
complete or absent; SQLite's WAL journal rolls an unfinished transaction back on next open.
Ctrl-C or SIGTERM arriving during a write is held until the run (for ``sweep.execute``, every
run a batch returned) is stored, then delivered (``interrupts_held``).
Only the coordinating process writes. stdlib ``sqlite3`` only.

Statuses: 'finished', 'diverged', 'unstable' (the loss rose far above its start and stayed
finite; ``sweep.UNSTABLE_FACTOR``) - all final: a resumed sweep skips them - and 'error' (an
exception; a resumed sweep retries it and replaces the row).

    sweeps      one row per sweep invocation: the grid it asked for (points, methods, seeds), so
                that ``summary.json`` and the report cover every sweep written into the store
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import signal
import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Optional

from theorem_lab.output import strict_json
from theorem_lab.trajectory import COLUMNS

SCHEMA_VERSION = 1
FINAL_STATUSES = ("finished", "diverged", "unstable")
STATUSES = ("finished", "diverged", "unstable", "error")
RUN_FIELDS = ("run_id", "cell", "method", "seed", "status", "error", "started", "ended",
              "seconds", "task_id", "config", "summary", "info", "environment")
_JSON_FIELDS = ("config", "summary", "info", "environment")


def _json(obj) -> str:
    """JSON with non-finite floats as null (SQLite/JSON have no NaN)."""
    return strict_json(obj, sort_keys=True)


def _quote(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsupported trajectory column name {name!r}")
    return f'"{name}"'


@contextlib.contextmanager
def interrupts_held():
    """Hold Ctrl-C (SIGINT) and SIGTERM until the block ends, then deliver the first one as it
    would have been (KeyboardInterrupt, or the default action): results already computed are
    written whole before an interrupt stops the sweep. Outside the main thread (where Python
    cannot set handlers) the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    before = {s: signal.signal(s, lambda signum, frame: caught.append(signum))
              for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
        if caught:
            signal.raise_signal(caught[0])


class ResultStore:
    """``<dir>/results.sqlite``. Open with ``ResultStore(path)``; close with ``.close()`` or use
    it as a context manager."""

    FILENAME = "results.sqlite"

    def __init__(self, path, readonly: bool = False):
        path = Path(path)
        self.path = path / self.FILENAME if path.is_dir() or path.suffix != ".sqlite" else path
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(f"no results store at {self.path}")
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None)   # explicit BEGIN/COMMIT
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")   # durable against process kills
            self._create()
        self.db.row_factory = sqlite3.Row
        self.readonly = readonly

    def _create(self):
        cols = ", ".join(f"{_quote(c)} REAL" for c in COLUMNS if c != "step")
        self.db.execute("BEGIN")
        self.db.execute("""CREATE TABLE IF NOT EXISTS runs (
            run_id TEXT PRIMARY KEY, cell TEXT, method TEXT, seed INTEGER,
            status TEXT NOT NULL, error TEXT, started REAL, ended REAL, seconds REAL,
            task_id TEXT, config TEXT NOT NULL, summary TEXT, info TEXT, environment TEXT)""")
        self.db.execute(f"""CREATE TABLE IF NOT EXISTS trajectory (
            run_id TEXT NOT NULL REFERENCES runs(run_id), step INTEGER NOT NULL, {cols},
            PRIMARY KEY (run_id, step))""")
        self.db.execute("CREATE TABLE IF NOT EXISTS sweeps (id INTEGER PRIMARY KEY, grid TEXT NOT NULL)")
        self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self.db.execute("COMMIT")

    def close(self):
        """Close the connection. A writer first takes the file out of WAL mode when no other
        connection holds it, so that no results.sqlite-wal/-shm stay behind: a read-only
        connection opened later (the figures, the report) cannot remove them itself."""
        if not self.readonly:
            with contextlib.suppress(sqlite3.Error):     # busy (another reader), or closed
                self.db.execute("PRAGMA journal_mode=DELETE")
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- writing ----------------------------------------------------------------------------

    def trajectory_columns(self) -> list[str]:
        return [r[1] for r in self.db.execute("PRAGMA table_info(trajectory)")]

    def write(self, record: dict) -> None:
        """Insert or replace one run and its trajectory rows, in one transaction (an interrupt
        arriving meanwhile is held until the run is stored: ``interrupts_held``).

        ``record``: the ``RUN_FIELDS`` (JSON fields as Python objects) and ``rows``, a list of
        dicts with 'step' and float quantities.
        """
        rows = record.get("rows") or []
        present = self.trajectory_columns()
        extra = [c for c in (rows[0] if rows else {}) if c not in present]
        values = [_json(record.get(f)) if f in _JSON_FIELDS else record.get(f) for f in RUN_FIELDS]
        with interrupts_held():
            self._write(record, rows, extra, values)

    def _write(self, record, rows, extra, values) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            for c in extra:
                self.db.execute(f"ALTER TABLE trajectory ADD COLUMN {_quote(c)} REAL")
            self.db.execute("DELETE FROM trajectory WHERE run_id = ?", (record["run_id"],))
            self.db.execute(f"INSERT OR REPLACE INTO runs ({', '.join(RUN_FIELDS)}) VALUES "
                            f"({', '.join('?' * len(RUN_FIELDS))})", values)
            if rows:
                names = list(rows[0])
                sql = (f"INSERT INTO trajectory (run_id, {', '.join(map(_quote, names))}) VALUES "
                       f"(?, {', '.join('?' * len(names))})")
                self.db.executemany(sql, ([record["run_id"]] + [_cell(r[c]) for c in names]
                                          for r in rows))
            self.db.execute("COMMIT")
        except BaseException:
            # An interrupt can land after COMMIT took effect (the transaction is then over and
            # the run is stored): roll back only a transaction still open.
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    def record_sweep(self, grid: dict) -> None:
        """Remember the grid of one sweep invocation (``{'points', 'methods', 'seeds'}``), once."""
        text = _json(grid)
        if not self.db.execute("SELECT 1 FROM sweeps WHERE grid = ?", (text,)).fetchone():
            self.db.execute("INSERT INTO sweeps (grid) VALUES (?)", (text,))

    # --- reading ----------------------------------------------------------------------------

    def sweeps(self) -> list[dict]:
        """The grids of every sweep written into this store, oldest first."""
        try:
            rows = self.db.execute("SELECT grid FROM sweeps ORDER BY id").fetchall()
        except sqlite3.OperationalError:      # a store written before the table existed
            return []
        return [json.loads(r[0]) for r in rows]

    def final_ids(self) -> set[str]:
        """run_ids whose outcome is final (``FINAL_STATUSES``): a resume skips them."""
        q = f"SELECT run_id FROM runs WHERE status IN ({', '.join('?' * len(FINAL_STATUSES))})"
        return {r[0] for r in self.db.execute(q, FINAL_STATUSES)}

    def runs(self, run_ids: Optional[Iterable[str]] = None) -> list[dict]:
        """Run rows as dicts (JSON fields decoded), ordered by cell, method, seed."""
        rows = self.db.execute("SELECT * FROM runs ORDER BY cell, method, seed, run_id").fetchall()
        wanted = None if run_ids is None else set(run_ids)
        out = []
        for r in rows:
            if wanted is not None and r["run_id"] not in wanted:
                continue
            d = dict(r)
            for f in _JSON_FIELDS:
                d[f] = json.loads(d[f]) if d[f] is not None else None
            out.append(d)
        return out

    def trajectory(self, run_id: str) -> dict:
        """{quantity: list of floats over logged steps} for one run (NaN where NULL)."""
        cur = self.db.execute("SELECT * FROM trajectory WHERE run_id = ? ORDER BY step", (run_id,))
        names = [d[0] for d in cur.description][1:]
        rows = cur.fetchall()
        return {c: [float("nan") if r[c] is None else float(r[c]) for r in rows] for c in names}

    def count_rows(self) -> tuple[int, int]:
        """(number of runs, number of trajectory rows)."""
        return (self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0],
                self.db.execute("SELECT COUNT(*) FROM trajectory").fetchone()[0])

    # --- export -----------------------------------------------------------------------------

    def export_csv(self, handle, table: str = "trajectory") -> int:
        """Write tidy CSV to an open text handle; return the number of data rows.

        ``trajectory``: one row per (run, logged step): run_id, method, seed, the run's status
        (finished, unstable, diverged, …: its rows are kept either way), every config field
        (``cfg_`` prefix), then step and one column per quantity.
        ``runs``: one row per run: run_id, method, seed, status, error, seconds, the config
        fields (``cfg_``) and the summary numbers (``sum_``).
        """
        runs = self.runs()
        cfg_keys = sorted({k for r in runs for k in (r["config"] or {})})
        writer = csv.writer(handle, lineterminator="\n")
        count = 0
        if table == "runs":
            sum_keys = sorted({k for r in runs for k, v in (r["summary"] or {}).items()
                               if not isinstance(v, (dict, list))})
            writer.writerow(["run_id", "cell", "method", "seed", "status", "error", "seconds"]
                            + [f"cfg_{k}" for k in cfg_keys] + [f"sum_{k}" for k in sum_keys])
            for r in runs:
                cfg, summ = r["config"] or {}, r["summary"] or {}
                writer.writerow([r["run_id"], r["cell"], r["method"], r["seed"], r["status"],
                                 r["error"] or "", r["seconds"]]
                                + [_csv(cfg.get(k)) for k in cfg_keys]
                                + [_csv(summ.get(k)) for k in sum_keys])
                count += 1
            return count
        quantities = [c for c in self.trajectory_columns() if c not in ("run_id", "step")]
        writer.writerow(["run_id", "cell", "method", "seed", "status"]
                        + [f"cfg_{k}" for k in cfg_keys] + ["step"] + quantities)
        for r in runs:
            cfg = r["config"] or {}
            head = ([r["run_id"], r["cell"], r["method"], r["seed"], r["status"]]
                    + [_csv(cfg.get(k)) for k in cfg_keys])
            traj = self.trajectory(r["run_id"])
            for i, step in enumerate(traj.get("step", [])):
                writer.writerow(head + [int(step)] + [_csv(traj[q][i]) for q in quantities])
                count += 1
        return count


def _cell(value):
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _csv(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    return value
