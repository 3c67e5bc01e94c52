"""The trajectory figure, inspected as matplotlib objects (not only that a file appeared)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theorem_lab.figures import style
from theorem_lab.figures import trajectory_figure as TF


@pytest.fixture
def built(small_sweep):
    """(runs, figure) of the small sweep, drawn inside the style context and closed after."""
    runs, trajs = TF.load(small_sweep)
    with style.context() as plt:
        fig = TF.build(plt, runs, trajs)
        yield runs, fig
        plt.close(fig)


def test_one_row_of_three_panels_per_setting(built):
    runs, fig = built
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 6                                   # 2 settings × 3 panels
    titles = [ax.get_title(loc="left") for ax in axes[::3]]
    assert titles == ["ρ=0.1", "ρ=0.25"]
    for ax_r, ax_a, ax_m in zip(axes[0::3], axes[1::3], axes[2::3]):
        assert ax_r.get_yscale() == "log" and "ell_2" in ax_r.get_ylabel()
        assert ax_a.get_ylim()[1] <= 1.05 and ax_a.get_ylabel() == "accuracy"
        assert "min" in ax_m.get_ylabel()
        # 3 methods × 2 residual curves; 3 × 3 accuracy curves; 3 margins
        assert sum(1 for l in ax_r.get_lines() if len(l.get_xdata()) > 2) == 6
        assert sum(1 for l in ax_a.get_lines() if len(l.get_xdata()) > 2) == 9
        assert sum(1 for l in ax_m.get_lines() if len(l.get_xdata()) > 2) == 3
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    for label in style.METHOD_LABELS.values():
        assert label in legend
    assert any("T_1" in t for t in legend) and any("T_2" in t for t in legend)


def test_T2_and_T1_are_marked_at_their_stored_steps(built):
    runs, fig = built
    sd = [r for r in runs if r["method"] == "self-distill" and r["config"]["rho"] == 0.1]
    T2 = np.mean([r["summary"]["T2"] for r in sd])
    ax_r = fig.axes[0]
    vlines = [l for l in ax_r.get_lines() if list(l.get_xdata()) == [T2, T2]]
    assert vlines, "no T2 line at the stored T2"
    T1 = np.mean([r["summary"]["T1"] for r in sd])
    tri = [l for l in ax_r.get_lines() if l.get_marker() == "^"]
    assert any(np.isclose(l.get_xdata()[0], T1) for l in tri)
    assert len(tri) == 3                                   # one per method


def test_reference_labels_do_not_collide(built):
    runs, fig = built
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes[0::3]:
        boxes = [t.get_window_extent(renderer) for t in ax.texts if "sqrt" in t.get_text()]
        assert len(boxes) == 3                              # √n, 2ρ√n, 2√#flip
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert not boxes[i].overlaps(boxes[j])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=6), st.floats(0.01, 0.15))
def test_spread_keeps_order_and_gap(positions, gap):
    out = TF.spread(positions, gap)
    order = np.argsort(positions, kind="stable")
    p = np.asarray(out)[order]
    assert np.all(np.diff(p) >= gap - 1e-12)
    if gap * (len(p) - 1) <= 1.0:
        assert p[0] >= -1e-12 and p[-1] <= 1 + 1e-12
    untouched = [x for x, y in zip(positions, out) if abs(x - y) < 1e-12]
    if len(positions) == 1:
        assert untouched == positions                         # nothing to avoid: unchanged
