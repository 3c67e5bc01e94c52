"""AIR (spec §1.11, E-44): top-K fractions, Figure 2's monotone trend, Figure 5's gain, angles
to S₊, the `theorem-lab air` and `theorem-lab bench gram` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import theorem_lab as tl
from theorem_lab.simulations import air


def test_topk_fraction_and_angles_basic_properties():
    rng = np.random.default_rng(0)
    E, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    z = rng.standard_normal(10)
    fr = [air.topk_fraction(E, z, K) for K in range(1, 11)]
    assert np.all(np.diff(fr) >= -1e-15) and abs(fr[-1] - 1) < 1e-12     # monotone in K, 1 at n
    assert air.topk_fraction(E, E[:, 0] * 3.0, 1) == pytest.approx(1.0, abs=1e-12)
    cluster = np.repeat(np.arange(3), 4)
    U = tl.support_basis(cluster)
    E2 = np.linalg.qr(np.hstack([U, rng.standard_normal((12, 9))]))[0]   # S₊ spans E2[:, :3]
    assert np.max(air.support_angles(E2, cluster)) < 1e-7


def test_figure2_fraction_decreases_with_noise_on_a_seeded_instance():
    cfg = air.AirConfig(n=120, K=4, d=12, eps=0.3, width=256, seeds=(0, 1, 2))
    r = air.figure2(cfg)
    assert r["fraction"].shape == (3, 6)
    assert np.all(np.diff(r["mean"]) < 0)                  # Figure 2's monotone trend
    assert r["mean"][0] > 0.9 and r["mean"][-1] < 0.4
    assert np.all(r["max_angle"] < 0.5)                     # top-K eigenspace ≈ S₊ (tight clusters)
    inf = air.figure2(air.AirConfig(**{**cfg.__dict__, "ntk": "infinite"}))
    assert np.all(np.diff(inf["mean"]) < 0)


def test_figure5_information_gain_is_positive_after_the_start():
    cfg = air.AirConfig(n=80, K=4, d=10, eps=0.3, width=256, seeds=(0, 1), rho=0.3,
                        iterations=200, every=50)
    r = air.figure5(cfg)
    assert r["gain"].shape == (2, 5)
    assert np.all(r["gain"][:, 0] == pytest.approx(0.0, abs=1e-12))   # α_0 = 1: ŷ_0 = y
    assert r["positive_share"] == 1.0


def test_air_command_writes_results_and_figures(tmp_path):
    from theorem_lab.cli import main
    labels = tmp_path / "z.npy"
    np.save(labels, np.ones(40))
    rc = main(["air", "--n", "40", "--K", "2", "--d", "6", "--width", "64", "--seed-list", "0,1",
               "--iterations", "20", "--every", "10", "--topk", "3", "--labels", str(labels),
               "--step", "2", "--out", str(tmp_path / "o")])
    assert rc == 0
    s = json.loads((tmp_path / "o" / "air.json").read_text())
    assert set(s["figures"]) == {"figure2", "figure5", "figure2_top3", "figure5_top3", "modes"}
    assert 0 <= s["labels"]["K=3"]["labels"] <= 1
    for f in ("air_figure2.png", "air_figure2.pdf", "air_figure5.png", "air_figure5_top3.pdf",
              "air_modes.png", "air_modes.pdf"):
        assert (tmp_path / "o" / f).stat().st_size > 1000


@pytest.mark.parametrize("seeds, spread", [("1", False), ("2", True)])
def test_air_with_one_seed_shows_no_spread(tmp_path, capsys, monkeypatch, seeds, spread):
    """--seeds 1 printed '0.990±0.000' and labelled the figures 'mean ± sd, 1 seeds': a spread
    of zero that was never measured. One seed prints the value alone and says so in the legend."""
    from theorem_lab.cli import main
    from theorem_lab.figures import air_figures
    legends = {}

    def save(fig, stem):                 # read each figure's legend where it is written
        legends[Path(stem).name] = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        return [f"{stem}.png"]
    monkeypatch.setattr(air_figures.style, "save", save)
    assert main(["air", "--n", "40", "--K", "2", "--d", "6", "--width", "64", "--seeds", seeds,
                 "--iterations", "20", "--every", "10", "--figure", "2,5",
                 "--out", str(tmp_path / "o")]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if "figure2:" in l)
    assert ("±" in line) == spread
    assert set(legends) == {"air_figure2", "air_figure5"}
    want = f"mean ± sd, {seeds} seeds" if spread else "1 seed (no spread)"
    assert all(want in texts for texts in legends.values()), legends


@pytest.fixture(scope="module")
def modes_small():
    return air.modes(air.AirConfig(n=40, K=4, d=8, width=256, seeds=(0,), iterations=20, every=5))


def test_modes_energies_are_a_partition_and_clean_labels_sit_on_top(modes_small):
    r = modes_small
    assert r["shown"] == [1, 4, 5, 20, 40] and list(r["step"]) == [0, 5, 10, 15, 20]
    assert np.all(np.diff(r["lam"]) <= 0)                            # λ₁ ≥ λ₂ ≥ …
    for e in ("energy_clean", "energy_noisy"):                      # Σ_i (e_iᵀz)² = ‖z‖² = n
        assert r[e].sum() == pytest.approx(1.0, rel=1e-12)
    K = r["K"]
    assert r["energy_clean"][:K].sum() > 0.9 > r["energy_noisy"][:K].sum()
    # to ỹ and to y differ by the constant e_iᵀ(y − ỹ); at t = 0 the prediction is the data
    assert np.ptp(r["gd_clean"] - r["gd_noisy"], axis=1) == pytest.approx(0.0, abs=1e-12)
    # both differences are e_iᵀ(y − ỹ), up to the rounding of one addition (c + e_iᵀ(y − ỹ)) − c
    np.testing.assert_allclose(r["sd_clean"] - r["sd_noisy"], r["gd_clean"] - r["gd_noisy"],
                               rtol=0, atol=1e-12)
    assert r["gd_predicted"][:, 0] == pytest.approx(r["gd_noisy"][:, 0], abs=0)
    assert r["sd_noisy"][:, 0] == pytest.approx(r["gd_noisy"][:, 0], abs=1e-12)  # same f(W₀)


def test_modes_frozen_kernel_prediction_improves_with_width(modes_small):
    """Lazy training: e_iᵀ(f_t − y) → (1 − ηλ_i)^t e_iᵀ(f₀ − y) as k grows (error ~ k^{-1/2})."""
    def error(r):
        return float(np.max(np.abs(r["gd_noisy"] - r["gd_predicted"])
                            / np.abs(r["gd_noisy"][:, :1])))
    wide = air.modes(air.AirConfig(n=40, K=4, d=8, width=4096, seeds=(0,), iterations=20, every=5))
    assert error(wide) < error(modes_small) / 4                     # 16x wider: ≥ 4x closer


def test_modes_figure_panels(modes_small):
    from theorem_lab.figures import style
    from theorem_lab.figures.air_modes_figure import build
    result = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in modes_small.items()}
    with style.context() as plt:
        fig = build(plt, result)
        a, b, c = fig.axes
        assert (a.get_xscale(), a.get_yscale(), b.get_yscale(), c.get_yscale()) == ("log",) * 4
        assert len(a.get_lines()) == 4                      # clean, noisy, λ_i/λ₁, i = K
        assert len(b.get_lines()) == len(c.get_lines()) == 2 * len(result["shown"])
        assert [t.get_text() for t in fig.legends[0].get_texts()][0].startswith("$i=1$")
        plt.close(fig)


def test_air_command_rejects_bad_input(tmp_path, capsys):
    from theorem_lab.cli import main
    assert main(["air", "--ntk", "nope", "--out", str(tmp_path)]) == 2
    assert "The '--ntk' parameter of air must be one of" in capsys.readouterr().err
    assert main(["air", "--noise", "0,0.7", "--out", str(tmp_path)]) == 2


def test_bench_gram_small_runs_and_matches(capsys):
    from theorem_lab.simulations import bench_gram
    from theorem_lab.cli import main
    X, W, v = bench_gram.problem(16, 4, 32)
    assert np.max(np.abs(bench_gram.ours(W, X, v, "tanh") - bench_gram.torch_func_ntk(W, X, v, "tanh"))) < 1e-14
    main(["bench", "gram", "--n", "16", "--d", "4", "--k", "32", "--repeats", "1", "--no-memory", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["max_rel_diff"] < 1e-12 and out["speedup"] > 0


def test_e43_quasi_linear_dynamics_exact_and_frozen_kernel_error_shrinks_with_width():
    data = tl.make_clusterable(n=30, K=3, d=6, eps=0.3, rho=0.2, seed=0, n_test=0)
    res = {}
    for k in (64, 4096):
        net = tl.TwoLayerNet.init(d=6, k=k, activation="tanh", seed=1)
        res[k] = air.ntk_dynamics(data, net, steps=5)
        assert np.max(res[k]["exact"]) < 1e-12                      # u_{t+1} − y = (I − ηH_t)(u_t − y)
    assert np.max(res[4096]["H_vs_Hhat"]) < np.max(res[64]["H_vs_Hhat"]) / 3
    assert np.max(res[4096]["modewise"]) < np.max(res[64]["modewise"]) / 3
