"""The early-stopping baseline's constant c in τ = c·τ₀: the fit, the packaged calibration, the
default it sets, and honest run_ids (issue 14, item 4)."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest

import theorem_lab as tl
from theorem_lab.network import init_seed
from theorem_lab.simulations import grid as G
from theorem_lab.simulations.early_stop_calibration import (CalibrationGrid, fit_constant, measure,
                                                            stopping_regret)
from theorem_lab.train import _calibration, calibrated_early_stop_constant, lso_tau0


def _rows(c, tau0s, noise, seed=0):
    rng = np.random.default_rng(seed)
    return [{"tau0": t, "oracle_step": max(1, round(c * t * math.exp(noise * rng.standard_normal()))),
             "censored": False, "status": "finished"} for t in tau0s]


def test_fit_recovers_c_from_synthetic_oracles():
    rows = _rows(3.0, np.geomspace(20, 2000, 60), noise=0.2)
    fit = fit_constant(rows)
    assert fit["c_interval"][0] < 3.0 < fit["c_interval"][1]
    assert fit["c"] == pytest.approx(3.0, rel=0.1)
    assert fit["free_slope"]["slope"] == pytest.approx(1.0, abs=0.1)
    rows_cens = rows + [{"tau0": 10.0, "oracle_step": 5000, "censored": True, "status": "finished"}]
    assert fit_constant(rows_cens)["c"] == fit["c"] and fit_constant(rows_cens)["runs_censored"] == 1


def test_fit_on_a_tiny_grid_and_early_stop_uses_it():
    grid = CalibrationGrid(n=(40,), K=(2,), rho=(0.3,), eps=(0.2,), width=(32,), d=5, seeds=3,
                           steps=400)
    rows = measure(grid)
    for r in rows:       # the oracle is the argmin of the logged clean residual
        assert r["oracle_step"] == int(np.argmin(r["l2_clean"]))
    fit = fit_constant(rows)
    z = np.log([r["oracle_step"] / r["tau0"] for r in rows if not r["censored"]])
    sse = lambda c: float(np.sum((z - math.log(c)) ** 2))          # noqa: E731
    assert sse(fit["c"]) < min(sse(fit["c"] * 1.05), sse(fit["c"] / 1.05))
    assert stopping_regret(rows, fit["c"])["regret_calibrated"] >= 0
    data = tl.make_clusterable(n=40, K=2, d=5, eps=0.2, rho=0.3, seed=0, n_test=0)
    net = tl.TwoLayerNet.init(d=5, k=32, activation="tanh", seed=init_seed(0))
    traj = tl.train(data, net, method="early-stop", steps=400, early_stop_constant=fit["c"])
    tau0 = lso_tau0(data, net.activation.Gamma, traj.info.lr, traj.info.lambda_C)
    assert traj.info.early_stop_step == math.ceil(fit["c"] * tau0)


def test_default_early_stop_is_the_packaged_calibration():
    data = tl.make_clusterable(n=40, K=2, d=5, eps=0.1, rho=0.3, seed=1, n_test=0)
    net = tl.TwoLayerNet.init(d=5, k=32, activation="tanh", seed=init_seed(1))
    default = tl.train(data, net, method="early-stop", steps=300, log_every=300)
    raw = tl.train(data, net, method="early-stop", steps=300, log_every=300, early_stop_constant=1)
    tau0 = lso_tau0(data, net.activation.Gamma, raw.info.lr, raw.info.lambda_C)
    assert raw.info.early_stop_step == math.ceil(tau0)
    assert default.info.early_stop_step == math.ceil(calibrated_early_stop_constant() * tau0)
    assert default.info.config["early_stop_constant"] == calibrated_early_stop_constant()   # saved resolved


def test_packaged_calibration_refits_to_its_stored_c():
    blob = _calibration()
    assert blob["format"] == "theorem-lab-early-stop-calibration/1"
    assert blob["command"].startswith("theorem-lab early-stop-calibration")
    assert blob["fit"]["c"] == pytest.approx(fit_constant(blob["rows"])["c"], rel=1e-12)
    assert len(blob["rows"]) == len(CalibrationGrid(**{k: tuple(v) if isinstance(v, list) else v
                                                       for k, v in blob["grid"].items()}).cells()) \
        * blob["grid"]["seeds"]


def test_run_ids_change_with_c_for_early_stop_only():
    point = G.expand(G.parse_grid({"n": "40", "clusters": "2", "width": "32", "steps": "50"}))[0]
    es, gd = G.run_config(point, "early-stop", 0), G.run_config(point, "gd", 0)
    assert es.early_stop_constant == calibrated_early_stop_constant()
    assert "early_stop_constant" not in gd.as_dict()
    other = 2 * calibrated_early_stop_constant()
    es1 = G.run_config({**point, "early_stop_constant": other}, "early-stop", 0)
    gd1 = G.run_config({**point, "early_stop_constant": other}, "gd", 0)
    assert es1.run_id != es.run_id and gd1.run_id == gd.run_id
    legacy = {k: v for k, v in point.items() if k != "early_stop_constant"}   # a stored old grid
    old = G.run_config(legacy, "early-stop", 0)
    assert "early_stop_constant" not in old.as_dict()
    assert old.run_id == G.config_hash({k: v for k, v in replace(es, early_stop_constant=None).as_dict().items()})
    # early-stop at the calibrated c shares gd's trajectory; at another c it gets its own
    assert G.trajectory_config(es, point) == gd.as_dict()
    assert G.trajectory_config(es1, point)["early_stop_constant"] == other
    assert G.trajectory_config(old, legacy)["early_stop_constant"] == 1.0


def test_sweep_early_stop_record_stops_at_c_tau0(tmp_path):
    from theorem_lab.cli import main
    out = tmp_path / "s"
    args = ["sweep", "--n", "40", "--clusters", "2", "--dim", "5", "--width", "32", "--steps", "300",
            "--n-test", "0", "--methods", "early-stop", "--workers", "1", "--no-figure", "--json"]
    assert main(args + ["--early-stop-constant", "1,2", "--out", str(out)]) == 0
    from theorem_lab.simulations.store import ResultStore
    taus = sorted(r["summary"]["tau"] for r in ResultStore(out / "results.sqlite", readonly=True).runs()
                  if r["method"] == "early-stop")
    assert len(taus) == 2 and taus[1] in (2 * taus[0] - 1, 2 * taus[0])


def test_command_replaces_its_own_calibration_but_no_other_file(tmp_path, capsys):
    """--out may be an earlier calibration (a rerun, the packaged file), never another file: that
    is refused before any run; a one-run grid (nothing to fit) is refused up front too."""
    from theorem_lab.cli import main
    cmd = ["early-stop-calibration", "--n", "40", "--clusters", "2", "--rho", "0.3", "--eps", "0.2",
           "--width", "32", "--seeds", "2", "--steps", "300"]
    keep = tmp_path / "keep.json"
    keep.write_text("precious\n")
    assert main(cmd + ["--out", str(keep)]) == 2
    assert "'--out'" in capsys.readouterr().err and keep.read_text() == "precious\n"
    out = tmp_path / "cal.json"
    assert main(cmd + ["--out", str(out)]) == 0 and main(cmd + ["--out", str(out)]) == 0
    assert json.loads(out.read_text())["format"] == "theorem-lab-early-stop-calibration/1"
    capsys.readouterr()
    assert main(cmd[:-4] + ["--seeds", "1", "--steps", "300", "--out", str(tmp_path / "one.json")]) == 2
    assert "'--seeds'" in capsys.readouterr().err and not (tmp_path / "one.json").exists()
