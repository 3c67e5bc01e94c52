"""`theorem-lab check`: every lemma's inequality on random configurations, or a replay.

    theorem-lab check --lemma all --samples 20 [--seed 0] [--json] [--save FILE]
    theorem-lab check --replay FILE        (or a packaged finding's id: --replay I-8)

One row per statement: samples, max ratio lhs/rhs (≤ 1 holds; the max is the slack), violations,
the worst configuration. Rows named ``hyp: …`` are hypotheses (informational); a conclusion
tagged ``[hyp fail]`` was checked where the paper's hypotheses do not hold, so its violations are
not counterexamples. Probabilistic rows report the failure frequency against δ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from theorem_lab.errors import check_choice, check_int, check_writable_dir, fail

from .check import Summary, load_violations, packaged_findings, save_violations
from .statements import LEMMAS, PROBABILISTIC, evaluate, sample


def configure(parser) -> None:
    parser.add_argument("--lemma", default="all", help="all, or a comma list of " + ", ".join(LEMMAS))
    parser.add_argument("--samples", type=int, default=20, help="random configurations per lemma")
    parser.add_argument("--seed", type=int, default=0, help="seed of the configuration sampler")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.add_argument("--save", default="runs/check/violations.json",
                        help="where violating configurations are written (if any)")
    parser.add_argument("--replay", default=None, help="re-run the configurations of a saved file, or of a packaged finding "
                             "by id (" + ", ".join(sorted(packaged_findings())) + ")")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if a statement whose hypotheses hold is violated")


def kind(statement: str) -> str:
    if statement.startswith("hyp:"):
        return "hyp"
    if "[hyp fail]" in statement:
        return "outside"
    if statement.endswith("(info)"):
        return "info"
    return "claim"


def run_checks(lemmas, samples: int, seed: int, progress=None) -> "dict[str, Summary]":
    """Sample and check; one ``Summary`` per (lemma, statement)."""
    rng = np.random.default_rng(seed)
    out: "dict[str, Summary]" = {}
    for lemma in lemmas:
        for i in range(samples):
            cfg = sample(lemma, rng)
            for name, chk in evaluate(lemma, cfg).items():
                key = f"{lemma}|{name}"
                if key not in out:
                    out[key] = Summary(name, delta=cfg.get("delta") if name in PROBABILISTIC else None)
                out[key].add(chk, cfg)
            if progress:
                progress(lemma, i)
    return out


def _fmt_cfg(cfg) -> str:
    keys = ("n", "K", "d", "k", "eps", "rho", "activation", "steps")
    return " ".join(f"{k}={cfg[k]:.3g}" if isinstance(cfg[k], float) else f"{k}={cfg[k]}"
                    for k in keys if k in cfg)


def print_table(summaries: "dict[str, Summary]", file=sys.stdout) -> None:
    print(f"{'lemma':7s} {'kind':8s} {'statement':58s} {'samples':>7s} {'max ratio':>10s} "
          f"{'viol.':>5s}  worst configuration", file=file)
    for key, s in summaries.items():
        lemma = key.split("|", 1)[0]
        extra = ""
        if s.delta is not None:
            f = s.to_dict()["frequency"]
            extra = f"  freq {f['rate']:.3f} CI [{f['ci_low']:.3f},{f['ci_high']:.3f}] vs δ={f['delta']}: {f['verdict']}"
        print(f"{lemma:7s} {kind(s.statement):8s} {s.statement[:58]:58s} {s.samples:7d} {s.max_ratio:10.4g} "
              f"{s.violations:5d}  {_fmt_cfg(s.worst or {})}{extra}", file=file)


def run(args) -> int:
    if args.replay:
        records = load_violations(args.replay)
        bad = 0
        for rec in records:
            res = evaluate(rec["lemma"], rec["config"])
            chk = res.get(rec["statement"])
            if chk is None:
                print(f"{rec['lemma']} {rec['statement']}: not produced by this configuration")
                continue
            bad += not chk.holds
            print(f"lemma {rec['lemma']} | {rec['statement']}: lhs={chk.lhs:.6g} rhs={chk.rhs:.6g} "
                  f"ratio={chk.ratio:.6g} holds={chk.holds} {chk.note}  [{_fmt_cfg(rec['config'])}]")
        print(f"{bad} of {len(records)} replayed checks fail")
        return 0
    samples = check_int("samples", args.samples, "check", low=1)
    lemmas = LEMMAS if args.lemma == "all" else tuple(
        check_choice("lemma", s.strip(), "check", LEMMAS) for s in args.lemma.split(","))
    seed = check_int("seed", args.seed, "check", low=0)
    check_writable_dir("--save", Path(args.save).parent, "check")   # before any sampling
    if Path(args.save).is_dir():
        raise fail("--save", "check", "a file path, not a directory", args.save)
    from tqdm import tqdm
    bar = tqdm(total=samples * len(lemmas), file=sys.stderr, disable=args.json, leave=False)
    summaries = run_checks(lemmas, samples, seed,
                           progress=lambda *_: bar.update(1))
    bar.close()
    records = [{"lemma": key.split("|", 1)[0], "statement": s.statement, "config": cfg}
               for key, s in summaries.items() if kind(s.statement) in ("claim", "outside")
               for cfg in s.violating]
    if records:
        save_violations(args.save, records)
    if args.json:
        print(json.dumps({key: s.to_dict() for key, s in summaries.items()}, default=str, indent=1))
    else:
        print_table(summaries)
        if records:
            print(f"\n{len(records)} violating configurations saved to {args.save} "
                  f"(replay: theorem-lab check --replay {args.save})")
    strict_bad = any(kind(s.statement) == "claim" and s.violations and s.delta is None
                     for s in summaries.values())
    return 1 if (args.strict and strict_bad) else 0
