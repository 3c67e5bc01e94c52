"""`sweep --verbose`: the runs' time against the compute floor, one trajectory per task."""

import re

import pytest

from theorem_lab.cli import main
from theorem_lab.simulations import engine_report

GRID = ["--n", "30", "--clusters", "3", "--dim", "5", "--width", "16", "--steps", "20",
        "--seeds", "2", "--n-test", "5", "--workers", "1", "--no-figure"]


def test_verbose_counts_each_trajectory_once_against_the_measured_floor(tmp_path, capsys,
                                                                         monkeypatch):
    calls = []

    def fake_floor(shape):
        calls.append(shape)
        return 1e-4                      # seconds per run-step
    monkeypatch.setattr(engine_report, "floor_per_step", fake_floor)
    seen = []
    real_report = engine_report.report
    monkeypatch.setattr(engine_report, "report",
                        lambda records, wall: seen.append(records) or real_report(records, wall))
    assert main(["sweep", *GRID, "--out", str(tmp_path / "s"), "--verbose"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("engine: n=30"))
    # self-distill and gd trajectories per seed (early-stop shares gd's): 4 runs × 20 steps
    runs, steps = re.search(r"(\d+) run\(s\), (\d+) run-steps in", line).groups()
    assert (int(runs), int(steps)) == (4, 80)
    assert calls == [(30, 5, 16, "tanh", "numpy", "cpu", "float64")]
    (records,) = seen
    assert len(records) == 6                              # 3 methods × 2 seeds, 4 trajectories
    found = engine_report.trajectories(records)
    engine_s = sum(s for _, _, s, _, _ in found)
    kernels = {kernel for _, _, _, kernel, _ in found}
    assert kernels and f"(kernel {', '.join(sorted(kernels))})" in line
    parts = r": ([\d.]+)× = steps ([\d.]+)× \+ logged rows ([\d.]+)× \+ set-up ([\d.]+)×$"
    ratio, steps_x, rows_x, setup_x = map(float, re.search(parts, line).groups())
    assert ratio == pytest.approx(engine_s / (80 * 1e-4), abs=0.006)
    assert min(steps_x, rows_x, setup_x) > 0                                # each was measured
    loop = {r["task_id"]: (r["info"]["seconds_stepping"], r["info"]["seconds_logging"])
            for r in records}                           # the engine's own timers, per trajectory
    assert steps_x == pytest.approx(sum(s for s, _ in loop.values()) / (80 * 1e-4), abs=0.006)
    assert rows_x == pytest.approx(sum(g for _, g in loop.values()) / (80 * 1e-4), abs=0.006)
    for r in records:                                   # a run's parts are within its time
        info = r["info"]
        assert 0 < info["seconds_logging"] and 0 < info["seconds_stepping"]
        assert info["seconds_stepping"] + info["seconds_logging"] < r["seconds"]
    assert "the sweep took" in out
    # a second invocation reuses every run: nothing trained, nothing measured
    assert main(["sweep", *GRID, "--out", str(tmp_path / "s"), "--verbose"]) == 0
    assert "no runs were trained by this invocation" in capsys.readouterr().out
    assert len(calls) == 1


def test_the_floor_is_measured_on_the_runs_backend():
    """floor_per_step on torch tensors (what a CUDA sweep measures, on its device)."""
    per = engine_report.floor_per_step((40, 4, 16, "tanh", "torch", "cpu", "float32"))
    assert 0 < per < 1
