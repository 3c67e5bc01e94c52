"""`theorem-lab check`: every lemma's inequality on random configurations, or a replay.

    theorem-lab check --lemma all --samples 20 [--seed 0] [--json] [--save FILE]
    theorem-lab check --replay FILE        (or a packaged finding's id: --replay I-8)

One row per statement: samples, max ratio lhs/rhs (≤ 1 holds; the max is the slack), violations,
the worst configuration. Rows named ``hyp: …`` are hypotheses (informational); a conclusion
tagged ``[hyp fail]`` was checked where the paper's hypotheses do not hold, so its violations are
not counterexamples. Probabilistic rows report the failure frequency against δ.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from theorem_lab.errors import check_choice, check_fits, check_int, fail, integer, parse_list
from theorem_lab.output import check_output_file, strict_json

from .check import (Check, SampleLog, Summary, load_violations, packaged_findings,
                    save_violations)
from .statements import LEMMAS, PROBABILISTIC, evaluate, sample

# Memory kept per (lemma, sample) until --save is written: its rows (≈ 10 statements a lemma) and
# configuration as Python dicts. Evidence: 7 rows + 1 configuration of lemma 1 are 2.1 kB of JSON;
# dicts take ≈ 3× their JSON, so ≈ 6 kB; 16 KiB leaves room for the lemmas with more statements.
SAMPLE_BYTES = 16 * 1024
SAMPLES, SAVE = 20, "runs/check/violations.json"      # --samples and --save when not given


def configure(parser) -> None:
    parser.add_argument("--lemma", default=None, help="all (the default), or a comma list of "
                        + ", ".join(LEMMAS) + "; with --replay, only these lemmas' records")
    parser.add_argument("--samples", type=integer, default=None,
                        help=f"random configurations per lemma (default {SAMPLES})")
    parser.add_argument("--seed", type=integer, default=None,
                        help="seed of the configuration sampler (default 0)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.add_argument("--save", default=None,
                        help="where violating configurations (for --replay) and every sample's "
                        f"lhs, rhs and ratio are written (default {SAVE}); the slack figure goes "
                        "beside it")
    parser.add_argument("--replay", default=None, help="re-run the configurations of a saved file, or of a packaged finding "
                             "by id (" + ", ".join(sorted(packaged_findings())) + ")")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if a statement whose hypotheses hold is violated")
    parser.add_argument("--no-figure", action="store_true", help="skip the slack figure")


def kind(statement: str) -> str:
    if statement.startswith("error:"):
        return "error"
    if statement.startswith("hyp:"):
        return "hyp"
    if "[hyp fail]" in statement:
        return "outside"
    if statement.endswith("(info)"):
        return "info"
    return "claim"


def _evaluate(lemma: str, cfg: dict) -> dict:
    """``evaluate``, with an exception turned into a failed 'error: …' statement (its
    configuration is kept, so it can be replayed) instead of ending the whole check."""
    try:
        return evaluate(lemma, cfg)
    except Exception as exc:       # noqa: BLE001 - recorded with its configuration, the check goes on
        return {f"error: {type(exc).__name__}": Check(math.inf, 0.0, math.inf, False, str(exc)[:300])}


def run_checks(lemmas, samples: int, seed: int, progress=None,
               on_violation=None, on_sample=None) -> "dict[str, Summary]":
    """Sample and check; one ``Summary`` per (lemma, statement).

    ``on_sample(lemma, i, config, {statement: Check})`` sees every sample; then
    ``on_violation(summaries)`` is called after every sample that added a violation, so a
    caller can write the violations as they are found (nothing is lost if a later sample fails).
    """
    rng = np.random.default_rng(seed)
    out: "dict[str, Summary]" = {}
    for lemma in lemmas:
        for i in range(samples):
            cfg = sample(lemma, rng)
            new = False
            checks = _evaluate(lemma, cfg)
            if on_sample is not None:
                on_sample(lemma, i, cfg, checks)
            for name, chk in checks.items():
                key = f"{lemma}|{name}"
                if key not in out:
                    out[key] = Summary(name, delta=cfg.get("delta") if name in PROBABILISTIC else None)
                out[key].add(chk, cfg)
                new |= not chk.holds and kind(name) in SAVED_KINDS
            if new and on_violation is not None:
                on_violation(out)
            if progress:
                progress(lemma, i)
    return out


SAVED_KINDS = ("claim", "outside", "error")


def violation_records(summaries: "dict[str, Summary]") -> list:
    return [{"lemma": key.split("|", 1)[0], "statement": s.statement, "config": cfg}
            for key, s in summaries.items() if kind(s.statement) in SAVED_KINDS
            for cfg in s.violating]


def _fmt_cfg(cfg) -> str:
    keys = ("n", "K", "d", "k", "eps", "rho", "activation", "steps")
    return " ".join(f"{k}={cfg[k]:.3g}" if isinstance(cfg[k], float) else f"{k}={cfg[k]}"
                    for k in keys if k in cfg)


def print_table(summaries: "dict[str, Summary]", file=None) -> None:
    file = sys.stdout if file is None else file       # bound at call time, not at import
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


def _lemmas(text) -> tuple:
    return LEMMAS if text in (None, "all") else tuple(parse_list(
        text, "--lemma", "check", item=lambda s: check_choice("--lemma", s, "check", LEMMAS)))


def run(args) -> int:
    if args.replay:
        for opt, given in (("--samples", args.samples), ("--seed", args.seed), ("--save", args.save)):
            if given is not None:      # a replay samples nothing and writes nothing: it would be ignored
                raise fail(opt, "check", "left out with --replay (it re-runs saved configurations; "
                           "--lemma picks which lemmas' records)", given)
        records = load_violations(args.replay)
        if args.lemma is not None:          # only these lemmas' records
            lemmas = _lemmas(args.lemma)
            held = sorted({rec["lemma"] for rec in records})
            records = [rec for rec in records if rec["lemma"] in lemmas]
            if not records:
                raise fail("--lemma", "check", "a lemma with records in the replayed file (it "
                           "holds lemma(s) " + ", ".join(held) + ")", args.lemma)
        bad = 0
        for rec in records:
            res = _evaluate(rec["lemma"], rec["config"])
            chk = res.get(rec["statement"])
            if chk is None:
                print(f"{rec['lemma']} {rec['statement']}: not produced by this configuration")
                continue
            bad += not chk.holds
            print(f"lemma {rec['lemma']} | {rec['statement']}: lhs={chk.lhs:.6g} rhs={chk.rhs:.6g} "
                  f"ratio={chk.ratio:.6g} holds={chk.holds} {chk.note}  [{_fmt_cfg(rec['config'])}]")
        n = len(records)
        print(f"reproduced: {bad} of {n} recorded violation(s) fail again, as recorded" if bad == n
              else f"{bad} of {n} recorded violation(s) fail again; {n - bad} now hold (not reproduced)")
        return 0
    samples = check_int("--samples", SAMPLES if args.samples is None else args.samples, "check", low=1)
    lemmas = _lemmas(args.lemma)
    check_fits("--samples", samples, "check", SAMPLE_BYTES * samples * len(lemmas),
               f"every sample's rows, kept for --save ({samples} samples x {len(lemmas)} lemmas)")
    seed = check_int("--seed", 0 if args.seed is None else args.seed, "check", low=0)
    save = check_output_file("--save", SAVE if args.save is None else args.save, "check")   # before sampling
    from tqdm import tqdm
    bar = tqdm(total=samples * len(lemmas), file=sys.stderr, disable=True if args.json else None,
               leave=False)
    written = [0]
    log = SampleLog(seed=seed, samples=samples, lemmas=list(lemmas))

    def write(summaries):        # violations are saved as they are found, with the samples so far
        records = violation_records(summaries)
        save_violations(save, records, log.to_dict())
        written[0] = len(records)

    def add(lemma, i, cfg, checks):
        log.add(lemma, i, cfg, checks, kind)

    try:
        summaries = run_checks(lemmas, samples, seed, progress=lambda *_: bar.update(1),
                               on_violation=write, on_sample=add)
    except BaseException:
        bar.close()
        if written[0]:
            sys.stderr.write(f"check: stopped; the {written[0]} violating configuration(s) found "
                             f"so far are saved in {save}\n")
        raise
    bar.close()
    write(summaries)             # every sample, violations or not
    args.run = str(save)         # the composition root draws the slack figure from it
    records = violation_records(summaries)
    if args.json:
        print(strict_json({key: s.to_dict() for key, s in summaries.items()}, indent=1))
    else:
        print_table(summaries)
        if records:
            print(f"\n{len(records)} violating configurations saved to {save} "
                  f"(replay: theorem-lab check --replay {save})")
    errors = sum(s.violations for s in summaries.values() if kind(s.statement) == "error")
    if errors:
        sys.stderr.write(f"check: {errors} sample(s) raised; their configurations are in {save}\n")
        return 1
    strict_bad = any(kind(s.statement) == "claim" and s.violations and s.delta is None
                     for s in summaries.values())
    return 1 if (args.strict and strict_bad) else 0
