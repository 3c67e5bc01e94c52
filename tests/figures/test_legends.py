"""Legends that sit under the panels cover no data: their drawn box is below every axes box."""

import pytest

import numpy as np

from theorem_lab.figures import style
from theorem_lab.figures.air_modes_figure import build as air_modes_build
from theorem_lab.figures.cifar_figures import epochs_build
from theorem_lab.figures.generalization_figure import build as theorem2_build
from theorem_lab.figures.ntk_air_figure import build_figure2

PAIR = {"label": "Fashion-MNIST (synthetic 1x28x28)", "rate": 0.4, "seed": 0, "profile": "smoke",
        "runs": {m: {"summary": {"noise_realised_rate": 0.351}} for m in ("ce", "self-distill")},
        # CE climbs through the clean share 64.9 %, where the right panel's legend used to be
        "trajectories": {"ce": {"step": [1, 2, 3, 4], "test_acc": [0.1, 0.5, 0.7, 0.6],
                                "train_acc_noisy": [0.1, 0.4, 0.65, 0.9]},
                         "self-distill": {"step": [1, 2, 3, 4], "test_acc": [0.1, 0.6, 0.8, 0.85],
                                          "train_acc_noisy": [0.1, 0.3, 0.5, 0.6]}}}


def _group(act, n, method, T2, cap):
    return {"activation": act, "n": n, "method": method, "T2": T2, "capacity": cap,
            "steps": 2 * T2, "schedule": f"linear:end={T2},start=0" if method == "self-distill"
            else "constant:value=1", "test_mse": (1e-3 if method == "self-distill" else 0.4) * n / T2}


THEOREM2 = {"groups": [_group(a, n, m, T2, 0.3 + 0.1 * i + 0.2 * (T2 == 400))
                       for i, a in enumerate(("erf", "relu", "tanh")) for n in (50, 100)
                       for m in ("self-distill", "gd") for T2 in (100, 400)],
            "trends": [{"activation": a, "method": "self-distill", "test_mse_vs_n": [-0.1, 0.03],
                        "capacity_vs_T2": [0.2, 0.04]} for a in ("erf", "relu", "tanh")]}

# a sweep over --width: each setting is its own series, with labels twice as long
THEOREM2_SETTINGS = {"groups": [dict(_group("tanh", n, m, T2, 0.3 + 0.1 * i), setting=f"width={w}")
                                for i, w in enumerate((16, 32)) for n in (24, 48)
                                for m in ("self-distill", "gd") for T2 in (20, 40)],
                     "trends": [{"activation": "tanh", "method": m, "setting": f"width={w}",
                                 "test_mse_vs_n": [-0.7, 0.02], "capacity_vs_T2":
                                 [0.04, 0.01] if m == "self-distill" else None}
                                for w in (16, 32) for m in ("self-distill", "gd")]}

NTK_AIR = {"noise": [0.0, 0.1, 0.2, 0.3], "seeds": [0, 1], "profile": "smoke",
           "config": {"model": "resnet8", "dataset": "synthetic", "ntk_batch": 16},
           "figure2": {"init": {"mean": [0.55, 0.5, 0.5, 0.48], "std": [0.07, 0.08, 0.37, 0.17]},
                       "trained": {"mean": [0.69, 0.64, 0.7, 0.6], "std": [0.25, 0.17, 0.14, 0.12]}}}


_t = np.arange(0, 1501, 50)
_modes = [1, 5, 6, 100, 200]
_lam = np.geomspace(1.0, 1e-4, 200)
# air.json's 'modes' figure: panel (a)'s legend sat inside the panel, over modes 6-15's energies
AIR_MODES = {"n": 200, "seed": 0, "ntk": "empirical", "schedule": "linear:end=750,start=0",
             "K": 5, "rho": 0.3, "lr": 1.0, "lam": _lam.tolist(), "step": _t.tolist(),
             "energy_clean": np.geomspace(0.5, 1e-6, 200).tolist(),
             "energy_noisy": np.full(200, 5e-3).tolist(), "shown": _modes,
             **{key: [(np.exp(-_lam[m - 1] * _t) * scale).tolist() for m in _modes]
                for key, scale in (("gd_noisy", 1.0), ("gd_predicted", 1.0), ("sd_clean", 0.5),
                                   ("gd_clean", 0.8))}}


@pytest.mark.parametrize("build, data", [(epochs_build, PAIR), (theorem2_build, THEOREM2),
                                         (theorem2_build, THEOREM2_SETTINGS),
                                         (build_figure2, NTK_AIR), (air_modes_build, AIR_MODES)],
                         ids=["epochs", "theorem2", "theorem2_settings", "ntk_air_figure2",
                              "air_modes"])
def test_legends_sit_under_the_panels(build, data):
    with style.context() as plt:
        fig = build(plt, data)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
        assert legends
        for legend in legends:
            box = legend.get_window_extent(renderer)
            for ax in fig.axes:
                assert box.y1 <= ax.bbox.y0, "a legend overlaps a panel's data area"
                labels = ax.xaxis.get_tightbbox(renderer)
                assert not box.overlaps(labels), "a legend overlaps the x labels"
        boxes = [legend.get_window_extent(renderer) for legend in legends]
        for i, a in enumerate(boxes):       # side by side under two panels, they must not meet
            assert not any(a.overlaps(b) for b in boxes[i + 1:]), "two legends overlap"
        plt.close(fig)


def test_theorem2_capacity_lines_say_which_n_they_are():
    """Panel (b) draws one line per (activation, n) in the activation's colour: the n lines of
    one colour differ in line style, and the legend names each style's n."""
    with style.context() as plt:
        fig = theorem2_build(plt, THEOREM2)
        ax = fig.axes[1]
        drawn = [ln for ln in ax.get_lines() if len(ln.get_xdata())
                 and ln.get_color() != "0.5"]                      # not the ∝ T₂ reference
        for colour in {ln.get_color() for ln in drawn}:
            styles = [ln.get_linestyle() for ln in drawn if ln.get_color() == colour]
            assert len(styles) == 2 and len(set(styles)) == 2
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "$n = 50$" in labels and "$n = 100$" in labels
        (ref,) = [ln for ln in ax.get_lines() if ln.get_color() == "0.5"]
        dashes = lambda ln: ln._unscaled_dash_pattern    # noqa: E731 (get_linestyle says '--')
        assert dashes(ref) not in {dashes(ln) for ln in drawn}       # not an n's line style
        plt.close(fig)


def test_theorem2_axes_are_labelled_at_the_values_run():
    """n = 24, 48 and T₂ = 20, 40 span less than a decade: the log axes named none of them
    (their labels were 3×10¹, 4×10¹); now they carry a label at each value run."""
    with style.context() as plt:
        fig = theorem2_build(plt, THEOREM2_SETTINGS)
        fig.canvas.draw()
        ax_e, ax_c = fig.axes
        assert [t.get_text() for t in ax_e.get_xticklabels()] == ["24", "48"]
        assert [t.get_text() for t in ax_c.get_xticklabels()] == ["20", "40"]
        assert not [t for t in ax_e.get_xticklabels(minor=True) if t.get_text()]
        plt.close(fig)


def test_theorem2_test_error_keeps_each_number_of_steps_apart():
    """Panel (a) averaged the runs of every --steps at each n (they stop at other T₂); now each
    steps value is its own line (line style, named in the legend), and each schedule at one steps."""
    with style.context() as plt:
        fig = theorem2_build(plt, THEOREM2)
        ax = fig.axes[0]
        drawn = [ln for ln in ax.get_lines() if len(ln.get_xdata())]
        assert len(drawn) == 3 * 2 * 2                 # activations x methods x steps
        for ln in drawn:                               # each a line at one steps: its own values
            assert sorted(ln.get_ydata()) in ([1e-3 * n / T2 for n in (50, 100)]
                                              for T2 in (100, 400)) or \
                sorted(ln.get_ydata()) in ([0.4 * n / T2 for n in (50, 100)] for T2 in (100, 400))
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "steps = 200" in labels and "steps = 800" in labels
        assert sum("self-distill" in t for t in labels) == 3        # one entry per series
        two = dict(THEOREM2, groups=THEOREM2["groups"] + [dict(g, schedule="exp:rate=0.1")
                                                           for g in THEOREM2["groups"]
                                                           if g["method"] == "self-distill"])
        fig2 = theorem2_build(plt, two)
        labels = [t.get_text() for t in fig2.axes[0].get_legend().get_texts()]
        assert any("[exp:rate=0.1]" in t for t in labels)
        plt.close(fig), plt.close(fig2)
