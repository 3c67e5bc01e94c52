"""The verdict on each of the spec's 23 issues (spec §4): severity, verdict, what pins it.

FINDINGS.md's table says the same with its numbers; ``tests/proofs/test_issues.py`` checks that
the two (and the README's table) list the same ids, severities and verdict words.
``theorem-lab verdict --table`` prints this.
"""

T = "tests/proofs/"
VERDICTS = {   # id -> (severity, verdict, what pins it)
    "I-1": ("minor", "confirmed (notation): R bounds ‖x‖² = 1 and is reused as a radius ≥ 208",
            T + "test_issues.py::test_I1_the_two_Rs_cannot_be_one_quantity"),
    "I-2": ("minor", "confirmed: c_up > 1 on 27/40 samples; the outer bounds hold", "check --replay I-2"),
    "I-3": ("minor", "confirmed: 'J v, v ∈ S₊' is a shape error; α‖u‖ ≤ ‖Jᵀu‖ ≤ β‖u‖ holds",
            T + "test_issues.py::test_I3_printed_hypothesis_is_a_shape_error_and_the_corrected_one_holds"),
    "I-4": ("major", "confirmed: 39/40 violate, max ratio 1.057", "check --replay I-4"),
    "I-5": ("major", "partly refuted: (a) holds numerically (slack ~0); (b), (c) proven",
            T + "test_findings.py (I-5 tests)"),
    "I-6": ("major", "confirmed: gives (1−2ρ)Θ/(1+Θ), not (1−2ρ)/4; p₀ > 0 on 40/40",
            "check --replay I-6, I-6-p0"),
    "I-7": ("major", "confirmed (algebra): n²T₂⁴/(1−2ρ)⁴, not n³T₂⁴/(1−2ρ)²",
            T + "test_constants.py"),
    "I-8": ("critical", "confirmed: 37/40 violate; ratio √(n_l/2) in the wide limit",
            "check --replay I-8"),
    "I-9": ("critical", "confirmed: unsatisfiable with Λ in T₁, also after the repairs",
            T + "test_repaired.py::test_unsatisfiable_when_T1_uses_Lambda"),
    "I-10": ("minor", "confirmed: 20/20 runs reach ỹ (≤ 0.085√n); ‖f − y‖ ≈ 2√#flips",
             "check --replay I-10"),
    "I-11": ("major", "confirmed (algebra): 64 under reading A, 80 only under B",
             T + "test_constants.py"),
    "I-12": ("minor", "confirmed: the unprojected rᶜ exceeds the induction bound on 13/19 runs",
             "check --replay I-12; verdict --issues I-12,I-12-init"),
    "I-13": ("minor", "confirmed: per-sample form fails on 23/28 [hyp ok] runs", "check --replay I-13"),
    "I-14": ("minor", "not numerically checkable (notation); confirmed by reading, spec §0.3", "—"),
    "I-15": ("minor", "holds with slack 0.186 as printed; the proof's gap is confirmed by reading",
             "check --lemma 4"),
    "I-16": ("major", "confirmed (vacuous prefactor), refuted (capacity term grows like T₂^0.13–0.24)",
             "theorem-lab generalization"),
    "I-17": ("minor", "confirmed: mode-wise error > 0 at every k, falls like 1/k; exact for a fixed kernel",
             "check --replay I-17; verdict --issues I-17"),
    "I-18": ("minor", "holds with slack 3.07 in the constant (Chernoff: 6.52); 0/300 fail at its width",
             T + "test_issues.py::test_I18_chernoff_constant_and_the_printed_threshold_suffices"),
    "I-19": ("minor", "confirmed (algebra): keeping η divides (L8-H2) by (2Γ²n)²",
             T + "test_issues.py::test_I19_keeping_eta_removes_the_powers_of_n"),
    "I-20": ("minor", "confirmed (formula): α_t < 0 iff batch accuracy > 1/λ; not counted on images",
             T + "test_issues.py::test_I20_negative_alpha_threshold_and_the_bound_from_the_mean"),
    "I-21": ("minor", "confirmed (algebra): 5/16 + 1/(48(1−2ρ)) suffices, 10× the printed 1/32",
             T + "test_issues.py::test_I21_stage_two_needs_only_five_sixteenths"),
    "I-22": ("minor", "not numerically checkable (a definition); make_clusterable fixes one P", "—"),
    "I-23": ("minor", "confirmed (algebra): 13 needs n ≥ (4−2ρ)²; the α swap is monotone",
             T + "test_issues.py::test_I23_constant_13_needs_n_at_least_16_and_the_alpha_swap_is_monotone"),
}
