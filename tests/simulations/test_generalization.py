"""`theorem-lab generalization`: Theorem 2's quantities, read from a stored sweep."""

import json
import math

import pytest

from theorem_lab.cli import main
from theorem_lab.simulations import generalization as G
from theorem_lab.simulations.store import ResultStore


@pytest.fixture(scope="module")
def thm2_sweep(tmp_path_factory):
    run = tmp_path_factory.mktemp("thm2") / "sweep"
    assert main(["sweep", "--n", "24,48", "--clusters", "3", "--dim", "6", "--width", "32",
                 "--steps", "40,120", "--n-test", "30", "--log-every", "10", "--activation", "erf",
                 "--methods", "self-distill,gd", "--workers", "1", "--no-figure",
                 "--out", str(run)]) == 0
    return run


def test_values_come_from_the_store(thm2_sweep):
    with ResultStore(thm2_sweep, readonly=True) as store:
        run = next(r for r in store.runs() if r["method"] == "self-distill")
        traj = store.trajectory(run["run_id"])
    v = G.run_values(run, traj)
    assert v["test_mse"] == pytest.approx(traj["test_l2"][-1] ** 2 / 30)
    assert v["capacity"] == pytest.approx(1.0 * traj["dist_init"][-1] / math.sqrt(run["config"]["n"]))
    assert v["T2"] == run["summary"]["T2"]


def test_prefactor_is_the_legible_part_of_the_bound():
    assert G.prefactor({"Lambda": 0.5, "c_low": 0.8}, K=4, Gamma=1.0) == pytest.approx(1 + 4 / 0.4)
    assert G.prefactor({"Lambda": 0.0, "c_low": 1.0}, K=4, Gamma=1.0) is None


def test_slope_recovers_a_power_law():
    xs = [10, 20, 40, 80]
    s, se = G.slope(xs, [3 * x ** -0.5 for x in xs])
    assert s == pytest.approx(-0.5) and se < 1e-9
    assert G.slope([1, 2], [1, 2]) is None and G.slope([5, 5, 5], [1, 2, 3]) is None


def test_slope_at_fixed_control_separates_the_two_exponents():
    """capacity = T2^0.2 · n^-0.7: pooled over n the T2 slope is confounded; with n controlled
    it is 0.2 (the I-16 trend is read at fixed n)."""
    T2 = [100, 400, 100, 400, 100, 400]
    n = [50, 50, 100, 100, 400, 400]
    cap = [t ** 0.2 * m ** -0.7 for t, m in zip(T2, n)]
    s, se = G.slope(T2, cap, n)
    assert s == pytest.approx(0.2) and se < 1e-9


def test_command_prints_table_writes_json_and_figure(thm2_sweep, capsys):
    assert main(["generalization", str(thm2_sweep)]) == 0
    out, err = capsys.readouterr()
    result = json.loads((thm2_sweep / "theorem2.json").read_text())
    assert len(result["groups"]) == 2 * 2 * 2                 # n × steps × methods
    assert all(r["prefactor"] > 1 for r in result["groups"])
    assert "1+KΓ²/(c_low Λ)" in out and "vacuous" in out
    assert (thm2_sweep / "theorem2.png").exists() and "theorem2.png" in err
    sd = [t for t in result["trends"] if t["method"] == "self-distill"][0]
    assert sd["capacity_vs_T2"] is not None                   # 4 self-distill groups, 2 T2 values


def test_command_refuses_a_non_sweep(tmp_path, capsys):
    assert main(["generalization", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'RUN' parameter of generalization" in err and err.count("\n") == 1


def test_a_swept_width_is_its_own_group_not_pooled_as_seeds(tmp_path, capsys):
    """A sweep over --width (or --rho, …) keeps each width apart: its runs are not seeds of one
    setting. Pooled, 2 widths × 2 seeds were one row of 'seeds 4' whose sd mixed the widths."""
    run = tmp_path / "w"
    assert main(["sweep", "--n", "24", "--clusters", "3", "--dim", "6", "--width", "16,32",
                 "--steps", "40", "--n-test", "30", "--seeds", "2", "--methods", "self-distill",
                 "--workers", "1", "--no-figure", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["generalization", str(run), "--no-figure"]) == 0
    out = capsys.readouterr().out
    result = json.loads((run / "theorem2.json").read_text())
    assert sorted(r["setting"] for r in result["groups"]) == ["width=16", "width=32"]
    assert all(r["seeds"] == 2 for r in result["groups"])
    assert "setting" in out.splitlines()[0] and "width=16" in out
    assert {t["setting"] for t in result["trends"]} == {"width=16", "width=32"}
