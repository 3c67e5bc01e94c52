"""The Ray executor on a local 2-CPU Ray: same run_ids and numbers as the local executor."""

import json

import pytest

from simulations.store import ResultStore
from theorem_lab.cli import main

ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed")

TINY = ["--n", "40", "--clusters", "4", "--dim", "6", "--width", "32", "--steps", "30",
        "--n-test", "20", "--log-every", "5", "--seeds", "2", "--no-figure", "--json"]


def test_ray_matches_local(capsys, tmp_path):
    assert main(["sweep", *TINY, "--out", str(tmp_path / "local"), "--workers", "1"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(["sweep", *TINY, "--out", str(tmp_path / "ray"), "--executor", "ray",
                 "--workers", "2"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert not ray.is_initialized()                      # the sweep shut down the Ray it started
    by_id = {r["run_id"]: r for r in local["runs"]}
    assert set(by_id) == {r["run_id"] for r in remote["runs"]} and len(by_id) == 6
    for r in remote["runs"]:
        for k in ("l2_clean", "l2_noisy", "acc_clean", "margin", "dist_init", "step"):
            assert r["summary"][k] == pytest.approx(by_id[r["run_id"]]["summary"][k], rel=1e-9), k
    with ResultStore(tmp_path / "ray", readonly=True) as store:
        runs = store.runs()
        assert len(runs) == 6 and all(r["status"] == "finished" for r in runs)
        assert all(r["environment"]["threads"] == 1 for r in runs)
        pids = {r["environment"]["pid"] for r in runs}
    assert len(pids) >= 1 and all(isinstance(p, int) for p in pids)
