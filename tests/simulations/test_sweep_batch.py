"""`theorem-lab sweep --batch`: batched runs store the same numbers as runs one at a time."""

import math

import pytest

from theorem_lab.cli import main
from theorem_lab.simulations.store import ResultStore

GRID = ["--n", "30", "--clusters", "3", "--dim", "6", "--width", "32", "--steps", "60",
        "--n-test", "10", "--log-every", "7", "--seeds", "3", "--rho", "0.1,0.3",
        "--schedule", "linear,exponential:tau=20", "--label-fn", "clipped,sign",
        "--workers", "1", "--no-figure", "--json"]
TIMING = {"seconds", "seconds_stepping", "seconds_logging", "started", "ended", "kernel"}


def _numbers(obj, path=""):
    """Every number in a JSON-like record, by its path (timings left out)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k not in TIMING:
                yield from _numbers(v, f"{path}/{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _numbers(v, f"{path}[{i}]")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield path, float(obj)
    else:
        yield path, obj


def _stored(out):
    store = ResultStore(out)
    runs = {r["run_id"]: r for r in store.runs()}
    rows = {rid: store.trajectory(rid) for rid in runs}
    store.close()
    return runs, rows


def _assert_same_store(a, b):
    runs_a, rows_a = _stored(a)
    runs_b, rows_b = _stored(b)
    assert set(runs_a) == set(runs_b) and len(runs_a) == 36   # gd, early-stop ignore α_t and h
    for rid in runs_a:
        for part in ("summary", "info", "status"):
            got, want = dict(_numbers(runs_a[rid][part])), dict(_numbers(runs_b[rid][part]))
            assert got.keys() == want.keys()
            for key, x in got.items():
                y = want[key]
                if isinstance(x, float) and isinstance(y, float) and math.isfinite(y):
                    assert abs(x - y) <= 1e-10 * max(abs(y), 1e-300) or x == y, (rid, key, x, y)
                else:
                    assert (x == y) or (x != x and y != y), (rid, key, x, y)
        got, want = dict(_numbers(rows_a[rid])), dict(_numbers(rows_b[rid]))
        assert got.keys() == want.keys()
        for key, y in want.items():
            x = got[key]
            if isinstance(y, float) and math.isfinite(y):
                assert abs(x - y) <= 1e-10 * max(abs(y), 1e-300) or x == y, (rid, key, x, y)


def test_batch_auto_stores_what_batch_off_stores(tmp_path, capsys):
    assert main(["sweep", *GRID, "--out", str(tmp_path / "off"), "--batch", "off"]) == 0
    assert "to run as 30 task(s)" in capsys.readouterr().err
    assert main(["sweep", *GRID, "--out", str(tmp_path / "auto"), "--batch", "auto"]) == 0
    assert "to run as 1 task(s)" in capsys.readouterr().err      # one shape: one batch
    _assert_same_store(tmp_path / "auto", tmp_path / "off")


def test_out_of_memory_halves_the_batch_and_loses_no_run(tmp_path, capsys, monkeypatch):
    from theorem_lab.engine import state_bytes
    from theorem_lab.simulations import sweep
    halves = []
    real = sweep._train_batch

    def spy(members, threads, progress):
        halves.append(len(members))
        return real(members, threads, progress)

    monkeypatch.setattr(sweep, "_train_batch", spy)
    assert main(["sweep", *GRID, "--out", str(tmp_path / "off"), "--batch", "off"]) == 0
    halves.clear()
    # a fake allocator: at most 2 runs' engine state fit
    monkeypatch.setenv("THEOREM_LAB_MEMORY_LIMIT", str(state_bytes(2, 30, 6, 32, 10, 60)))
    assert main(["sweep", *GRID, "--out", str(tmp_path / "small"), "--batch", "6"]) == 0
    capsys.readouterr()
    assert 6 in halves and 3 in halves and max(h for h in halves if h <= 2) == 2
    _assert_same_store(tmp_path / "small", tmp_path / "off")


@pytest.mark.parametrize("bad", ["0", "many"])
def test_bad_batch_is_one_line(bad, tmp_path, capsys):
    assert main(["sweep", *GRID, "--out", str(tmp_path), "--batch", bad]) == 2
    assert "'--batch'" in capsys.readouterr().err


def test_vacuity_report_is_cached_and_equal(tmp_path, monkeypatch):
    import json
    import sys

    from theorem_lab.proofs_check.requirements import requirements_line
    from theorem_lab.simulations import grid, sweep
    monkeypatch.setenv(sweep.CACHE_ENV, str(tmp_path))
    point = grid.expand(grid.parse_grid({**{k: v for k, v in grid_defaults().items()},
                                         "n": "40", "width": "128"}))[0]
    fresh = sweep.hypotheses(point)
    files = list((tmp_path / "requirements").glob("*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text()) == json.loads(json.dumps(sweep._plain(fresh)))
    monkeypatch.setitem(sys.modules, "theorem_lab.proofs_check.requirements", None)
    cached = sweep.hypotheses(point)          # no sympy, no requirements module needed
    monkeypatch.undo()
    assert requirements_line(cached) == requirements_line(fresh)


def grid_defaults():
    from theorem_lab.simulations.sweep_cli import DEFAULTS
    return dict(DEFAULTS, n_test="0", clusters="4", dim="8")


def test_auto_cuts_a_large_group_into_one_batch_per_worker():
    """A batch of small runs steps on one core: with 2 workers, 8 or more runs of one shape
    become 2 batches (each still stored per run); fewer stay one batch."""
    from theorem_lab.simulations.batching import BATCH_KEY, SPLIT_MIN_RUNS, batch_tasks
    config = {k: 0 for k in BATCH_KEY} | {"n": 40, "dim": 8, "width": 128, "n_test": 10,
                                          "steps": 100, "dtype": "float64", "device": "cpu"}
    tasks = lambda m, **kw: [{"task_id": str(i), "config": {**config, **kw}} for i in range(m)]  # noqa: E731
    sizes = lambda out: sorted(len(t.get("batch", [t])) for t in out)                           # noqa: E731
    assert sizes(batch_tasks(tasks(32), "auto", workers=2)) == [16, 16]
    assert sizes(batch_tasks(tasks(9), "auto", workers=2)) == [4, 5]
    assert sizes(batch_tasks(tasks(2 * SPLIT_MIN_RUNS - 1), "auto", workers=2)) == [7]
    assert sizes(batch_tasks(tasks(32), "auto", workers=1)) == [32]
    assert sizes(batch_tasks(tasks(32), 32, workers=2)) == [32]          # a number is kept
    ids = [m["task_id"] for t in batch_tasks(tasks(32), "auto", workers=2) for m in t["batch"]]
    assert sorted(ids) == sorted(str(i) for i in range(32))
