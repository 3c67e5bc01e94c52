"""The phase diagram: cells from the store, the fitted ε²T₂ boundary, panels that apply."""

import math

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
        assert len(contour) == 1 and "0 of 16 cells off" in contour[0].get_label()
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        plt.close(fig)
        assert PF.build(plt, [_run(0.1, 100, 1.0)]) is None
