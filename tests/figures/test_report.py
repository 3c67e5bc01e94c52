"""`theorem-lab report`: a Markdown report built from a stored sweep only."""

from theorem_lab.cli import main

TINY = ["--n", "40", "--clusters", "4", "--dim", "6", "--width", "32", "--steps", "30",
        "--n-test", "20", "--log-every", "5", "--rho", "0.1,0.25"]


def test_report_from_a_stored_sweep(tmp_path, capsys):
    run = tmp_path / "sweep"
    assert main(["sweep", *TINY, "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["report", str(run)]) == 0
    text = (run / "report.md").read_text()
    assert text.count("## rho=") == 2                                  # one section per cell
    for method in ("self-distill", "gd", "early-stop"):
        assert text.count(f"| {method} | 1/1 |") == 2
    assert text.count("**Verdict.** Theorem 1's conclusion") == 2
    assert text.count("**Vacuity.** Theorem 1's hypotheses") == 2
    assert "![residuals along training](trajectories.png)" in text
    assert "## Environment" in text and "numpy" in text
    other = tmp_path / "elsewhere" / "r.md"
    other.parent.mkdir()
    assert main(["report", str(run), "--out", str(other)]) == 0
    assert "../sweep/trajectories.png" in other.read_text()


def test_report_needs_a_sweep_directory(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'RUN' parameter of report" in err and err.count("\n") == 1


def test_figures_redraws_from_the_store(tmp_path, capsys):
    run = tmp_path / "sweep"
    assert main(["sweep", *TINY, "--out", str(run), "--no-figure"]) == 0
    assert not (run / "trajectories.png").exists()
    assert main(["figures", str(run)]) == 0
    assert (run / "trajectories.png").stat().st_size > 0 and (run / "trajectories.pdf").exists()
    assert main(["figures", str(run), "--out", str(tmp_path / "fig")]) == 0
    assert (tmp_path / "fig.png").exists()
    capsys.readouterr()
    assert main(["figures", str(tmp_path / "nothing")]) == 2
    assert "'RUN' parameter of figures" in capsys.readouterr().err
