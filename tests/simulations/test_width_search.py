"""`theorem-lab width-search`: empirical width vs Theorem 1's width, on tiny instances; lists of
n, ρ, ε stored as sweep runs, resumed without recomputing."""

import json
import math

import pytest

from theorem_lab.cli import main
from theorem_lab.proofs_check.constants import READINGS
from theorem_lab.simulations.grid import run_config
from theorem_lab.simulations.store import ResultStore
from theorem_lab.simulations.width_search import WidthSearch, empirical_width, search, table

TINY = dict(n=40, K=4, d=8, eps=0.05, rho=0.3, steps=300, k_min=2, k_max=16, seeds=2)
SMALL = ["--clusters", "4", "--dim", "6", "--steps", "40", "--k-max", "4", "--seeds", "1"]


def test_search_table_on_a_real_run():
    res = search(WidthSearch(**TINY))
    assert [r["width"] for r in res["rows"]] == [2, 4, 8, 16]
    assert res["threshold"] == pytest.approx(0.1 * math.sqrt(40))
    assert all(len(r["l2_clean"]) == 2 and all(e >= 0 for e in r["l2_clean"]) for r in res["rows"])
    assert res["theorem_width"] > TINY["k_max"]          # vacuous by many orders of magnitude
    assert set(res["readings"]) == set(READINGS)
    for v in res["readings"].values():                   # the earliest admissible T₂ is far out
        assert v["T2"] > TINY["steps"] and v["width_required"] > res["theorem_width"]
        assert 0 < v["eps_max"] < res["theorem"]["eps_max"]


@pytest.mark.parametrize("pattern, expected", [
    ({2: 1.0, 4: 1.0, 8: 1.0, 16: 1.0}, 2),          # every width works
    ({2: 9.0, 4: 1.0, 8: 9.0, 16: 1.0}, 16),         # a failure at 8 resets the run of successes
    ({2: 9.0, 4: 9.0, 8: 1.0, 16: 1.0}, 8),
    ({2: 1.0, 4: 1.0, 8: 1.0, 16: 9.0}, None),       # the widest fails: no empirical width
    ({2: 1.0, 4: 1.0, 8: None, 16: 1.0}, 16),        # a run that did not finish fails its width
])
def test_empirical_width_is_the_start_of_the_final_run_of_successes(pattern, expected):
    """Stored residuals per width (threshold 0.5·√40 ≈ 3.2, between 1.0 and 9.0)."""
    cfg = WidthSearch(**{**TINY, "fraction": 0.5})
    runs = {}
    for point in cfg.points():
        for s in range(cfg.seeds):
            e = pattern[point["width"]]
            runs[run_config(point, "self-distill", s).run_id] = (
                {"status": "diverged", "summary": {}} if e is None else
                {"status": "finished", "summary": {"l2_clean": e}})
    res = table(cfg, runs)
    assert [r["success"] for r in res["rows"]] == [e is not None and e < 3 for e in pattern.values()]
    assert res["empirical_width"] == expected == empirical_width(res["rows"])


def test_cli_json_and_bad_input(tmp_path, capsys):
    argv = ["width-search", "--n", "40", "--clusters", "4", "--dim", "8", "--steps", "100",
            "--k-max", "4", "--seeds", "1", "--out", str(tmp_path / "ws"), "--no-figure"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["width"] for r in out["rows"]] == [2, 4]
    assert not (tmp_path / "ws" / "vacuity.png").exists()
    for bad, name in ((["--k-min", "3"], "'--k-min'"), (["--k-max", "0"], "'--k-max'"),
                      (["--k-min", "8", "--k-max", "4"], "'--k-max'"), (["--fraction", "0"], "'--fraction'"),
                      (["--schedule", "cosine"], "'--schedule'"), (["--n", "40,40"], "'--n'")):
        assert main([*argv, *bad]) == 2
        err = capsys.readouterr().err
        assert name in err and err.count("\n") == 1


def test_lists_are_stored_as_runs_and_a_rerun_recomputes_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "ws"
    argv = ["width-search", "--n", "40,60", "--rho", "0.1,0.3", *SMALL, "--out", str(out)]
    assert main(argv) == 0
    first = capsys.readouterr().out
    with ResultStore(out, readonly=True) as store:
        runs = store.runs()
    assert len(runs) == 2 * 2 * 2 * 1                    # n × ρ × widths × seeds
    assert {(r["config"]["n"], r["config"]["rho"], r["config"]["width"]) for r in runs} == {
        (n, rho, k) for n in (40, 60) for rho in (0.1, 0.3) for k in (2, 4)}
    assert all(r["status"] == "finished" and r["config"]["n_test"] == 0 for r in runs)
    saved = json.loads((out / "width_search.json").read_text())["instances"]
    assert [(r["config"]["n"], r["config"]["rho"]) for r in saved] == [
        (40, 0.1), (40, 0.3), (60, 0.1), (60, 0.3)]
    assert (out / "vacuity.png").stat().st_size > 0      # drawn by default
    assert main(["export", str(out), "--table", "runs", "--out", str(tmp_path / "runs.csv")]) == 0
    assert len((tmp_path / "runs.csv").read_text().splitlines()) == 1 + len(runs)

    def recomputed(*a, **k):
        raise AssertionError("a rerun recomputed something")
    from theorem_lab.simulations import width_search as ws
    monkeypatch.setattr("theorem_lab.simulations.sweep.run_task", recomputed)
    monkeypatch.setattr(ws, "theorem", recomputed)
    capsys.readouterr()
    assert main(argv) == 0
    assert capsys.readouterr().out == first              # same table, nothing trained or derived
    assert json.loads((out / "width_search.json").read_text())["instances"] == saved

    stale = [{**r, "code": "older code"} if r["config"]["n"] == 60 else r for r in saved]
    (out / "width_search.json").write_text(json.dumps({"instances": stale}))
    fresh = {"theorem_width": 1.0, "theorem_binding_term": "x", "theorem": {}, "readings": {}}
    monkeypatch.setattr(ws, "theorem", lambda cfg: fresh)
    assert main([*argv, "--no-figure"]) == 0              # the theorem's numbers of other code
    again = json.loads((out / "width_search.json").read_text())["instances"]
    assert [r["theorem_width"] == 1.0 for r in again] == [False, False, True, True]
