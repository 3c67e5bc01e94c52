"""`theorem-lab check` and `theorem-lab constants`: tables, JSON, replay, bad input (exit 2)."""

import json

from theorem_lab.cli import main


def test_check_json_and_replay(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert main(["check", "--lemma", "2,3", "--samples", "3", "--json", "--save", str(out)]) == 0
    blob = json.loads(capsys.readouterr().out)
    assert blob["3|L3"]["samples"] == 3 and blob["3|L3"]["violations"] == 0
    assert blob["3|L3"]["max_ratio"] <= 1
    if out.exists():                                    # I-2 fails whenever clusters are unbalanced
        assert main(["check", "--replay", str(out)]) == 0
        assert "replayed checks fail" in capsys.readouterr().out


def test_check_bad_lemma_exits_2(capsys):
    assert main(["check", "--lemma", "9", "--samples", "1"]) == 2
    assert "'lemma' parameter of check" in capsys.readouterr().err


def test_constants_prints_binding_terms(capsys):
    assert main(["constants", "--n", "1000", "--clusters", "10", "--rho", "0.3", "--delta", "0.1",
                 "--activation", "tanh", "--schedule", "linear:start=100,end=5000", "--steps", "6000"]) == 0
    text = capsys.readouterr().out
    assert "smallest width k" in text and "binding term" in text and "largest radius eps" in text
    assert "fails first: T1-H6" in text or "fails first: T1-H8" in text


def test_constants_json_from_data(capsys):
    assert main(["constants", "--n", "40", "--clusters", "4", "--d", "10", "--eps", "0.1", "--rho", "0.2",
                 "--activation", "erf", "--from-data", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["inputs"]["Lambda"] <= 8 * s["inputs"]["varepsilon"] ** 2          # E-14 / I-9
    assert s["quantities"]["I-9 eps_min if T1 uses Lambda"] > 2
    assert s["width_required"] == max(v for k, v in s["quantities"].items() if k.startswith("width "))


def test_constants_bad_rho_exits_2(capsys):
    assert main(["constants", "--rho", "0.7"]) == 2
    assert "'rho' parameter of constants" in capsys.readouterr().err


def test_replay_a_packaged_finding_by_id(capsys):
    """`--replay I-8` reads the counterexample shipped in the package (works after a wheel install,
    from any directory): it still violates the printed F7."""
    assert main(["check", "--replay", "I-8"]) == 0
    out = capsys.readouterr().out
    assert "F7" in out and "holds=False" in out and "1 of 1 replayed checks fail" in out


def test_replay_unknown_id_names_the_packaged_ones(capsys):
    assert main(["check", "--replay", "I-99"]) == 2
    err = capsys.readouterr().err
    assert "'replay' parameter of check" in err and "I-8" in err and "\n" == err[-1] and err.count("\n") == 1
