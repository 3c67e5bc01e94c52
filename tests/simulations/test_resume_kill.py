"""A sweep killed with SIGKILL mid-run, then resumed: complete, no duplicates, nothing recomputed."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEEDS = 24
ARGS = ["sweep", "--n", "60", "--clusters", "4", "--dim", "8", "--width", "256", "--steps", "60",
        "--n-test", "20", "--log-every", "6", "--methods", "self-distill", "--seeds", str(SEEDS),
        "--no-figure", "--json", "--batch", "off"]   # one run per task: stored one by one


def _start(out: Path, workers: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "theorem_lab.cli", *ARGS, "--out", str(out),
                             "--workers", str(workers)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _children(pid: int) -> list:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


def _runs(db: Path) -> dict:
    """run_id -> (status, ended, number of trajectory rows), read the way a user would."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute("SELECT r.run_id, r.status, r.ended, COUNT(t.step) FROM runs r "
                           "LEFT JOIN trajectory t ON t.run_id = r.run_id GROUP BY r.run_id").fetchall()
        orphans = con.execute("SELECT COUNT(*) FROM trajectory WHERE run_id NOT IN "
                              "(SELECT run_id FROM runs)").fetchone()[0]
    finally:
        con.close()
    assert orphans == 0
    return {r[0]: r[1:] for r in rows}


def _count(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1)
        try:
            return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:   # not created yet, or locked for a moment
        return 0


@pytest.mark.parametrize("kill_after, workers", [(3, 1), (6, 2)])
def test_sigkill_then_resume(tmp_path, kill_after, workers):
    out = tmp_path / "sweep"
    db = out / "results.sqlite"
    proc = _start(out, workers)
    deadline = time.monotonic() + 60
    while _count(db) < kill_after and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    workers_pids = _children(proc.pid)
    assert workers == 1 or len(workers_pids) >= 2 or proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10                             # no worker outlives it
    while any(map(_alive, workers_pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_alive, workers_pids))

    before = _runs(db)
    assert kill_after <= len(before) < SEEDS, "the kill came too late to test anything"
    steps_per_run = 60 // 6 + 1
    assert all(status == "finished" and n == steps_per_run for status, _, n in before.values())

    resumed = _start(out, workers)
    stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    summary = json.loads(stdout)
    after = _runs(db)
    assert len(after) == SEEDS == summary["runs_total"]          # complete, each run_id once
    assert summary["runs_skipped"] == len(before)                # finished runs not recomputed
    for run_id, (status, ended, n) in before.items():
        assert after[run_id] == (status, ended, n)
    assert all(n == steps_per_run for _, _, n in after.values())
    assert not [p for p in os.listdir(out) if p.startswith(".write-test-")]


def test_ctrl_c_keeps_finished_runs_and_exits_130(tmp_path):
    out = tmp_path / "sweep"
    db = out / "results.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "theorem_lab.cli", *ARGS, "--out", str(out), "--workers", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while _count(db) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)                  # Ctrl-C reaches the whole group
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "re-run the same command to resume" in stderr
    stored = _runs(db)
    assert 2 <= len(stored) < SEEDS and all(s == "finished" for s, _, _ in stored.values())


def test_sigterm_to_the_sweep_alone_stops_it_like_ctrl_c(tmp_path):
    """A batch scheduler's time limit sends SIGTERM to the job's process, not to its workers:
    the sweep keeps what finished, stops its workers, says how to resume and exits 130."""
    out = tmp_path / "sweep"
    db = out / "results.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "theorem_lab.cli", *ARGS, "--out", str(out), "--workers", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while _count(db) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)                    # the parent only
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "re-run the same command to resume" in stderr
    stored = _runs(db)
    assert 2 <= len(stored) < SEEDS and all(s == "finished" for s, _, _ in stored.values())
    deadline = time.monotonic() + 10                    # a worker left in its group? (an
    while time.monotonic() < deadline:                  # exited one stays a zombie until
        try:                                            # init reaps it, about a second)
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("a worker process outlived the sweep by 10 s")
