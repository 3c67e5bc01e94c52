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
