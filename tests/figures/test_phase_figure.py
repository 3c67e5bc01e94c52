"""The phase diagram: cells from the store, the fitted ε²T₂ boundary, panels that apply."""

import math

import pytest

from hypothesis import given
from hypothesis import strategies as st

from theorem_lab.figures import phase_figure as PF
from theorem_lab.figures import style


def _run(eps, T2, l2, width=64, rho=0.2, method="self-distill", seed=0):
    return {"method": method, "status": "finished",
            "config": {"eps": eps, "width": width, "rho": rho, "seed": seed},
            "summary": {"T2": T2, "l2_clean": l2, "sqrt_n": 10.0}}


def _grid_runs(c_true):
    """Runs that converge exactly when ε²T₂ ≤ c_true."""
    return [_run(e, t, 0.3 if e * e * t <= c_true else 5.0)
            for e in (0.05, 0.1, 0.2, 0.4) for t in (100, 300, 1000, 3000)]


def test_fit_recovers_a_planted_boundary():
    runs = _grid_runs(30.0)
    c, wrong = PF.fit_boundary(PF.cells(runs, "T2", "eps"))
    assert wrong == 0
    converged = [e * e * t for e in (0.05, 0.1, 0.2, 0.4) for t in (100, 300, 1000, 3000) if e * e * t <= 30]
    failed = [e * e * t for e in (0.05, 0.1, 0.2, 0.4) for t in (100, 300, 1000, 3000) if e * e * t > 30]
    assert max(converged) <= c < min(failed)


@given(st.floats(1.0, 200.0))
def test_fit_never_misclassifies_a_separable_grid(c_true):
    c, wrong = PF.fit_boundary(PF.cells(_grid_runs(c_true), "T2", "eps"))
    assert wrong == 0 and math.isfinite(c)


def test_cells_average_seeds_and_skip_other_methods():
    runs = [_run(0.1, 100, 1.0, seed=0), _run(0.1, 100, 3.0, seed=1), _run(0.1, 100, 9.0, method="gd")]
    assert PF.cells(runs, "T2", "eps") == {(100.0, 0.1): [0.1, 0.3]}


def test_panels_only_where_both_fields_vary():
    assert PF.panels_for([_run(0.1, 100, 1.0), _run(0.1, 300, 1.0)]) == []
    assert PF.panels_for(_grid_runs(30)) == [("T2", "eps")]
    both = _grid_runs(30) + [_run(0.1, 100, 1.0, width=w, rho=r) for w in (32, 128) for r in (0.1, 0.3)]
    assert PF.panels_for(both) == [("T2", "eps"), ("width", "rho")]


def test_figure_draws_cells_and_the_contour():
    with style.context() as plt:
        fig = PF.build(plt, _grid_runs(30.0))
        ax = fig.axes[0]
        assert len(ax.texts) == 16                                    # one value per cell
        contour = [l for l in ax.get_lines() if "varepsilon^2T_2" in l.get_label()]
        assert len(contour) == 1 and "(0 of 16 cells on the wrong side of it)" in contour[0].get_label()
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        legend = ax.get_legend()                                       # under the axes: it
        assert legend.get_window_extent(fig.canvas.get_renderer()).y1 <= ax.bbox.y0   # hides no cell
        plt.close(fig)
        assert PF.build(plt, [_run(0.1, 100, 1.0)]) is None


def _cfg_run(l2, T2=100, **cfg):
    base = {"eps": 0.1, "width": 64, "rho": 0.2, "seed": 0, "activation": "tanh", "steps": 200,
            "schedule": "linear:end=100,start=0"}
    return {"method": "self-distill", "status": "finished", "config": {**base, **cfg},
            "summary": {"T2": T2, "l2_clean": l2, "sqrt_n": 10.0}}


def test_cells_keep_other_swept_settings_apart():
    """A sweep over ε, steps (so T₂) and the activation: each (T₂, ε) cell is one activation's
    mean over seeds, not tanh and relu pooled, and the panel's title names the activation."""
    runs = [_cfg_run(l2 + (4.0 if act == "relu" else 0.0) + 0.1 * seed, T2=steps // 2, eps=eps,
                     steps=steps, schedule=f"linear:end={steps // 2},start=0", activation=act,
                     seed=seed)
            for eps in (0.05, 0.4) for steps, l2 in ((100, 0.2), (400, 0.6))
            for act in ("relu", "tanh") for seed in (0, 1)]
    fixed = PF.held(runs, "T2", "eps")
    assert fixed == {"activation": "tanh"}                    # steps/schedule set T₂: free
    grid = PF.cells(runs, "T2", "eps", fixed)
    assert grid[(200.0, 0.4)] == pytest.approx([0.06, 0.07])  # tanh's two seeds only
    with style.context() as plt:
        fig = PF.build(plt, runs)
        ax = fig.axes[0]
        values = sorted(t.get_text() for t in ax.texts if "cells" not in t.get_text())
        assert values == ["0.025", "0.025", "0.065", "0.065"]             # pooled with relu: ≈ 0.23, 0.27
        assert "activation=tanh" in ax.get_title()
        plt.close(fig)


def test_width_rho_panel_holds_steps_and_their_schedule_together():
    """steps and the resolved schedule vary together: the held slice is one that has runs."""
    runs = [_cfg_run(0.5 + 0.01 * steps, width=w, rho=r, steps=steps,
                     schedule=f"linear:end={steps // 2},start=0")
            for w in (32, 128) for r in (0.1, 0.3) for steps in (100, 300)]
    fixed = PF.held(runs, "width", "rho")
    assert fixed == {"steps": 100}
    grid = PF.cells(runs, "width", "rho", fixed)
    assert len(grid) == 4 and all(v == pytest.approx([0.15]) for v in grid.values())
