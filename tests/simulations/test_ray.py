"""The Ray executor on a local 2-CPU Ray: same run_ids and numbers as the local executor."""

import json

import pytest

from theorem_lab.simulations.store import ResultStore
from theorem_lab.cli import main

ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed")

TINY = ["--n", "40", "--clusters", "4", "--dim", "6", "--width", "32", "--steps", "30",
        "--n-test", "20", "--log-every", "5", "--seeds", "2", "--no-figure", "--json"]


def test_ray_matches_local(capsys, tmp_path):
    assert main(["sweep", *TINY, "--out", str(tmp_path / "local"), "--workers", "1"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(["sweep", *TINY, "--out", str(tmp_path / "ray"), "--executor", "ray",
                 "--workers", "2"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert not ray.is_initialized()                      # the sweep shut down the Ray it started
    by_id = {r["run_id"]: r for r in local["runs"]}
    assert set(by_id) == {r["run_id"] for r in remote["runs"]} and len(by_id) == 6
    for r in remote["runs"]:
        for k in ("l2_clean", "l2_noisy", "acc_clean", "margin", "dist_init", "step"):
            want = by_id[r["run_id"]]["summary"][k]     # None/NaN: an early stop past the horizon
            if want is None or want != want:
                assert r["summary"][k] is None or r["summary"][k] != r["summary"][k], k
                continue
            assert r["summary"][k] == pytest.approx(want, rel=1e-9), k
    with ResultStore(tmp_path / "ray", readonly=True) as store:
        runs = store.runs()
        assert len(runs) == 6 and all(r["status"] == "finished" for r in runs)
        assert all(r["environment"]["threads"] == 1 for r in runs)
        pids = {r["environment"]["pid"] for r in runs}
    assert len(pids) >= 1 and all(isinstance(p, int) for p in pids)


def _ray_task_pids() -> list:
    """PIDs of Ray worker processes currently running a sweep task (their title is ray::run_task)."""
    import os
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if fh.read().startswith(b"ray::run_task"):
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def test_ray_retries_a_task_whose_worker_is_killed(tmp_path):
    """SIGKILL a Ray worker mid-task: Ray reruns the task (max_retries) and the sweep completes
    with every run stored exactly once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "ray-kill"
    argv = [sys.executable, "-m", "theorem_lab.cli", "sweep", "--n", "200", "--clusters", "4",
            "--dim", "10", "--width", "512", "--steps", "8000", "--n-test", "20", "--seeds", "2",
            "--methods", "self-distill", "--no-figure", "--executor", "ray", "--workers", "2",
            "--out", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        killed, deadline = None, time.time() + 120
        while killed is None and time.time() < deadline and proc.poll() is None:
            pids = _ray_task_pids()
            if pids:
                time.sleep(0.3)                     # let the task get going
                try:
                    os.kill(pids[0], signal.SIGKILL)
                    killed = pids[0]
                except ProcessLookupError:          # it finished first: wait for the next one
                    pass
            time.sleep(0.1)
        assert killed is not None, "no Ray task process seen"
        assert proc.wait(timeout=300) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with ResultStore(out, readonly=True) as store:
        runs = store.runs()
    assert len(runs) == 2 and all(r["status"] == "finished" for r in runs)
    assert killed not in {r["environment"]["pid"] for r in runs}
