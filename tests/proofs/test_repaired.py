"""The repaired reading of Theorem 1 (``proofs_check.repaired``): each repair changes what its
finding says it should, the repaired ε-condition delivers what the proof needs, and with T₁ using
Λ the repaired hypotheses are unsatisfiable (symbolically)."""

import json
import re
from pathlib import Path

import pytest
import sympy as sp

from theorem_lab.cli import main
from theorem_lab.proofs_check import constants as C
from theorem_lab.proofs_check import repaired as R

FINDINGS = (Path(__file__).resolve().parents[2] / "proofs_check" / "FINDINGS.md").read_text()


def test_every_repair_names_a_finding_that_establishes_it():
    for name, (fid, what) in R.REPAIRS.items():
        assert re.search(rf"### {fid} ", FINDINGS), f"{name}: {fid} has no section in FINDINGS.md"
    assert {fid for fid, _ in R.REPAIRS.values()} == {"I-4", "I-5", "I-6", "I-7", "I-8", "I-11"}


def test_I5_halves_kappa1_and_kappa3_and_I11_I5_give_T1_constant_128():
    assert sp.simplify(R.kappa1 / C.kappa1("A")) == sp.Rational(1, 2)
    assert sp.simplify(R.kappa3 / C.kappa3("A")) == sp.Rational(1, 2)
    coeff = sp.simplify(R.T1 / sp.log(8 * C.Theta / (1 - 2 * C.rho)))
    assert sp.simplify(coeff - 128 * C.Gamma**2 * C.K / (C.c_low * C.lam_C)) == 0   # 2 × 64 (I-11)
    assert sp.simplify(C.T1_derived("A") / sp.log(C._log_arg)
                       - 64 * C.Gamma**2 * C.K / (C.c_low * C.lam_C)) == 0


def test_I8_alpha_II_is_Lambda_over_8_in_stage_two():
    assert R.alpha_II_sq == C.Lam / 8
    assert sp.simplify(R.kappa2 / C.kappa2 - C.K / (C.c_low * C.n)) == 0


def test_I4_I6_the_repaired_eps_condition_gives_p_T2_exactly_a_quarter():
    """At ε = ε*, the repaired bound e^{ηα_I²T₁/8}(p₀ + slope·ε·T₂) with p₀ ≤ Θε is (1−2ρ)/4 —
    the margin the sign argument (L8-g) needs; the printed ε gives (1−2ρ)Θ/(1+Θ) instead (I-6)."""
    p_T2 = R.growth_I4 * (C.Theta * C.eps + R.p_slope * C.eps * C.T2)
    assert sp.simplify(p_T2.subs(C.eps, R.eps_max) - (1 - 2 * C.rho) / 4) == 0
    growth = sp.exp(C.eta * R.alpha_I_sq * R.T1 / 8)
    assert sp.simplify(growth - R.growth_I4) == 0           # (1 + ηα²/8)^{T₁} ≤ e^{ηα²T₁/8} = 8Θ/(1−2ρ)
    printed = (C.p_bound * C.T2).subs(C.eps, C.L8_H1)
    assert sp.simplify(printed - (1 - 2 * C.rho) * C.Theta / (1 + C.Theta)) == 0


def test_I7_repaired_coupling_width_is_exactly_L_d_T2_le_M_Gamma_sqrt_n_eps():
    L_sq = (C.L**2).subs(C.k, R.width_coupling)                # L² = Γ²n/k, all factors positive
    assert sp.simplify(L_sq * R.d_T2**2 - (C.M * C.Gamma * sp.sqrt(C.n) * C.eps)**2) == 0


def test_repaired_theorem_is_stricter_than_the_printed_one_at_every_n():
    base = {C.K: 10, C.d: 50, C.rho: 0.3, C.delta: 0.1, C.Gamma: 1.0, C.c_low: 1.0,
            C.lam_C: 0.6, C.Lam: 0.6, C.eps: 0.05, C.c3: 1.0, C.c4: 1.0}
    for n in (100, 10_000, 1_000_000):
        rep, pr = R.evaluate_instance({**base, C.n: n}), R.evaluate_printed({**base, C.n: n})
        assert 0 < rep["eps_max"] < pr["eps_max"] and rep["width"] > pr["width"]
        assert rep["T1"] > pr["T1"] and rep["satisfiable"]


def test_unsatisfiable_when_T1_uses_Lambda():
    """I-9 after the repairs: T₂ ≥ T₁(Λ ≤ 8Γ²ε²) and ε ≤ ε*(T₂) force ε ≥ I9_eps_min, which is
    2048·K·n·(3−2ρ)·θ²·M·log(8√nθ/(1−2ρ))/(c_low(1−2ρ)³) with θ = c₃Γ√log(8/δ) + 1 ≥ 1; every factor
    is bounded below (K ≥ 2, n ≥ 4, 3−2ρ ≥ 2, θ ≥ 1, M ≥ 2, log(·) ≥ log 16, c_low ≤ 1, 1−2ρ ≤ 1),
    so ε ≥ 2048·2·4·2·2·log 16 > 2 = the sphere's diameter: no ε works, at any n."""
    th = C.c3 * C.Gamma * sp.sqrt(sp.log(8 / C.delta)) + 1
    form = (2048 * C.K * C.n * (3 - 2 * C.rho) * th**2 * C.M
            * sp.log(8 * sp.sqrt(C.n) * th / (1 - 2 * C.rho)) / (C.c_low * (1 - 2 * C.rho)**3))
    s = sp.Symbol("s", positive=True)                      # s = 1 − 2ρ > 0
    assert sp.simplify((R.I9_eps_min / form).subs(C.rho, (1 - s) / 2)) == 1
    assert float(2048 * 2 * 4 * 2 * 2 * sp.log(16)) > 2


def test_constants_cli_repaired_json_and_width_search_file(tmp_path, capsys):
    ws = tmp_path / "ws.json"
    ws.write_text(json.dumps({"empirical_width": 64, "config": {"n": 100, "eps": 0.05}}))
    code = main(["constants", "--reading", "repaired", "--n", "100", "--clusters", "5",
                 "--across-n", "100,1000", "--width-search", str(ws), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and [r["n"] for r in out["rows"]] == [100, 1000]
    assert out["satisfiable_every_n"] and out["I9_eps_min_if_T1_uses_Lambda"] > 2
    assert out["width_search"]["empirical_width"] == 64
    assert set(out["repairs"].values()) == {"I-4", "I-5", "I-6", "I-7", "I-8", "I-11"}
    r = out["rows"][0]
    assert r["repaired"]["width"] > r["printed"]["width"] > 64


def test_constants_width_search_reads_the_stored_file_and_picks_the_instance(tmp_path, capsys):
    """The width_search.json width-search keeps in --out (several instances), or that folder,
    is read; the instance matching --n/--clusters/… is the one printed, and a file without it
    is refused (it would put another instance's width beside this one)."""
    def inst(n, k):
        return {"config": {"n": n, "K": 5, "d": 50, "eps": 0.05, "rho": 0.3, "activation": "tanh"},
                "empirical_width": k, "rows": []}
    (tmp_path / "width_search.json").write_text(json.dumps(
        {"format": "theorem-lab-width-search/1", "instances": [inst(200, 4), inst(100, 8),
                                                                inst(200, 16)]}))   # 16: the latest
    for src in (tmp_path, tmp_path / "width_search.json"):
        assert main(["constants", "--reading", "repaired", "--n", "200", "--clusters", "5",
                     "--across-n", "200", "--width-search", str(src), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["width_search"]["empirical_width"] == 16
    assert main(["constants", "--reading", "repaired", "--n", "300", "--clusters", "5",
                 "--across-n", "300", "--width-search", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'--width-search'" in err and "n=100" in err and "--n 300" in err
    assert main(["constants", "--n", "200", "--clusters", "5", "--width-search", str(tmp_path)]) == 2
    assert "--reading repaired" in capsys.readouterr().err


@pytest.mark.parametrize("reading", ["A", "repaired"])
def test_constants_cli_text(reading, capsys):
    assert main(["constants", "--reading", reading, "--n", "200", "--clusters", "4"]) == 0
    text = capsys.readouterr().out
    assert ("unsatisfiable at every n" in text) == (reading == "repaired")


def test_constants_cli_repaired_table_across_n_is_in_increasing_n(capsys):
    assert main(["constants", "--reading", "repaired", "--n", "1000", "--clusters", "10",
                 "--across-n", "100,1000,10000"]) == 0
    text = capsys.readouterr().out
    table = text.split("across n (both readings")[1].split("\n\n")[0].splitlines()[2:]
    assert [int(line.split()[0]) for line in table] == [100, 1000, 10000]
