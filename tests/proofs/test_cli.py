"""`theorem-lab check` and `theorem-lab constants`: tables, JSON, replay, bad input (exit 2)."""

import json

from theorem_lab.cli import main


def test_check_json_and_replay(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert main(["check", "--lemma", "2,3", "--samples", "3", "--json", "--save", str(out)]) == 0
    blob = json.loads(capsys.readouterr().out)
    assert blob["3|L3"]["samples"] == 3 and blob["3|L3"]["violations"] == 0
    assert blob["3|L3"]["max_ratio"] <= 1
    # the seed-0 sample of lemma 2 has unbalanced clusters, where I-2 fails: a violation is saved
    records = json.loads(out.read_text())["records"]
    assert records and all(r["lemma"] in ("2", "3") for r in records)
    assert main(["check", "--replay", str(out)]) == 0
    assert f"reproduced: {len(records)} of {len(records)} recorded violation(s) fail again" in capsys.readouterr().out


def test_replay_picks_lemmas_and_refuses_the_sampling_options(tmp_path, capsys):
    """--lemma picks which lemmas' records a replay re-runs (it was ignored); --samples, --seed
    and --save, which a replay does not use, are refused instead of ignored."""
    from theorem_lab.proofs_check.check import load_violations, save_violations
    both = tmp_path / "both.json"
    save_violations(both, load_violations("I-2") + load_violations("I-13"))    # lemmas 2 and 6
    assert main(["check", "--replay", str(both)]) == 0
    assert "reproduced: 2 of 2" in capsys.readouterr().out
    assert main(["check", "--replay", str(both), "--lemma", "6"]) == 0
    out = capsys.readouterr().out
    assert "reproduced: 1 of 1" in out and "lemma 6 |" in out and "lemma 2 |" not in out
    assert main(["check", "--replay", str(both), "--lemma", "3"]) == 2
    assert "holds lemma(s) 2, 6" in capsys.readouterr().err
    for extra in (["--samples", "5"], ["--seed", "1"], ["--save", str(tmp_path / "x.json")]):
        assert main(["check", "--replay", str(both)] + extra) == 2
        err = capsys.readouterr().err
        assert f"'{extra[0]}' parameter of check" in err and "--replay" in err
    assert not (tmp_path / "x.json").exists()


def test_a_check_saved_under_another_name_draws_its_own_slack_figure(tmp_path, capsys):
    """Two checks saved into one folder drew the same slack.png, the second over the first."""
    for name in ("a", "b"):
        assert main(["check", "--lemma", "3", "--samples", "2", "--save",
                     str(tmp_path / f"{name}.json")]) == 0
    assert (tmp_path / "a_slack.png").stat().st_size > 0 and (tmp_path / "b_slack.png").exists()
    assert not (tmp_path / "slack.png").exists()


def test_check_writes_violations_as_found_and_keeps_them_on_error(tmp_path, capsys, monkeypatch):
    """Lost work: a sample that raises after violations were found neither ends the check nor
    discards them; the error is recorded with its configuration and the exit code is 1."""
    from theorem_lab.proofs_check import check_cli
    out = tmp_path / "v.json"
    real, calls = check_cli.evaluate, []

    def flaky(lemma, cfg):
        calls.append(lemma)
        if len(calls) == 3:
            raise FloatingPointError("boom")
        return real(lemma, cfg)
    monkeypatch.setattr(check_cli, "evaluate", flaky)
    assert main(["check", "--lemma", "2", "--samples", "4", "--save", str(out)]) == 1
    records = json.loads(out.read_text())["records"]
    assert any(r["statement"] == "error: FloatingPointError" for r in records)
    assert any(r["statement"] != "error: FloatingPointError" for r in records)
    assert len(calls) == 4 and "1 sample(s) raised" in capsys.readouterr().err


def test_sampler_draws_only_valid_noise_levels():
    """The rounded ρ the sampler keeps is the one it checked (ρ = 0.375 with n_l = 4 once slipped
    through: round(1.5) = 2 = n_l/2)."""
    import numpy as np
    from theorem_lab.proofs_check.statements import _valid_rho
    rng = np.random.default_rng(0)
    for _ in range(3000):
        n, K = int(rng.integers(4, 41)), int(rng.integers(2, 5))
        if n < 2 * K:
            continue
        rho = _valid_rho(rng, n, K)
        assert all(round(rho * m) / m < 0.5 for m in (n // K, n // K + 1)), (rho, n, K)


def test_check_bad_lemma_exits_2(capsys):
    assert main(["check", "--lemma", "9", "--samples", "1"]) == 2
    assert "'--lemma' parameter of check" in capsys.readouterr().err


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


def test_constants_from_data_with_a_singular_gram_is_one_line_not_a_traceback(capsys):
    """n = 200 points in d = 5 at ε = 0.01: λ(X) = 0 to rounding, so Λ = 0 and T₁ and the
    widths have no (real) value; that was a sympy 'Cannot convert complex to float' traceback."""
    for extra in ([], ["--json"], ["--reading", "repaired"]):
        assert main(["constants", "--from-data", "--n", "200", "--clusters", "4", "--dim", "5",
                     "--eps", "0.01"] + extra) == 2
        err = capsys.readouterr().err
        assert "'--from-data'" in err and "raise --eps or --dim" in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_constants_bad_rho_exits_2(capsys):
    assert main(["constants", "--rho", "0.7"]) == 2
    assert "'--rho' parameter of constants" in capsys.readouterr().err


def test_replay_a_packaged_finding_by_id(capsys):
    """`--replay I-8` reads the counterexample shipped in the package (works after a wheel install,
    from any directory): it still violates the printed F7."""
    assert main(["check", "--replay", "I-8"]) == 0
    out = capsys.readouterr().out
    assert "F7" in out and "holds=False" in out and "reproduced: 1 of 1 recorded violation(s) fail again" in out



def test_replay_says_when_a_recorded_violation_no_longer_fails(capsys, monkeypatch):
    """A counterexample that now holds (say, after a fix to the checker) is reported as not
    reproduced, not as reproduced."""
    import dataclasses
    from theorem_lab.proofs_check import check_cli
    real = check_cli._evaluate
    monkeypatch.setattr(check_cli, "_evaluate", lambda lemma, config: {
        k: dataclasses.replace(chk, holds=True) for k, chk in real(lemma, config).items()})
    assert main(["check", "--replay", "I-8"]) == 0
    out = capsys.readouterr().out
    assert "0 of 1 recorded violation(s) fail again; 1 now hold (not reproduced)" in out
    assert "reproduced:" not in out

def test_replay_unknown_id_names_the_packaged_ones(capsys):
    assert main(["check", "--replay", "I-99"]) == 2
    err = capsys.readouterr().err
    assert "'--replay' parameter of check" in err and "I-8" in err and "\n" == err[-1] and err.count("\n") == 1


def test_verdict_table_honours_json_and_refuses_the_sampling_options(tmp_path, capsys):
    """verdict --table --json printed the text table (--json ignored); --table with --issues,
    --samples, --seed, --modewise-widths or --save ignored them: now JSON, and exit 2."""
    from theorem_lab.proofs_check.verdict import VERDICTS
    assert main(["verdict", "--table", "--json"]) == 0
    blob = json.loads(capsys.readouterr().out)
    assert list(blob) == list(VERDICTS)
    assert blob["I-8"] == dict(zip(("severity", "verdict", "pinned_by"), VERDICTS["I-8"]))
    for extra in (["--issues", "I-10"], ["--samples", "3"], ["--seed", "1"],
                  ["--modewise-widths", "32,128"], ["--save", str(tmp_path / "v.json")]):
        assert main(["verdict", "--table"] + extra) == 2
        err = capsys.readouterr().err
        assert f"'{extra[0]}' parameter of verdict" in err and "--table" in err
    assert main(["verdict", "--table"]) == 0
    assert capsys.readouterr().out.startswith("I-1 ")
