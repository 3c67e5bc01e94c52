"""T₁ observed vs the theorem's T₁: built from a stored sweep, its matplotlib objects inspected."""

import json
import shutil

import numpy as np
import pytest

from theorem_lab.cli import main
from theorem_lab.figures import style
from theorem_lab.figures import t1_figure as T


@pytest.fixture(scope="module")
def stored(small_sweep):
    return T.load(small_sweep)


def test_points_hold_the_stored_theorem_T1_and_rescaled_observations(stored):
    runs, cells = stored
    pts = T.points(runs, cells)
    assert len(pts) == 2                                         # ρ = 0.1, 0.25
    hyp = {c["label"]: c["hypotheses"] for c in cells}
    for r in runs:
        if r["method"] != "self-distill":
            continue
        pt = next(p for p in pts if p["config"]["rho"] == r["config"]["rho"])
        assert pt["theorem"] == hyp[r["cell"]]["T1_theorem"]
        want = r["summary"]["T1"] * r["summary"]["lr"] / hyp[r["cell"]]["eta_theorem"]
        assert want in pt["observed"]["self-distill"]
    assert set(pts[0]["theorem"]) == {"printed (Λ)", "printed (λ(C)) = B", "derived A", "derived A′"}
    # reading B is the appendix's printed form, and A is 64/80 of it (I-11)
    p = pts[0]["theorem"]
    assert p["derived A"] == pytest.approx(0.8 * p["printed (λ(C)) = B"], rel=1e-12)


def test_the_figure_has_every_reading_both_methods_and_the_gap_factors(stored):
    runs, cells = stored
    with style.context() as plt:
        fig = T.build(plt, runs, cells)
        (ax,) = fig.axes                                        # only ρ varies: one panel
        labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
        assert sum(lab.startswith("theorem, ") for lab in labels) == 4
        assert ax.get_yscale() == "log"
        assert ax.get_xlabel() == style.LABELS["rho"]
        # observed self-distillation: one errorbar line through the two ρ values
        obs = [c for c in ax.containers if c.get_label().startswith("observed, self-distillation")]
        assert len(obs) == 1 and list(obs[0].lines[0].get_xdata()) == [0.1, 0.25]
        pts = sorted(T.points(runs, cells), key=lambda q: q["config"]["rho"])
        want = sorted(T.gap_text(g) for g in T.gaps(pts[-1]).values())
        assert sorted(t.get_text() for t in ax.texts) == want
        y = [t.xyann[1] if hasattr(t, "xyann") else t.get_position()[1] for t in ax.texts]
        assert min(np.diff(sorted(y))) >= 0.09 - 1e-12              # labels do not overlap
        plt.close(fig)


def test_gap_text_uses_powers_of_ten_for_large_factors():
    assert T.gap_text(412.0) == r"$\times412$"
    assert T.gap_text(5.1e9) == r"$\times5.1\cdot10^{9}$"
    assert T.gap_text(float("nan")) == "—"


def test_no_figure_without_a_varying_field_or_a_stored_theorem_T1(stored):
    runs, cells = stored
    one = [r for r in runs if r["config"]["rho"] == 0.1]
    with style.context() as plt:
        assert T.build(plt, one, cells) is None
        old = [{**c, "hypotheses": {k: v for k, v in c["hypotheses"].items() if k != "T1_theorem"}}
               for c in cells]
        assert T.build(plt, runs, old) is None


def test_a_sweep_draws_it_and_figures_redraws_it(small_sweep, tmp_path):
    from .conftest import TINY
    run = tmp_path / "sweep"
    shutil.copytree(small_sweep, run)
    assert main(["sweep", *TINY, "--rho", "0.1,0.25", "--seeds", "2", "--workers", "1",
                 "--out", str(run)]) == 0                       # runs reused; figures drawn
    assert (run / "t1.png").is_file() and (run / "trajectories.png").is_file()
    assert str(run / "t1.png") in json.loads((run / "summary.json").read_text())["figure"]
    assert main(["figures", str(run), "--which", "t1", "--format", "svg",
                 "--out", str(tmp_path / "t")]) == 0
    assert (tmp_path / "t.svg").stat().st_size > 0


def test_a_point_where_T1_was_never_reached_is_marked_not_dropped(stored):
    runs, cells = stored
    never = [{**r, "summary": {**r["summary"], "T1": None}} if r["config"]["rho"] == 0.25
             and r["method"] == "self-distill" else r for r in runs]
    with style.context() as plt:
        fig = T.build(plt, never, cells)
        (ax,) = fig.axes
        marks = [ln for ln in ax.get_lines() if ln.get_label().endswith("T₁ not reached")]
        assert len(marks) == 1 and list(marks[0].get_xdata()) == [0.25]
        assert list(marks[0].get_ydata()) == [0.0]                      # axes fraction: the bottom
        assert marks[0].get_transform() == ax.get_xaxis_transform()
        assert "—" in [t.get_text() for t in ax.texts]                  # no gap factor there
        plt.close(fig)
