"""`theorem-lab lazy`: distance from W₀ and σ_min(J, S₊) across widths, and the k-exponent."""

import json

import numpy as np
import pytest

from theorem_lab.cli import main
from theorem_lab.figures import style
from theorem_lab.figures.lazy_figure import build
from theorem_lab.simulations.lazy import scaling


def _result(width, move):
    return {"width": width, "W0_norm": 1.0, "dist_init": [0.0, move], "sigma_min_S": [2.0, 1.5, 1.9]}


def test_scaling_fits_the_exponent_and_sigma_change():
    res = [_result(k, 3.0 * k ** -0.5) for k in (16, 64, 256)]
    s = scaling(res)
    assert s["exponent"] == pytest.approx(-0.5) and s["exponent_se"] < 1e-9
    assert s["sigma_change"] == [pytest.approx(0.25)] * 3


def test_command_runs_stores_and_draws(tmp_path, capsys):
    out = tmp_path / "lazy"
    assert main(["lazy", "--width", "8,32", "--n", "20", "--clusters", "2", "--dim", "5",
                 "--steps", "20", "--track-every", "5", "--out", str(out)]) == 0
    result = json.loads((out / "lazy.json").read_text())
    assert [r["width"] for r in result["widths"]] == [8, 32]
    for r in result["widths"]:
        assert r["tracked_step"] == [0.0, 5.0, 10.0, 15.0, 20.0]
        assert r["dist_init"][0] == 0 and r["dist_init"][-1] > 0
        assert r["W0_norm"] == pytest.approx(np.sqrt(r["width"] * 5), rel=0.5)
    assert "exponent" in result["scaling"]
    assert (out / "lazy.png").exists()
    text = capsys.readouterr().out
    assert "k^s" in text and "−1/2" in text
    with style.context() as plt:
        fig = build(plt, result)
        ax_d, ax_s, ax_k = fig.axes
        assert len(ax_d.get_lines()) == 2 and ax_k.get_xscale() == "log"
        assert any("k^{-1/2}" in l.get_label() for l in ax_k.get_lines())
        fig.canvas.draw()            # (c) is labelled at the widths run, no crowded minor labels
        assert [t.get_text() for t in ax_k.get_xticklabels()] == ["8", "32"]
        assert not [t for t in ax_k.get_xticklabels(minor=True) if t.get_text()]
        plt.close(fig)


@pytest.mark.parametrize("width", ["8", "8,8", "8,x", "8,7", ""])
def test_bad_widths_exit_2(width, tmp_path, capsys):
    assert main(["lazy", "--width", width, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'--width' parameter of lazy" in err and err.count("\n") == 1
