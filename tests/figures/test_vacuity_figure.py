"""The vacuity figure and its power-law fit, from width-search results (no training here)."""

import math

import numpy as np
import pytest

from theorem_lab.figures import style
from theorem_lab.figures.vacuity_figure import build, exponent_label
from theorem_lab.simulations.fits import fit_power_law

READINGS = ("A", "B", "A'")
NS = (250, 500, 1000, 2000)


def test_fit_recovers_a_known_exponent_and_its_interval_covers_it():
    x = np.array(NS, dtype=float)
    exact = fit_power_law(x, 3.0 * x ** 1.7)
    assert exact["exponent"] == pytest.approx(1.7) and exact["intercept"] == pytest.approx(math.log(3))
    assert exact["high"] - exact["low"] < 1e-9
    rng = np.random.default_rng(0)
    x = np.geomspace(10, 1e4, 12)
    noisy = fit_power_law(x, 0.5 * x ** -0.8 * np.exp(rng.normal(0, 0.2, x.size)))
    assert noisy["low"] < -0.8 < noisy["high"] and 0.05 < noisy["high"] - noisy["low"] < 1.0
    assert abs(noisy["exponent"] + 0.8) < 0.2
    two = fit_power_law([1, 2], [1, 4])
    assert two["exponent"] == pytest.approx(2.0) and math.isnan(two["low"])
    assert math.isnan(fit_power_law([5], [1])["exponent"])
    assert fit_power_law([1, 2, 4, 8], [1, 0, -1, 2])["points"] == 2      # y ≤ 0 left out


def _instance(n, eps, works_up_to=0.2, k_min=2):
    """A stored instance: the empirical width grows like √n, the theorem's like n⁴ (×reading)."""
    width = None if eps > works_up_to else max(k_min, 2 * round(math.sqrt(n) / 2))
    return {"config": {"n": n, "rho": 0.3, "eps": eps, "k_min": k_min, "k_max": 1024},
            "empirical_width": width, "theorem_width": 1e10 * n ** 4,
            "theorem": {"eps_max": 1e-3 / n},
            "readings": {r: {"width_required": 10.0 ** (20 + i) * n ** 4, "eps_max": 1e-6 / n / (i + 1)}
                         for i, r in enumerate(READINGS)}}


def _draw(instances):
    with style.context() as plt:
        fig = build(plt, {"instances": instances})
        axes = [ax for ax in fig.axes if ax.get_visible()]
        return fig, axes, plt


def test_width_panel_log_log_one_line_per_reading_and_exponents_in_the_legend():
    fig, axes, plt = _draw([_instance(n, 0.05) for n in NS])
    assert len(axes) == 1                                  # one ε searched: no radius panel
    ax = axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert len(lines) == 1 + 1 + len(READINGS)            # measured, this T₂, one per reading
    assert list(lines[0].get_xdata()) == list(NS)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum("reading" in t for t in labels) == len(READINGS)
    theorem = [t for t in labels if t.startswith("Thm 1")]
    assert all("b = 4.00 [4.00, 4.00]" in t for t in theorem), theorem
    measured = next(t for t in labels if t.startswith("smallest working"))
    b = fit_power_law(NS, [_instance(n, 0.05)["empirical_width"] for n in NS])
    assert f"b = {b['exponent']:.2f} [{b['low']:.2f}, {b['high']:.2f}]" in measured
    assert 0.3 < b["exponent"] < 0.7
    plt.close(fig)


def test_radius_panel_when_eps_varies_and_bounds_are_marked():
    insts = [_instance(n, eps, works_up_to=0.1 if n < 1000 else 0.4) for n in NS
             for eps in (0.05, 0.1, 0.2)]
    fig, axes, plt = _draw(insts)
    assert len(axes) == 2
    ax = axes[1]
    assert ax.get_xscale() == ax.get_yscale() == "log" and "varepsilon" in ax.get_ylabel()
    lines = ax.get_lines()
    assert len(lines) == 2 + len(READINGS)
    assert list(lines[0].get_ydata()) == [0.1, 0.1, 0.2, 0.2]    # largest ε that works per n
    bounds = [c for c in ax.collections if c.get_label().startswith("a lower bound")]
    assert len(bounds) == 1 and len(bounds[0].get_offsets()) == 2   # 0.2 is the largest tried
    plt.close(fig)


def test_exponent_label_says_when_there_is_no_interval():
    assert exponent_label(fit_power_law([1, 2], [1, 2])) == "b = 1.00 (2 points, no interval)"
    assert "no fit" in exponent_label(fit_power_law([], []))


def test_searches_of_other_settings_in_the_same_folder_are_not_drawn_on_one_line():
    """Two width-searches into one --out (600 steps at n = 250, 500, then 2000 steps at
    n = 1000, 2000): width_search.json keeps both, and the figure drew all four n on one line,
    its exponent fitted across the two settings. It draws the latest search's instances only
    and says how many it left out."""
    old = [{**r, "config": {**r["config"], "steps": 600}} for r in (_instance(n, 0.05) for n in NS[:2])]
    new = [{**r, "config": {**r["config"], "steps": 2000}} for r in (_instance(n, 0.05) for n in NS[2:])]
    fig, axes, plt = _draw(old + new)
    assert list(axes[0].get_lines()[0].get_xdata()) == list(NS[2:])
    assert "2 instance(s) of other settings" in fig._suptitle.get_text()
    assert "steps=2000" in fig._suptitle.get_text()
    plt.close(fig)
    fig, axes, plt = _draw(new)                            # one setting: nothing left out
    assert fig._suptitle is None
    plt.close(fig)
