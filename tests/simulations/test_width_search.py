"""`theorem-lab width-search`: empirical width vs Theorem 1's width, on a tiny instance."""

import json
import math

import pytest

from theorem_lab.simulations.width_search import WidthSearch, search
from theorem_lab.cli import main

TINY = dict(n=40, K=4, d=8, eps=0.05, rho=0.3, steps=300, k_min=2, k_max=16, seeds=2)


def test_search_table_and_empirical_width():
    res = search(WidthSearch(**TINY))
    assert [r["width"] for r in res["rows"]] == [2, 4, 8, 16]
    assert res["threshold"] == pytest.approx(0.1 * math.sqrt(40))
    for r in res["rows"]:
        assert len(r["l2_clean"]) == 2
        assert r["success"] == all(e <= res["threshold"] for e in r["l2_clean"])
    # the empirical width is the start of the final run of successes
    tail = [r["width"] for r in res["rows"]]
    if res["empirical_width"] is not None:
        i = tail.index(res["empirical_width"])
        assert all(r["success"] for r in res["rows"][i:])
        assert i == 0 or not res["rows"][i - 1]["success"]
    assert res["theorem_width"] > TINY["k_max"]          # vacuous by many orders of magnitude


def test_cli_json_and_bad_input(capsys):
    argv = ["width-search", "--n", "40", "--clusters", "4", "--dim", "8", "--steps", "100",
            "--k-max", "4", "--seeds", "1"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["width"] for r in out["rows"]] == [2, 4]
    for bad, name in ((["--k-min", "3"], "'k_min'"), (["--k-max", "0"], "'k_max'"),
                      (["--k-min", "8", "--k-max", "4"], "'k_max'"), (["--fraction", "0"], "'fraction'"),
                      (["--schedule", "cosine"], "'schedule'")):
        assert main([*argv, *bad]) == 2
        err = capsys.readouterr().err
        assert name in err and err.count("\n") == 1
