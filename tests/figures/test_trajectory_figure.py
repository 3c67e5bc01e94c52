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


def _fake_sweep(points: list, sqrt_n_over_noise: float = 0.92):
    """(runs, trajectories) of a store holding self-distill and gd at each config in ``points``;
    every accuracy reaches 1.0 (test accuracy equal to training accuracy, as in the headline)."""
    runs, trajs = [], {}
    for i, point in enumerate(points):
        n = point["n"]
        for method in ("self-distill", "gd"):
            run_id = f"{method}-{i}"
            runs.append({"run_id": run_id, "method": method, "status": "finished",
                         "config": dict(point, method=method, seed=0, rho=0.3),
                         "summary": {"T1": 2.0, "T2": 30.0 if method == "self-distill" else None,
                                     "sqrt_n": n ** 0.5, "noise_l2": n ** 0.5 / sqrt_n_over_noise,
                                     "rho_observed": 0.3}})
            steps = list(range(0, 61, 5))
            fit = [n ** 0.5 * 0.3 ** (s / 10) for s in steps]
            ones = [0.5] + [1.0] * (len(steps) - 1)
            trajs[run_id] = {"step": steps, "l2_clean": fit, "l2_noisy": [f + 1 for f in fit],
                             "acc_clean": ones, "acc_noisy": [0.5] + [0.7] * (len(steps) - 1),
                             "test_acc": ones, "margin": [0.1] * len(steps)}
    return runs, trajs


THM2 = [{"n": n, "activation": a, "steps": s, "width": 128}
        for n in (50, 100, 200) for a in ("erf", "tanh", "relu") for s in (200, 800)]


def _row_titles(fig) -> list:
    return [ax.get_title(loc="left") for ax in fig.axes[0::3] if ax.get_visible()]


def test_eighteen_settings_make_three_pages_each_setting_on_one():
    runs, trajs = _fake_sweep(THM2)
    assert [len(p) for p in TF.page_keys(runs)] == [6, 6, 6]
    with style.context() as plt:
        figs = TF.build_pages(plt, runs, trajs)
        try:
            assert len(figs) == 3
            titles = [t for fig in figs for t in _row_titles(fig)]
            heads = [fig.legends[0].get_title().get_text() for fig in figs]
        finally:
            for fig in figs:
                plt.close(fig)
    expected = {f"activation={p['activation']}, n={p['n']}, steps={p['steps']}" for p in THM2}
    assert len(titles) == 18 and set(titles) == expected          # every setting exactly once
    assert heads[0] == ("settings 1–6 of 18 (page 1 of 3); the rest in trajectories-2.png, "
                        "trajectories-3.png")
    assert heads[2].startswith("settings 13–18 of 18 (page 3 of 3); the others in trajectories.png")


def test_pages_are_saved_and_listed(tmp_path, monkeypatch):
    runs, trajs = _fake_sweep(THM2[:7])                               # 6 + 1
    monkeypatch.setattr(TF, "load", lambda store_dir, trajectories=True: (runs, trajs))
    paths = TF.trajectory_figure(tmp_path)
    names = ["trajectories.png", "trajectories.pdf", "trajectories-2.png", "trajectories-2.pdf"]
    assert [p.name for p in paths] == names and all(p.is_file() for p in paths)
    assert TF.page_paths(tmp_path) == [tmp_path / "trajectories.png", tmp_path / "trajectories-2.png"]
    assert TF.page_title(2, [6, 1]) == "setting 7 of 7 (page 2 of 2); the others in trajectories.png"
    assert TF.page_title(1, [5]) == ""                                # one page: no page title


def test_close_reference_levels_get_apart_and_inside_the_figure():
    """ρ = 0.3 as in the headline: √n and 2√#flipped 9 % apart; labels must not touch, and the
    long label must not run into the accuracy panel."""
    runs, trajs = _fake_sweep(THM2[:1])
    with style.context() as plt:
        fig = TF.build(plt, runs, trajs)
        renderer = fig.canvas.get_renderer()
        ax_r, ax_a = fig.axes[0], fig.axes[1]
        labels = [t for t in ax_r.texts if "sqrt" in t.get_text()]
        boxes = [t.get_window_extent(renderer) for t in labels]
        panel_b = ax_a.get_tightbbox(renderer)
        plt.close(fig)
    assert any("flipped" in t.get_text() for t in labels)
    for i in range(len(boxes)):
        assert not boxes[i].overlaps(panel_b)
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j])


def test_test_accuracy_is_visible_where_it_equals_train_accuracy(built):
    _, fig = built
    ax_a = fig.axes[1]
    dotted = [l for l in ax_a.get_lines() if l.get_linestyle() == ":" and len(l.get_xdata()) > 2]
    solid = [l for l in ax_a.get_lines() if l.get_linestyle() == "-" and len(l.get_xdata()) > 2]
    assert len(dotted) == 3 and all(l.get_marker() == "o" for l in dotted)
    assert min(l.get_zorder() for l in dotted) > max(l.get_zorder() for l in solid)
    starts = {l.get_markevery()[0] for l in dotted}
    assert len(starts) == 3                                           # staggered per method


def test_a_sweep_without_test_set_still_draws(tmp_path):
    runs, trajs = _fake_sweep(THM2[:1])
    for t in trajs.values():
        t["test_acc"] = [None] * len(t["step"])            # --n-test 0: no test accuracy
    with style.context() as plt:
        fig = TF.build(plt, runs, trajs)
        style.save(fig, tmp_path / "t", formats=("png",))
    assert (tmp_path / "t.png").stat().st_size > 0
