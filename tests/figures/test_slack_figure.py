"""`check` stores every sample; the lemma-slack figure is drawn from them (and redrawn)."""

import json
import math

from theorem_lab.cli import main
from theorem_lab.figures import style
from matplotlib.colors import to_hex

from theorem_lab.figures.slack_figure import COUNTEREXAMPLE, NOT_COUNTEREXAMPLE, build
from theorem_lab.proofs_check.check import refuting_findings


def _samples():
    rows = []
    for i, (lhs, rhs) in enumerate(((1.0, 4.0), (3.0, 2.0), (0.0, 1.0))):
        rows.append({"lemma": "2", "statement": "I-2 c_up<=1", "kind": "claim", "sample": i,
                     "lhs": lhs, "rhs": rhs, "ratio": lhs / rhs, "holds": lhs <= rhs, "config": i})
        rows.append({"lemma": "2", "statement": "L2-i", "kind": "claim", "sample": i,
                     "lhs": 1e-3 * (i + 1), "rhs": 1.0, "ratio": 1e-3 * (i + 1), "holds": True,
                     "config": i})
        rows.append({"lemma": "8", "statement": "hyp: L8-H2 k", "kind": "hyp", "sample": i,
                     "lhs": 5.0, "rhs": 1.0, "ratio": None if i == 2 else 5.0, "holds": False,
                     "config": i})
    return {"format": "theorem-lab-check-samples/1", "samples": 3, "seed": 0,
            "configs": [{}] * 3, "rows": rows}


def test_slack_figure_marks_ratio_one_violations_and_findings():
    with style.context() as plt:
        fig = build(plt, _samples(), findings={("2", "I-2 c_up<=1"): ["I-2"]})
        ax = fig.axes[0]
        assert ax.get_xscale() == "log"
        assert [t.get_text() for t in ax.get_yticklabels()] == [
            "2: I-2 c_up<=1", "2: L2-i", "8: hyp: L8-H2 k"]
        ones = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [1.0, 1.0]]
        assert len(ones) == 1                                     # the ratio = 1 line
        at = {tuple(tuple(o) for o in c.get_offsets()): c for c in ax.collections}
        cross = at[((1.5, 0),)]                                   # the violation 3/2 of I-2
        assert to_hex(cross.get_facecolor()[0]) == COUNTEREXAMPLE.lower()
        lo, hi = ax.get_xlim()
        hollow = at[((5.0, 2), (5.0, 2), (hi, 2))]                # a hypothesis row's failures
        assert hollow.get_facecolor().size == 0
        assert to_hex(hollow.get_edgecolor()[0]) == NOT_COUNTEREXAMPLE.lower()
        assert lo < 1e-3 and hi > 5                               # every finite ratio in range
        edge = [tuple(o) for c in ax.collections for o in c.get_offsets()]
        assert (lo, 0) in edge and (hi, 2) in edge                # ratio 0 and ∞ at the ends
        texts = [t.get_text() for t in ax.texts]
        assert texts == ["I-2"]                                   # on the statement it refutes
        plt.close(fig)


def test_finding_id_clears_the_axis_end_marker():
    """A refuted statement whose ratio is ∞ (lhs > 0 = rhs) has its ▶ at the axis end; its finding
    id was drawn 1 % of the axis width further on, over that marker (I-6, I-13 on the real file)."""
    rows = [{"lemma": "8", "statement": "L8 p_t bound [hyp fail]", "kind": "outside", "sample": i,
             "lhs": 1.0, "rhs": 0.0, "ratio": None, "holds": False, "config": i} for i in range(2)]
    long = "sum|rbar|<=(4|r0|+8sqrt n)" * 2       # labels as long as check's: narrow strips
    rows += [{"lemma": "2", "statement": f"L2-{j} {long}", "kind": "claim", "sample": i,
              "lhs": 1e-3, "rhs": 1.0, "ratio": 1e-3, "holds": True, "config": i}
             for i in range(2) for j in range(90)]        # two strips, as check's 93 rows
    samples = {"format": "theorem-lab-check-samples/1", "samples": 2, "seed": 0,
               "configs": [{}] * 2, "rows": rows}
    with style.context() as plt:
        fig = build(plt, samples, findings={("8", "L8 p_t bound [hyp fail]"): ["I-6"]})
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = next(a for a in fig.axes if a.texts)
        (label,) = ax.texts
        _, hi = ax.get_xlim()
        ends = [c for c in ax.collections if any(o[0] == hi for o in c.get_offsets())]
        assert ends
        text_box = label.get_window_extent(renderer)
        for c in ends:               # a marker's size is √s points across, centred on its point
            x = ax.transData.transform((hi, 0))[0]          # the axis end, in pixels
            right = x + max(c.get_sizes()) ** 0.5 / 2 * fig.dpi / 72
            assert text_box.x0 > right, ("the id overlaps the ▶", text_box.x0, right)
        plt.close(fig)


def test_findings_map_statements_to_ids_from_the_packaged_files():
    found = refuting_findings()
    assert found[("stage2", "F7 sigma_min(J(W0,X))>=2alpha_II")] == ["I-8"]
    assert found[("8", "L8 p_t bound [hyp fail]")] == ["I-6"]     # I-6-p0.json is I-6's


def test_check_saves_every_sample_replays_and_draws(tmp_path, capsys):
    save = tmp_path / "check" / "violations.json"
    assert main(["check", "--lemma", "2", "--samples", "2", "--save", str(save)]) == 0
    capsys.readouterr()
    blob = json.loads(save.read_text())
    samples = blob["samples"]
    assert samples["samples"] == 2 and samples["lemmas"] == ["2"] and len(samples["configs"]) == 2
    names = {r["statement"] for r in samples["rows"]}
    assert len(samples["rows"]) == 2 * len(names) and "L2-i" in names
    for r in samples["rows"]:
        assert r["lemma"] == "2" and r["config"] in (0, 1) and isinstance(r["holds"], bool)
        if r["ratio"] is not None and r["rhs"] > 0:
            assert math.isclose(r["ratio"], r["lhs"] / r["rhs"])
    assert samples["configs"][0]["n"] >= 2                        # the instance's parameters
    violated = {(r["statement"], r["sample"]) for r in samples["rows"] if not r["holds"]
                and r["kind"] in ("claim", "outside")}
    assert len(blob["records"]) == len(violated)                  # --replay's records, as before
    assert (save.parent / "slack.png").stat().st_size > 0          # drawn by default
    assert main(["check", "--replay", str(save)]) == 0
    assert f"of {len(blob['records'])} recorded violation(s) fail again" in capsys.readouterr().out
    (save.parent / "slack.png").unlink()
    assert main(["figures", str(save.parent), "--which", "slack", "--format", "png"]) == 0
    assert (save.parent / "slack.png").stat().st_size > 0
    assert main(["figures", str(save), "--out", str(tmp_path / "s"), "--format", "svg"]) == 0
    assert (tmp_path / "s.svg").exists()
