"""`theorem-lab report` and `theorem-lab figures`: built from a stored sweep only."""

import base64
import re

from theorem_lab.cli import main
from theorem_lab.figures.report import findings

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
    assert "(trajectories.png)" in text
    assert "1 seed(s) each; one seed: no spread." in text     # not "mean ± sample sd over seeds"
    assert "## Findings on Theorem 1" in text and "| I-8 |" in text and "| I-9 |" in text
    assert "## Environment" in text and "numpy" in text
    other = tmp_path / "elsewhere" / "r.md"
    other.parent.mkdir()
    assert main(["report", str(run), "--out", str(other)]) == 0
    assert "../sweep/trajectories.png" in other.read_text()
    assert (other.parent / "r.html").exists()


def test_html_report_is_standalone_and_its_images_decode(tmp_path, capsys):
    run = tmp_path / "sweep"
    assert main(["sweep", *TINY, "--out", str(run), "--no-figure"]) == 0
    assert main(["report", str(run)]) == 0                # draws the missing figure itself
    page = (run / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and 'name="viewport"' in page
    assert "http://" not in page and "https://" not in page             # no network needed
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    md_images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (run / "report.md").read_text())
    assert len(images) == len(md_images) >= 1
    for data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    assert page.count("<table>") == 2 + 1                 # two cells + the findings
    assert "<strong>Verdict.</strong>" in page


def test_findings_list_every_issue_with_its_whole_verdict():
    found = findings()
    assert [f[0] for f in found] == [f"I-{i}" for i in range(1, 24)]     # none left out
    assert {sev for _, sev, _ in found} <= {"minor", "major", "critical"}
    verdicts = dict((issue, verdict) for issue, _, verdict in found)
    assert verdicts["I-1"].endswith("radius ≥ 208")                        # not cut short
    assert "80 only under B" in verdicts["I-11"]


def test_report_says_why_runs_did_not_finish(tmp_path, capsys):
    run = tmp_path / "unstable"
    main(["sweep", "--n", "40", "--clusters", "4", "--dim", "6", "--width", "32", "--steps", "30",
          "--methods", "gd", "--lr", "1000", "--no-figure", "--out", str(run)])
    printed = capsys.readouterr().out
    assert main(["report", str(run)]) == 0
    text = (run / "report.md").read_text()
    why = re.search(r"gd failed: (unstable: .*)", printed).group(1)
    assert f"**gd did not finish:** {why}" in text                     # the sweep's own words

def test_report_needs_a_sweep_directory(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'RUN' parameter of report" in err and err.count("\n") == 1



def test_report_of_an_unfinished_sweep_says_to_rerun_it(tmp_path, capsys):
    """An interrupted sweep leaves its store but no summary.json: the message says why and what
    to do, not that the directory is not a sweep's."""
    from theorem_lab.simulations.store import ResultStore
    ResultStore(tmp_path / "cut").close()
    assert main(["report", str(tmp_path / "cut")]) == 2
    err = capsys.readouterr().err
    assert "interrupted or is still running" in err and "re-run the same sweep command" in err
    assert err.count("\n") == 1

def test_figures_redraws_from_the_store(tmp_path, capsys):
    run = tmp_path / "sweep"
    assert main(["sweep", *TINY, "--out", str(run), "--no-figure"]) == 0
    assert not (run / "trajectories.png").exists()
    assert main(["figures", str(run)]) == 0
    assert (run / "trajectories.png").stat().st_size > 0 and (run / "trajectories.pdf").exists()
    assert not (run / "phase.png").exists()              # only ρ varies: no heat map applies
    first = (run / "trajectories.png").read_bytes()
    assert main(["figures", str(run)]) == 0
    assert (run / "trajectories.png").read_bytes() == first          # deterministic
    assert main(["figures", str(run), "--which", "trajectories", "--out", str(tmp_path / "fig"),
                 "--format", "svg"]) == 0
    assert (tmp_path / "fig.svg").exists() and not (tmp_path / "fig.png").exists()
    assert main(["figures", str(run), "--out", str(tmp_path / "figdir") + "/"]) == 0
    assert (tmp_path / "figdir" / "trajectories.png").exists()           # DIR/ is a directory
    assert not (tmp_path / "figdir.png").exists()
    capsys.readouterr()
    assert main(["figures", str(tmp_path / "nothing")]) == 2
    assert "'RUN' parameter of figures" in capsys.readouterr().err
    for bad in (["--which", "trajectories,nope"], ["--which", "phase,phase"], ["--format", "gif"]):
        assert main(["figures", str(run), *bad]) == 2
        err = capsys.readouterr().err
        assert f"'{bad[0]}' parameter of figures" in err and err.count("\n") == 1


def test_report_of_two_seeds_says_mean_and_sd(tmp_path, small_sweep, capsys):
    assert main(["report", str(small_sweep), "--out", str(tmp_path / "r.md")]) == 0
    assert "2 seed(s) each; mean ± sample sd over seeds." in (tmp_path / "r.md").read_text()


def test_report_includes_width_search_and_check_figures_found_under_run(tmp_path, small_sweep, capsys):
    import json
    import shutil

    from tests.figures.test_slack_figure import _samples
    from tests.figures.test_vacuity_figure import NS, _instance
    run = tmp_path / "run"
    shutil.copytree(small_sweep, run)
    (run / "ws").mkdir()
    (run / "ws" / "width_search.json").write_text(json.dumps(
        {"instances": [_instance(n, 0.05) for n in NS]}))
    (run / "check").mkdir()
    (run / "check" / "violations.json").write_text(json.dumps({"records": [], "samples": _samples()}))
    (run / "other").mkdir()                                   # a folder without results: ignored
    assert main(["report", str(run)]) == 0
    text = (run / "report.md").read_text()
    assert "(ws/vacuity.png)" in text and "(check/slack.png)" in text
    page = (run / "report.html").read_text()
    assert page.count("<figure>") == text.count("![")


def test_report_includes_an_air_run_under_run_and_redraws_its_modes(tmp_path, small_sweep):
    import shutil
    run = tmp_path / "run"
    shutil.copytree(small_sweep, run)
    assert main(["air", "--n", "40", "--clusters", "2", "--dim", "5", "--width", "32", "--seeds", "1",
                 "--iterations", "20", "--every", "10", "--figure", "2,modes",
                 "--out", str(run / "air")]) == 0
    (run / "air" / "air_modes.png").unlink()                  # redrawn from air.json
    assert main(["report", str(run)]) == 0
    text = (run / "report.md").read_text()
    assert "(air/air_figure2.png)" in text and "(air/air_modes.png)" in text
    assert "air_figure5" not in text                          # not computed: not claimed
    assert (run / "air" / "air_modes.png").stat().st_size > 0


def test_every_page_of_the_trajectory_figure_is_printed_drawn_and_reported(tmp_path, capsys):
    """Seven settings: six on trajectories.png, the seventh on trajectories-2.png; the sweep, the
    figures command and the report name both pages."""
    run = tmp_path / "sweep"
    seven = [*TINY[:-1], "0.05,0.1,0.15,0.2,0.25,0.3,0.35"]          # TINY's --rho, seven values
    assert main(["sweep", *seven, "--methods", "gd", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"{run}/trajectories.png, {run}/trajectories-2.png" in out
    assert (run / "trajectories-2.png").stat().st_size > 0
    assert main(["figures", str(run), "--which", "trajectories", "--out", str(tmp_path / "fig"),
                 "--format", "png"]) == 0
    assert "fig.png" in (err := capsys.readouterr().err) and "fig-2.png" in err
    assert (tmp_path / "fig-2.png").exists() and not (tmp_path / "fig-3.png").exists()
    (run / "trajectories-2.png").unlink()                             # the report redraws it
    assert main(["report", str(run)]) == 0
    text = (run / "report.md").read_text()
    assert "(trajectories.png)" in text and "(trajectories-2.png)" in text
    assert "(page 2 of 2)" in text
    assert (run / "report.html").read_text().count("<figure>") == text.count("![")
