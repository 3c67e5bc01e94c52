"""`theorem-lab width-search`: empirical width vs Theorem 1's width, on a tiny instance."""

import json
import math

import pytest

from theorem_lab.simulations.width_search import WidthSearch, search
from theorem_lab.cli import main

TINY = dict(n=40, K=4, d=8, eps=0.05, rho=0.3, steps=300, k_min=2, k_max=16, seeds=2)


def test_search_table_on_a_real_run():
    res = search(WidthSearch(**TINY))
    assert [r["width"] for r in res["rows"]] == [2, 4, 8, 16]
    assert res["threshold"] == pytest.approx(0.1 * math.sqrt(40))
    assert all(len(r["l2_clean"]) == 2 and all(e >= 0 for e in r["l2_clean"]) for r in res["rows"])
    assert res["theorem_width"] > TINY["k_max"]          # vacuous by many orders of magnitude


@pytest.mark.parametrize("pattern, expected", [
    ({2: 1.0, 4: 1.0, 8: 1.0, 16: 1.0}, 2),          # every width works
    ({2: 9.0, 4: 1.0, 8: 9.0, 16: 1.0}, 16),         # a failure at 8 resets the run of successes
    ({2: 9.0, 4: 9.0, 8: 1.0, 16: 1.0}, 8),
    ({2: 1.0, 4: 1.0, 8: 1.0, 16: 9.0}, None),       # the widest fails: no empirical width
])
def test_empirical_width_is_the_start_of_the_final_run_of_successes(monkeypatch, pattern, expected):
    """Fixed residuals per width (threshold 0.1·√40 ≈ 0.63 < 1.0 < fraction 0.5·√40 ≈ 3.2)."""

    class Traj:
        status = "finished"

        def __init__(self, k):
            self.final = {"l2_clean": pattern[k]}

    from theorem_lab.simulations import width_search as ws
    monkeypatch.setattr(ws, "train_many", lambda datas, nets, **kw: [Traj(net.k) for net in nets])
    res = search(WidthSearch(**{**TINY, "fraction": 0.5}))
    assert [r["success"] for r in res["rows"]] == [pattern[k] < 3 for k in (2, 4, 8, 16)]
    assert res["empirical_width"] == expected


def test_cli_json_and_bad_input(capsys):
    argv = ["width-search", "--n", "40", "--clusters", "4", "--dim", "8", "--steps", "100",
            "--k-max", "4", "--seeds", "1"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["width"] for r in out["rows"]] == [2, 4]
    for bad, name in ((["--k-min", "3"], "'--k-min'"), (["--k-max", "0"], "'--k-max'"),
                      (["--k-min", "8", "--k-max", "4"], "'--k-max'"), (["--fraction", "0"], "'--fraction'"),
                      (["--schedule", "cosine"], "'--schedule'")):
        assert main([*argv, *bad]) == 2
        err = capsys.readouterr().err
        assert name in err and err.count("\n") == 1
