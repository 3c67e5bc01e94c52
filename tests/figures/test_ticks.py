"""Tick labels at the values run (``style.ticks_at``) do not print on top of each other."""

import pytest

from theorem_lab.figures import style
from theorem_lab.figures.generalization_figure import build as theorem2_build


def _group(n, method, T2):
    return {"activation": "tanh", "n": n, "method": method, "T2": T2, "capacity": 0.3 + n / 1000,
            "steps": 800, "schedule": f"linear:end={T2},start=0" if method == "self-distill"
            else "constant:value=1", "test_mse": 1e-3 if method == "self-distill" else 0.4}


# the Theorem 2 sweep of the README (--steps 200,800): the linear schedule's T₂ is the last step
# with α_t ≥ 1/(24√n), 398 at n = 50 and 399 at n = 100 and 200
RESULT = {"groups": [_group(n, m, T2) for n, T2 in ((50, 100), (100, 100), (50, 398), (100, 399),
                                                    (200, 399)) for m in ("self-distill", "gd")],
          "trends": []}


def _label_boxes(fig, ax):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(renderer)) for t in ax.get_xticklabels()
            if t.get_visible() and t.get_text()]


def test_theorem2_T2_ticks_do_not_overprint():
    with style.context() as plt:
        fig = theorem2_build(plt, RESULT)
        boxes = _label_boxes(fig, fig.axes[1])
        texts = [t for t, _ in boxes]
        assert texts == ["100", "398–399"], texts
        for i, (a, box_a) in enumerate(boxes):
            for b, box_b in boxes[i + 1:]:
                assert not box_a.overlaps(box_b), (a, b)
        plt.close(fig)


@pytest.mark.parametrize("values, labels", [([64, 256, 1024, 4096], ["64", "256", "1024", "4096"]),
                                            ([100, 398, 399], ["100", "398–399"]),
                                            ([250, 500, 1000, 2000], ["250", "500", "1000", "2000"])])
def test_ticks_at_merges_only_values_that_would_meet(values, labels):
    with style.context() as plt:
        fig, ax = plt.subplots()
        ax.plot(values, values)
        ax.set_xscale("log")
        style.ticks_at(ax.xaxis, values, most=len(values))
        assert [t for t, _ in _label_boxes(fig, ax)] == labels
        plt.close(fig)
