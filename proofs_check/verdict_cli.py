"""`theorem-lab verdict`: the sampled checks of the issues FINDINGS.md answers last, and the table
of all 23 (spec §4, issue 14).

    theorem-lab verdict --samples 10 --seed 0             # I-10, I-12, I-17, I-18, I-19 sampled
    theorem-lab verdict --issues I-17 --modewise-widths 32,128,512,2048,8192
    theorem-lab verdict --table                           # the 23-row verdict table only
    theorem-lab check --replay I-10                       # a saved counterexample, rerun

Rows as in ``theorem-lab check`` (max ratio lhs/rhs, violations, worst configuration); the
probabilistic rows (I-18, one W₀ draw per sample; I-12's ``(count)`` rows, many draws per sample)
end with the failure frequency and its Clopper–Pearson interval against δ (δ/4 for F1's bound).
Violations are saved in the format ``check --replay`` reads.
"""

from __future__ import annotations

import sys

import numpy as np

from theorem_lab.errors import check_choice, check_int, fail, integer, parse_int, parse_list
from theorem_lab.output import check_output_file, strict_json

from .check import Summary, frequency_verdict, save_violations
from .check_cli import _evaluate, kind, print_table
from .issues_checks import ISSUES, modewise_vs_width, sample
from .verdict import VERDICTS

_OWNER = "verdict"
PROB_DELTA = {"I-18": "delta"}
MODEWISE_DRAWS = 5                      # W₀ draws per width in the I-17 table          # one draw per sample: the frequency against cfg['delta']


# The sampling options' defaults (None in the parser: --table refuses the ones given, which it
# would ignore).
DEFAULTS = {"issues": ",".join(ISSUES), "samples": 10, "seed": 0,
            "modewise_widths": "32,128,512,2048", "save": "runs/verdict/violations.json"}


def configure(parser) -> None:
    parser.add_argument("--issues", default=None,
                        help="a comma list of " + ", ".join(ISSUES) + f" (default {DEFAULTS['issues']})")
    parser.add_argument("--samples", type=integer, default=None, help="random configurations per issue (default 10)")
    parser.add_argument("--seed", type=integer, default=None, help="seed of the configuration sampler (default 0)")
    parser.add_argument("--modewise-widths", default=None,
                        help="widths of the I-17 table (default 32,128,512,2048; 'none' skips it)")
    parser.add_argument("--save", default=None,
                        help=f"where violating configurations are written (if any) (default {DEFAULTS['save']})")
    parser.add_argument("--table", action="store_true", help="print the 23-issue table and exit "
                        "(with --json: as JSON)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")


def print_verdicts(file=None) -> None:
    """The 23-issue table: id, severity and the whole verdict on one line, what pins it below."""
    file = sys.stdout if file is None else file
    for issue, (sev, verdict, pin) in VERDICTS.items():
        print(f"{issue:5s} {sev:9s} {verdict}", file=file)
        print(f"{'':15s} pinned by: {pin}", file=file)


def verdicts_json() -> dict:
    """The 23-issue table as {id: {severity, verdict, pinned_by}}."""
    return {issue: {"severity": sev, "verdict": verdict, "pinned_by": pin}
            for issue, (sev, verdict, pin) in VERDICTS.items()}


def run(args) -> int:
    if args.table:
        for name, value in sorted(vars(args).items()):
            if name in DEFAULTS and value is not None:    # the table samples and saves nothing
                raise fail("--" + name.replace("_", "-"), _OWNER, "left out with --table (it "
                           "prints the 23-issue table and samples nothing)", value)
        if args.json:
            print(strict_json(verdicts_json(), indent=1))
        else:
            print_verdicts()
        return 0
    for name, value in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    issues = parse_list(args.issues, "--issues", _OWNER,
                        item=lambda s: check_choice("--issues", s, _OWNER, ISSUES))
    samples = check_int("--samples", args.samples, _OWNER, low=1)
    seed = check_int("--seed", args.seed, _OWNER, low=0)
    widths = [] if args.modewise_widths == "none" else parse_list(
        args.modewise_widths, "--modewise-widths", _OWNER,
        item=lambda t: parse_int(t, "--modewise-widths", _OWNER, low=2, high=65536, even=True))
    save = check_output_file("--save", args.save, _OWNER)
    rng = np.random.default_rng(seed)
    summaries: "dict[str, Summary]" = {}
    counts: dict = {}
    for issue in issues:
        for _ in range(samples):
            cfg = sample(issue, rng)
            for name, chk in _evaluate(issue, cfg).items():
                key = f"{issue}|{name}"
                if name.endswith("(count)"):
                    f, m, _ = counts.get(key, (0, 0, 0.0))
                    counts[key] = (f + int(chk.lhs), m + int(chk.rhs), cfg.get("delta", 0.1) / 4)
                    continue
                if key not in summaries:
                    summaries[key] = Summary(name, delta=cfg.get("delta") if issue in PROB_DELTA
                                             and "Chernoff width" in name and "info" not in name else None)
                summaries[key].add(chk, cfg)
    records = [{"lemma": key.split("|", 1)[0], "statement": s.statement, "config": c}
               for key, s in summaries.items() if kind(s.statement) in ("claim", "outside", "error")
               and s.delta is None for c in s.violating]
    if records:
        save_violations(save, records)
    freq = {key: frequency_verdict(f, m, d) for key, (f, m, d) in counts.items()}
    table = modewise_table(widths, seed) if widths and "I-17" in issues else []
    if args.json:
        print(strict_json({"summaries": {k: s.to_dict() for k, s in summaries.items()},
                           "frequencies": freq, "modewise": table}, indent=1))
        return 0
    print_table(summaries)
    for key, f in freq.items():
        print(f"{key.replace('|', ' ')}: {f['failures']}/{f['trials']} draws fail, rate "
              f"{f['rate']:.4f}, 95% CI [{f['ci_low']:.4f}, {f['ci_high']:.4f}] vs δ/4 = "
              f"{f['delta']:.3g}: {f['verdict']}")
    if table:
        slope = np.polyfit(np.log([r["k"] for r in table]), np.log([r["error"] for r in table]), 1)[0]
        print("I-17 mode-wise error max_t max_i |<u_{t+1}-y,e_i> - (1-eta lam_i)<u_t-y,e_i>|/|u_t-y| "
              f"(n=20, K=2, d=5, eps=0.3, erf, 20 GD steps; geometric mean of {MODEWISE_DRAWS} "
              "W0 draws [min, max]):")
        for r in table:
            print(f"  k={r['k']:6d}: {r['error']:.3g} [{min(r['errors']):.3g}, {max(r['errors']):.3g}]")
        print(f"  log-log slope {slope:.2f}")
    if records:
        print(f"\n{len(records)} violating configurations saved to {save} "
              f"(replay: theorem-lab check --replay {save})")
    return 0


def modewise_table(widths, seed: int) -> list:
    """I-17's error against width on one fixed small instance."""
    from theorem_lab.data import make_clusterable
    data = make_clusterable(n=20, K=2, d=5, eps=0.3, rho=0.0, seed=seed, n_test=0)
    return modewise_vs_width(data, "erf", widths, steps=20, seed=seed, draws=MODEWISE_DRAWS)

