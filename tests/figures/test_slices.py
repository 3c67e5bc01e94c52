"""The slice a panel holds: by value, not by text; fields that vary together keep runs."""

from theorem_lab.figures import slices
from theorem_lab.figures.t1_figure import _fixed


def _cfg(**kw):
    base = {"n": 40, "width": 64, "rho": 0.3, "activation": "tanh", "steps": 100,
            "schedule": "linear:end=50,start=0", "seed": 0}
    return dict(base, **kw)


def test_numbers_are_held_by_value_activations_theorem_first():
    configs = [_cfg(steps=s, schedule=f"linear:end={s // 2},start=0", activation=a, width=w, seed=i)
               for i, (s, a, w) in enumerate([(100, "relu", 64), (50, "tanh", 512), (400, "tanh", 64),
                                              (50, "relu", 512), (100, "tanh", 512)])]
    got = slices.held(configs, {"seed"})
    assert got["activation"] == "tanh"      # held first (fields in name order, schedule last)
    assert got["steps"] == 50               # among tanh's 50, 400, 100: text order took "100"
    left = [c for c in configs if all(c.get(k) == v for k, v in got.items())]
    assert [c["seed"] for c in left] == [1]     # the schedule went with its steps: a run is left
    relu = slices.held([c for c in configs if c["activation"] == "relu"], {"seed", "steps",
                                                                          "schedule"})
    assert relu == {"width": 512}           # width at its largest


def test_t1_figure_holds_the_smallest_steps_by_value():
    pts = [{"config": _cfg(steps=s, width=w, schedule="constant:value=1")} for s in (100, 50)
           for w in (64, 128)]
    assert _fixed(pts, "width") == {"steps": 50}
