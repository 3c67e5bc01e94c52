"""The SQLite results store: round trip, replace, atomic writes, tidy CSV (simulations/store.py)."""

import csv
import io
import math
import os
import signal
import sqlite3
import time

import pytest

from theorem_lab.simulations.store import ResultStore
from theorem_lab.trajectory import COLUMNS


def _record(run_id="a" * 16, status="finished", steps=(0, 10, 20), extra=None):
    rows = [{c: float(s if c == "step" else i + j / 10) for j, c in enumerate(COLUMNS)}
            for i, s in enumerate(steps)]
    if extra:
        for r in rows:
            r[extra] = 1.5
    rows[-1]["test_acc"] = float("nan")
    return {"run_id": run_id, "cell": "width=64", "method": "gd", "seed": 2, "status": status,
            "error": None if status == "finished" else "boom", "started": 1.0, "ended": 2.5,
            "seconds": 1.5, "task_id": "t" * 16,
            "config": {"width": 64, "rho": 0.3, "lr": "auto", "rho_h": None},
            "summary": {"l2_clean": 1.25, "T1": None, "oracle": {"step": 3}, "bad": float("inf")},
            "info": {"lr": 0.1}, "environment": {"numpy": "2"}, "rows": rows}


def test_round_trip(tmp_path):
    rec = _record()
    with ResultStore(tmp_path) as s:
        s.write(rec)
    with ResultStore(tmp_path, readonly=True) as s:
        (run,) = s.runs()
        traj = s.trajectory(rec["run_id"])
        assert s.final_ids() == {rec["run_id"]}
    for k in ("run_id", "cell", "method", "seed", "status", "error", "started", "ended", "seconds",
              "task_id", "config", "info", "environment"):
        assert run[k] == rec[k], k
    assert run["summary"] == {"l2_clean": 1.25, "T1": None, "oracle": {"step": 3}, "bad": None}
    assert traj["step"] == [0.0, 10.0, 20.0]
    for c in COLUMNS:
        want = [r[c] for r in rec["rows"]]
        got = traj[c]
        assert all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(got, want)), c
    assert (tmp_path / "results.sqlite").exists()


def _journal_mode(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()


def test_wal_while_writing_and_no_wal_files_left_after_readers(tmp_path):
    """WAL while a writer is open (readers see finished runs during a sweep); closed, the file
    leaves WAL so that a later read-only connection (figures, report) leaves no -wal/-shm."""
    s = ResultStore(tmp_path)
    s.write(_record())
    assert _journal_mode(tmp_path / "results.sqlite") == "wal"
    with ResultStore(tmp_path, readonly=True) as r:      # a reader during the sweep
        assert r.final_ids() == {"a" * 16}
        s.close()                                        # cannot leave WAL now: no error
    with ResultStore(tmp_path) as s:                     # the next writer finds it as it was
        assert s.final_ids() == {"a" * 16}
    for _ in range(2):
        with ResultStore(tmp_path, readonly=True) as r:
            assert len(r.runs()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.sqlite"]
    s.close()                                            # closing twice is harmless


def test_rewrite_replaces_the_run_and_its_rows(tmp_path):
    with ResultStore(tmp_path) as s:
        s.write(_record(status="error", steps=(0, 10, 20, 30)))
        assert s.final_ids() == set()          # errors are retried on resume
        s.write(_record(steps=(0, 5)))
        assert s.count_rows() == (1, 2)
        assert s.final_ids() == {"a" * 16}


def test_new_quantities_become_columns(tmp_path):
    with ResultStore(tmp_path) as s:
        s.write(_record(extra="sigma_min"))
        assert s.trajectory("a" * 16)["sigma_min"] == [1.5, 1.5, 1.5]


def test_a_failed_write_leaves_nothing(tmp_path):
    bad = _record()
    bad["rows"][1] = {**bad["rows"][1], "step": 0.0}     # duplicate (run_id, step): the insert fails
    with ResultStore(tmp_path) as s:
        with pytest.raises(sqlite3.IntegrityError):
            s.write(bad)
        assert s.count_rows() == (0, 0)
        s.write(_record(run_id="b" * 16))
        assert s.count_rows() == (1, 3)


class _InterruptAfterCommit:
    """A connection whose COMMIT takes effect and then raises KeyboardInterrupt: Ctrl-C landing
    just as the transaction ends (seen in CI as 'cannot rollback - no transaction is active')."""

    def __init__(self, db):
        self.db = db

    def execute(self, sql, *args):
        out = self.db.execute(sql, *args)
        if sql == "COMMIT":
            raise KeyboardInterrupt
        return out

    def __getattr__(self, name):
        return getattr(self.db, name)


def _interrupted(store, connection, write):
    """``write()`` on ``store`` through the wrapping ``connection``; it must raise
    KeyboardInterrupt. The store's own connection is back afterwards."""
    real = store.db
    store.db = connection(real)
    try:
        with pytest.raises(KeyboardInterrupt):
            write()
    finally:
        store.db = real


def test_an_interrupt_after_commit_keeps_the_run_and_propagates(tmp_path):
    with ResultStore(tmp_path) as s:
        _interrupted(s, _InterruptAfterCommit, lambda: s.write(_record()))
        assert s.count_rows() == (1, 3)         # the committed run stays, whole
        assert s.final_ids() == {"a" * 16}


class _InterruptDuringInsert(_InterruptAfterCommit):
    """A connection that receives Ctrl-C (a real SIGINT to this process) while inserting rows."""

    def execute(self, sql, *args):
        return self.db.execute(sql, *args)

    def executemany(self, sql, rows):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)                       # the handler would run here, mid-transaction
        return self.db.executemany(sql, rows)


def test_ctrl_c_during_a_write_is_held_until_the_run_is_stored(tmp_path):
    with ResultStore(tmp_path) as s:
        _interrupted(s, _InterruptDuringInsert, lambda: s.write(_record()))
        assert s.count_rows() == (1, 3)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # restored


def test_ctrl_c_while_a_batch_is_stored_keeps_every_run_of_it(tmp_path):
    """sweep.execute holds an interrupt over all the records one task returned (a batch)."""
    from theorem_lab.simulations.sweep import execute

    class Executor:
        def run(self, tasks, on_steps):
            yield tasks[0], [_record(run_id=c * 16) for c in "abc"]
            raise AssertionError("the interrupt should have stopped the sweep")

    class Plan:
        tasks = [{"task_id": "t"}]

    with ResultStore(tmp_path) as s:
        _interrupted(s, _InterruptDuringInsert, lambda: execute(Plan(), Executor(), s))
        assert s.count_rows() == (3, 9)


def test_export_csv_tidy(tmp_path):
    with ResultStore(tmp_path) as s:
        s.write(_record())
        s.write(_record(run_id="b" * 16, steps=(0, 10), status="unstable"))
        buf = io.StringIO()
        assert s.export_csv(buf, "trajectory") == 5
        runs_buf = io.StringIO()
        assert s.export_csv(runs_buf, "runs") == 2
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert len(rows) == 5 and len({(r["run_id"], r["step"]) for r in rows}) == 5
    assert rows[0]["cfg_width"] == "64" and rows[0]["method"] == "gd"
    assert {r["run_id"][0]: r["status"] for r in rows} == {"a": "finished", "b": "unstable"}
    assert set(COLUMNS) <= set(rows[0])
    assert rows[2]["test_acc"] == ""                     # NaN -> empty cell
    runs = list(csv.DictReader(io.StringIO(runs_buf.getvalue())))
    assert runs[0]["sum_l2_clean"] == "1.25" and "sum_oracle" not in runs[0]
