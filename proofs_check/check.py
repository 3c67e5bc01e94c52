"""The result of checking one inequality, and how many checks are summarised.

A statement ``lhs ≤ rhs`` becomes ``Check(lhs, rhs, ratio=lhs/rhs, holds)``; a "≥" statement is
passed with its sides swapped, so ``ratio ≤ 1`` always means "holds" and the max ratio over
samples is the statement's slack (how loose it is) or, above 1, the size of the violation.
Identities (Lemma 5, L2-iv) are ``Check(error, tolerance·scale)``.

Probabilistic statements ("with probability ≥ 1 − δ over W₀") are judged by their failure
frequency over independent draws: the Clopper–Pearson interval of the frequency is compared with δ.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field

import numpy as np

REL_TOL = 1e-9      # float64 slack allowed on deterministic inequalities (relative to rhs)


@dataclass(frozen=True)
class Check:
    """lhs ≤ rhs? ``ratio`` = lhs/rhs (inf if rhs ≤ 0 < lhs). ``holds`` allows REL_TOL."""

    lhs: float
    rhs: float
    ratio: float
    holds: bool
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def check_le(lhs, rhs, note: str = "", rtol: float = REL_TOL, atol: float = 0.0) -> Check:
    """Check lhs ≤ rhs (up to rtol·|rhs| + atol)."""
    lhs, rhs = float(lhs), float(rhs)
    if rhs > 0:
        ratio = lhs / rhs
    else:
        ratio = 0.0 if lhs <= rhs else math.inf
    holds = bool(lhs <= rhs + rtol * abs(rhs) + atol)
    return Check(lhs, rhs, ratio, holds, note)


def check_ge(lhs, rhs, note: str = "", rtol: float = REL_TOL) -> Check:
    """Check lhs ≥ rhs, stored as rhs ≤ lhs (so ratio = rhs/lhs)."""
    return check_le(rhs, lhs, note, rtol)


def check_identity(error, scale, note: str = "", rtol: float = 1e-9) -> Check:
    """An exact identity up to float error: ‖error‖ ≤ rtol·max(scale, 1e-300)."""
    return check_le(error, rtol * max(float(scale), 1e-300), note, rtol=0.0)


def clopper_pearson(failures: int, trials: int, level: float = 0.95) -> "tuple[float, float]":
    """Exact two-sided binomial confidence interval for the failure probability."""
    from scipy.stats import beta
    a = (1 - level) / 2
    lo = 0.0 if failures == 0 else float(beta.ppf(a, failures, trials - failures + 1))
    hi = 1.0 if failures == trials else float(beta.ppf(1 - a, failures + 1, trials - failures))
    return lo, hi


def frequency_verdict(failures: int, trials: int, delta: float, level: float = 0.95) -> dict:
    """Failure frequency vs δ: 'refuted' if the whole interval lies above δ, 'consistent' otherwise."""
    lo, hi = clopper_pearson(failures, trials, level)
    return {"failures": failures, "trials": trials, "rate": failures / trials if trials else math.nan,
            "ci_low": lo, "ci_high": hi, "delta": delta, "level": level,
            "verdict": "refuted" if lo > delta else "consistent"}


@dataclass
class Summary:
    """All samples of one statement: max ratio, violations, the worst configuration."""

    statement: str
    samples: int = 0
    violations: int = 0
    max_ratio: float = -math.inf
    worst: "dict | None" = None
    worst_check: "dict | None" = None
    violating: list = field(default_factory=list)      # configurations that failed
    delta: "float | None" = None                       # set for probabilistic statements

    def add(self, check: Check, config: dict) -> None:
        self.samples += 1
        if not check.holds:
            self.violations += 1
            self.violating.append(config)
        if check.ratio > self.max_ratio or self.worst is None:
            self.max_ratio, self.worst, self.worst_check = check.ratio, config, check.to_dict()

    def to_dict(self) -> dict:
        out = {"statement": self.statement, "samples": self.samples, "violations": self.violations,
               "max_ratio": self.max_ratio, "worst": self.worst, "worst_check": self.worst_check}
        if self.delta is not None:
            out["frequency"] = frequency_verdict(self.violations, self.samples, self.delta)
        return out


def save_violations(path, records: list, samples: "dict | None" = None) -> None:
    """Write [{'lemma', 'statement', 'config'}] so that ``check --replay`` can rerun them, and
    (``samples``, a ``SampleLog.to_dict()``) every checked sample beside them."""
    blob = {"format": "theorem-lab-violations/1", "records": records}
    if samples is not None:
        blob["samples"] = samples
    with open(path, "w") as fh:
        json.dump(blob, fh, indent=1, default=_json_default)


class SampleLog:
    """Every sample of a check: per (lemma, statement, sample) its lhs, rhs, ratio, whether it
    holds and the statement's kind, with the sampled configuration (stored once per sample and
    referenced by index). Saved under "samples" of the ``--save`` file; the slack figure reads it."""

    FORMAT = "theorem-lab-check-samples/1"

    def __init__(self, **meta):
        self.meta, self.configs, self.rows = meta, [], []

    def add(self, lemma: str, index: int, config: dict, checks: dict, kind) -> None:
        """``checks``: {statement: Check} of one sample; ``kind(statement)`` its kind."""
        self.configs.append(config)
        ref = len(self.configs) - 1
        for name, chk in checks.items():
            self.rows.append({"lemma": lemma, "statement": name, "kind": kind(name),
                              "sample": index, "lhs": chk.lhs, "rhs": chk.rhs,
                              "ratio": chk.ratio, "holds": chk.holds, "config": ref})

    def to_dict(self) -> dict:
        from theorem_lab.output import finite
        return finite({"format": self.FORMAT, **self.meta, "configs": self.configs,
                       "rows": self.rows})


def load_samples(path) -> "dict | None":
    """The "samples" of a file written by ``check`` (None if it has none: an older file, a
    packaged finding)."""
    with open(path) as fh:
        return json.load(fh).get("samples")


def refuting_findings() -> "dict[tuple, list]":
    """{(lemma, statement): [finding ids]} from the packaged counterexamples: a finding refutes
    the statements its records fail (``I-6-p0.json`` is a second counterexample of I-6)."""
    import re
    out: dict = {}
    for name, source in sorted(packaged_findings().items()):
        fid = re.match(r"I-\d+", name).group(0)
        with source.open() as fh:
            for rec in json.load(fh)["records"]:
                ids = out.setdefault((rec["lemma"], rec["statement"]), [])
                if fid not in ids:
                    ids.append(fid)
    return out


def packaged_findings() -> "dict[str, object]":
    """The counterexamples shipped with the package (``proofs_check/findings/<id>.json``, the files
    FINDINGS.md cites), by id: ``{"I-8": <Traversable>, ...}``."""
    from importlib.resources import files
    folder = files("theorem_lab.proofs_check") / "findings"
    return {f.name[:-len(".json")]: f for f in folder.iterdir() if f.name.endswith(".json")}


def load_violations(path) -> list:
    """Records of a violations file: a path, or the id of a packaged finding (``I-8``)."""
    from theorem_lab.errors import fail
    known = packaged_findings()
    source = known.get(str(path), path)
    if str(path) not in known and not os.path.isfile(path):     # a FIFO or /dev/zero would hang
        raise fail("--replay", "check", "a violations JSON file written by 'theorem-lab check' or "
                   f"a packaged finding ({', '.join(sorted(known))})", str(path))
    try:
        with (source.open() if str(path) in known else open(source)) as fh:
            blob = json.load(fh)
        return list(blob["records"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise fail("--replay", "check", f"a file written by 'theorem-lab check' (a violations "
                   f"JSON) or a packaged finding ({', '.join(sorted(known))}); reading it "
                   f"failed: {exc}", str(path)) from None


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))
