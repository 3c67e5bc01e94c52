"""A small stored sweep shared by the figure tests (built once per session, ~5 s)."""

import pytest

from theorem_lab.cli import main

TINY = ["--n", "40", "--clusters", "4", "--dim", "6", "--width", "32", "--steps", "60",
        "--n-test", "20", "--log-every", "5"]


@pytest.fixture(scope="session")
def small_sweep(tmp_path_factory):
    """Two settings (ρ = 0.1, 0.25) × three methods × two seeds, stored without a figure."""
    run = tmp_path_factory.mktemp("figs") / "sweep"
    assert main(["sweep", *TINY, "--rho", "0.1,0.25", "--seeds", "2", "--workers", "1",
                 "--out", str(run), "--no-figure"]) == 0
    return run
