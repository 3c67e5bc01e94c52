"""Every bad input refused at the boundary: one table, one test, one message template (issue 9).

Each row is a command line and the option its message must name. Run in-process through
``theorem_lab.cli.main``; every command's *work* (training, eigendecompositions, figures, the
export itself) is replaced by a function that fails the test, so a row whose input slips past
validation fails at once instead of running. The contract per row: exit code 2, exactly one line
on stderr, ``The '<option>' parameter of <command> must be …`` (or argparse's own one line),
no traceback, nothing on stdout.

The memory estimates are compared with a fixed 8 GiB (``available_memory`` patched), so the size
rows refuse the same way on every machine; ``test_available_memory_is_read`` checks the real one.
The public Python functions have their own table below (``API_CASES``), same template.
"""

from __future__ import annotations

import importlib.util
import os
import re

import numpy as np
import pytest

import theorem_lab as tl
from theorem_lab.backend import cuda_available
from theorem_lab.cli import main

S = ["sweep", "--n", "60", "--clusters", "3", "--dim", "5", "--width", "64", "--steps", "50",
     "--workers", "1", "--no-figure", "--out", "{tmp}/x"]
W = ["width-search", "--n", "60", "--clusters", "3", "--dim", "5", "--steps", "50", "--k-min", "2",
     "--k-max", "8", "--seeds", "1"]
A = ["air", "--n", "60", "--K", "3", "--d", "5", "--width", "64", "--seeds", "1",
     "--iterations", "50", "--every", "10", "--out", "{tmp}/y"]
AN = A + ["--figure", "none"]
C = ["constants", "--n", "100", "--clusters", "5", "--rho", "0.3", "--delta", "0.1",
     "--activation", "tanh"]
K = ["check", "--samples", "2", "--save", "{tmp}/v.json"]
BS = ["bench", "step", "--n", "50", "--dim", "5", "--width", "16", "--repeats", "1"]
BG = ["bench", "gram", "--n", "20", "--dim", "4", "--width", "16", "--repeats", "1", "--no-memory"]
BM = ["bench", "many", "--runs", "2", "--n", "12", "--dim", "3", "--width", "8", "--steps", "3",
      "--n-test", "4", "--rounds", "1"]
E = ["export", "{run}"]
F = ["figures", "{run}"]
R = ["report", "{run}"]

BIG = "100000000"            # 10⁸
NONNUMBERS = ["x", "nan", "inf", "-inf", "1e999", ""]


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def rows(prefix, option, values, name=None):
    """One row per value: prefix + [option, value], naming ``name`` (default the option)."""
    return [(prefix + [option, v], name or option) for v in values]


CASES = []

# --- the issue's cases, as filed ----------------------------------------------------------------
CASES += [
    (S + ["--dim", "1000000000"], "--dim"),
    (S + ["--n", BIG], "--n"),
    (S + ["--n", BIG, "--width", BIG], "--n"),
    (W + ["--k-max", BIG], "--k-max"),
    (A + ["--figure", "2", "--width", BIG], "--width"),
    (C + ["--n", BIG, "--from-data", "--d", "5"], "--n"),
    (["bench", "step", "--n", BIG, "--k", BIG], "--n"),
    (["bench", "gram", "--n", "60", "--k", BIG], "--width"),
    (S + ["--min-separation", "1.99", "--clusters", "20", "--n", "60"], "--min-separation"),
    (AN + ["--d", "0"], "--dim"), (AN + ["--eps", "nan"], "--eps"), (AN + ["--eps", "inf"], "--eps"),
    (AN + ["--seeds", "-1"], "--seeds"), (AN + ["--K", "100"], "--n"),
    (W + ["--clusters", "0"], "--clusters"), (W + ["--dim", "0"], "--dim"),
    (C + ["--n", "5"], "--n"), (C + ["--d", "0"], "--dim"), (C + ["--c3", "0"], "--c3"),
    (C + ["--c4", "-2"], "--c4"),
    (AN + ["--seed-list", "0,,1"], "--seed-list"), (AN + ["--seed-list", "0,"], "--seed-list"),
    (AN + ["--seed-list", "0,0"], "--seed-list"), (AN + ["--seeds", "0,1"], "--seeds"),
    (A + ["--figure", ""], "--figure"), (A + ["--figure", "2,,5"], "--figure"),
    (A + ["--figure", "2,2"], "--figure"),
    (S + ["--out", ""], "--out"), (E + ["--out", ""], "--out"), (F + ["--out", ""], "--out"),
    (R + ["--out", ""], "--out"), (S + ["--name", ""], "--name"),
    (S[:-2] + ["--name", "../../x"], "--name"), (F + ["--which", "trajectories", "--out", "{tmp}/afile/"], "--out"),
    (E + ["--out", "/dev/null"], "--out"), (E + ["--out", "{tmp}/link"], "--out"),
    (AN + ["--labels", "{tmp}/nan.npy", "--json"], "--labels"),
]

# --- sweep: every grid option, bad numbers, bad lists ------------------------------------------
for opt in ("--n", "--clusters", "--dim", "--n-test", "--width", "--steps", "--log-every"):
    CASES += rows(S, opt, ["x", "1.5", "-3", "", "1,,2", "64,"])
for opt in ("--eps", "--rho", "--min-separation", "--rho-h"):
    CASES += rows(S, opt, NONNUMBERS + ["-0.1", "0.1,0.1", "0.1,"])
CASES += rows(S, "--eps", ["0", "2.5"]) + rows(S, "--rho", ["0.5", "0.7"])
CASES += rows(S, "--min-separation", ["2.1"]) + rows(S, "--rho-h", ["0.5", "auto"])
CASES += rows(S, "--width", ["63", "0", "64,64", "64,65"]) + rows(S, "--n", ["1", "5"])
CASES += rows(S, "--clusters", ["1", "40"], name=None)
CASES[-1] = (CASES[-1][0], "--n")                 # 40 clusters need n >= 80: blames --n
CASES += rows(S, "--steps", ["0"]) + rows(S, "--log-every", ["0"]) + rows(S, "--n-test", ["-1"])
CASES += rows(S, "--lr", ["fast", "0", "-1", "nan", "inf", "auto,auto", "auto,", ""])
for opt, good in (("--activation", "tanh"), ("--label-fn", "clipped"), ("--backend", "numpy"),
                  ("--device", "cpu"), ("--dtype", "float64"), ("--methods", "gd")):
    CASES += rows(S, opt, ["bogus", "", f"{good},{good}", f"{good},", f",{good}"])
# without the hardware or library they need, named as the options (not backend='cupy', device=)
CASES += rows(S, "--device", ["cuda"] if not cuda_available() else [])
CASES += [(S + ["--backend", "numpy", "--device", "cuda"], "--device")]
if importlib.util.find_spec("cupy") is None:
    CASES += rows(S, "--backend", ["cupy"])
CASES += rows(S, "--schedule", ["bogus", "linear:end=0", "linear:tau=3", "", "linear,linear",
                                "linear,"])
CASES += rows(S, "--seeds", ["0", "-1", "x", "1.5", "0,1", ""])
CASES += rows(S, "--workers", ["0", "-2", "x", ""]) + rows(S, "--executor", ["dask", ""])
CASES += [(S + ["--address", "localhost:1"], "--address")]
CASES += rows(S, "--wait", ["x", "-1", "nan"])
CASES += rows(S[:-2], "--name", [".hidden", "a/b", "..", "sp ace", "x\\y"])
CASES += [(S[:-2] + ["--out", "{tmp}/afile"], "--out"), (S[:-2] + ["--out", "/dev/null"], "--out"),
          (S + ["--n", "10", "--rho", "0.45"], "--rho")]

# --- width-search ---------------------------------------------------------------------------------
for opt in ("--n", "--clusters", "--dim", "--steps", "--k-min", "--k-max", "--seeds"):
    CASES += rows(W, opt, ["x", "0", "-4", "1.5"])
for opt in ("--eps", "--rho", "--fraction"):
    CASES += rows(W, opt, ["x", "nan", "inf", "-1"])
CASES += rows(W, "--k-min", ["3"]) + rows(W, "--k-max", ["7"]) + rows(W, "--rho", ["0.5"])
CASES += [(W + ["--k-min", "16", "--k-max", "8"], "--k-max"), (W + ["--n", "4"], "--n"),
          (W + ["--eps", "3"], "--eps"), (W + ["--fraction", "0"], "--fraction"),
          (W + ["--fraction", "2"], "--fraction"), (W + ["--activation", "gelu"], "--activation"),
          (W + ["--schedule", "cosine"], "--schedule"), (W + ["--schedule", "linear:end=0"], "--schedule"),
          (W + ["--n", "10", "--clusters", "5", "--rho", "0.45"], "--rho")]
# width-search lists (issue 13): --n, --rho, --eps take comma lists; --out a directory
CASES += rows(W, "--n", ["", "60,,120", "60,", ",60", "60,60", "60,x", "60,1", "60, 60"])
CASES += rows(W, "--rho", ["", "0.1,", "0.1,0.1", "0.1,0.5", "0.1,x"])
CASES += rows(W, "--eps", ["", "0.05,,0.1", "0.05,0.05", "0.05,0", "0.05,nan", "0.05,3"])
CASES += rows(W, "--out", ["", "{tmp}/afile", "/dev/null", "{tmp}/afile/x"])
CASES += [(W + ["--n", "60,5", "--clusters", "3"], "--n"),            # the second n is < 2K
          (W + ["--n", "60,100000000"], "--n"),                       # the largest n is sized
          (W + ["--n", "60,10", "--clusters", "5", "--rho", "0.45"], "--rho")]

# --- air --------------------------------------------------------------------------------------------
for opt in ("--n", "--clusters", "--dim", "--width", "--seeds", "--iterations", "--every", "--step"):
    CASES += rows(AN, opt, ["x", "-1", "1.5", ""])
CASES += rows(AN, "--K", ["0", "1"], name="--clusters") + rows(AN, "--d", ["1"], name="--dim")
for opt in ("--eps", "--rho", "--lr"):
    CASES += rows(AN, opt, NONNUMBERS + ["-1"])
CASES += rows(AN, "--noise", ["x", "0.6", "nan", "", "0,,0.1", "0.1,0.1", "0.1,"])
CASES += rows(AN, "--topk", ["0", "x", "", "1,,2", "2,2", "61"])
CASES += rows(AN, "--seed-list", ["", "x", "-1", "1,1", ",1"])
CASES += [(AN + ["--seed-list", "0,1"], "--seeds")]   # both given: one would be ignored
CASES += rows(AN, "--figure", ["3", "none,2", "2,none", "x", "mode", "modes,modes"]) + rows(AN, "--ntk", ["x", ""])
CASES += rows(AN, "--activation", ["gelu", ""]) + rows(AN, "--label-fn", ["x", ""])
CASES += rows(AN, "--schedule", ["x", "linear:end=0", ""])
CASES += rows(AN, "--labels", ["{tmp}/missing.npy", "{tmp}/short.npy", "{tmp}/afile", "{tmp}/adir"])
CASES += [(AN + ["--width", "63"], "--width"), (AN + ["--rho", "0.5"], "--rho"),
          (AN + ["--eps", "0"], "--eps"), (AN + ["--step", "3"], "--step"),
          (AN + ["--out", ""], "--out"), (AN + ["--out", "{tmp}/afile"], "--out"),
          (AN + ["--n", "7", "--K", "3", "--rho", "0.45"], "--rho")]

# --- constants ----------------------------------------------------------------------------------
for opt in ("--n", "--clusters", "--d", "--seed", "--steps"):
    CASES += rows(C, opt, ["x", "1.5", "-1"], name="--dim" if opt == "--d" else opt)
for opt in ("--rho", "--delta", "--eps", "--c-low", "--c3", "--c4", "--lambda-C", "--Lambda"):
    CASES += rows(C, opt, ["x", "nan", "inf", "-1"])
CASES += rows(C, "--delta", ["0", "1"]) + rows(C, "--c-low", ["0", "1.5"]) + rows(C, "--eps", ["0", "3"])
CASES += rows(C, "--clusters", ["1", "60"], name=None)
CASES[-1] = (CASES[-1][0], "--n")
CASES += [(C + ["--steps", "0"], "--steps"), (C + ["--schedule", "bogus"], "--schedule"),
          (C + ["--schedule", "linear:end=0"], "--schedule"), (C + ["--activation", "gelu"], "--activation"),
          (C + ["--reading", "Z"], "--reading"), (C + ["--lambda-C", "0"], "--lambda-C"),
          (C + ["--from-data", "--n", "10", "--clusters", "5", "--rho", "0.45"], "--rho")]

# constants --reading repaired (issue 14)
CR = C + ["--reading", "repaired"]
CASES += rows(CR, "--across-n", ["x", "", "3", "100,,1000", "100,100", "1e9x", "100.5"])
CASES += rows(CR, "--width-search", ["{tmp}/missing.json", "{tmp}/afile", "{tmp}/adir"])
CASES += rows(C, "--width-search", ["{tmp}/missing.json"])    # without --reading repaired
CASES += rows(C, "--across-n", ["100,1000"])                  # likewise
CASES += rows(C + ["--from-data", "--dim", "5"], "--Lambda", ["0.1"])   # --from-data measures it
CASES += rows(C + ["--from-data", "--dim", "5"], "--lambda-C", ["0.1"])

# --- early-stop-calibration, verdict (issue 14) ----------------------------------------------------
ES = ["early-stop-calibration", "--n", "40", "--clusters", "2", "--rho", "0.3", "--eps", "0.2",
      "--width", "32", "--seeds", "2", "--steps", "100", "--out", "{tmp}/es.json"]
for opt in ("--n", "--clusters", "--width"):
    CASES += rows(ES, opt, ["x", "", "1", "40,,40", "40,40", "-4"])
CASES += rows(ES, "--width", ["33"]) + rows(ES, "--rho", ["0.5", "-0.1", "x", "nan", "0.1,0.1"])
CASES += rows(ES, "--eps", ["0", "3", "inf", ""]) + rows(ES, "--activation", ["gelu", ""])
for opt in ("--dim", "--seeds", "--steps"):
    CASES += rows(ES, opt, ["x", "0", "1.5"])
CASES += rows(ES, "--out", ["", "{tmp}/adir", "/dev/null", "{tmp}/afile/x.json",
                             "{tmp}/afile"])        # an existing file that is not a calibration
CASES += rows(ES, "--seeds", ["1"])                  # one cell x 1 seed: nothing to fit
CASES += [(ES + ["--n", "3"], "--n"), (ES + ["--n", "8", "--clusters", "4", "--rho", "0.45"], "--rho"),
          (ES + ["--n", BIG], "--n")]
V = ["verdict", "--samples", "1", "--save", "{tmp}/verdict.json"]
CASES += rows(V, "--issues", ["I-99", "", "I-10,I-10", "I-10,,I-12", "all"])
CASES += rows(V, "--samples", ["0", "-1", "x"]) + rows(V, "--seed", ["-1", "x"])
CASES += rows(V, "--modewise-widths", ["3", "x", "0", "", "32,32", "131072"])
CASES += rows(V, "--save", ["", "{tmp}/adir", "/dev/null", "{tmp}/afile/v.json"])
CASES += rows(S, "--early-stop-constant", ["x", "0", "-1", "nan", "inf", "bogus", "1,1", ""])

# --- check ------------------------------------------------------------------------------------------
CASES += rows(K, "--lemma", ["9", "", "1,,2", "1,1", "1,", "all,1"])
CASES += rows(K, "--samples", ["0", "-1", "x", "1.5"]) + rows(K, "--seed", ["-1", "x"])
CASES += rows(K + ["--no-figure"], "--samples", ["0"])
CASES += rows(K, "--samples", ["100000000000"])     # its rows would not fit in memory (it ran on)
CASES += rows(K[:-2], "--save", ["", "{tmp}/adir", "{tmp}/adir/", "/dev/null", "{tmp}/link",
                                  "{tmp}/afile/v.json"])
CASES += rows(["check"], "--replay", ["{tmp}/missing.json", "{tmp}/afile", "I-99"])
CASES += [(["check", "--replay", "I-8", opt, val], opt)     # a replay samples and saves nothing
          for opt, val in (("--samples", "3"), ("--seed", "1"), ("--save", "{tmp}/v.json"))]
CASES += [(["check", "--replay", "I-13", "--lemma", "2"], "--lemma")]   # I-13's record is lemma 6's

# --- export, figures, report ----------------------------------------------------------------------
CASES += rows(E, "--format", ["parquet", ""]) + rows(E, "--table", ["x", ""])
CASES += rows(E, "--out", ["{tmp}/adir", "{tmp}/adir/", "{tmp}/fifo", "{tmp}/afile/f.csv",
                            "{tmp}/afile"])    # an existing file without --force
CASES += [(["export", "{tmp}/nothing"], "RUN"), (["export", ""], "RUN"), (["export", "{tmp}/afile"], "RUN")]
CASES += rows(F, "--out", ["{tmp}/link", "/dev/null", "{tmp}/afile/f"])   # a directory is allowed
CASES += rows(F, "--which", ["", "nope", "trajectories,,phase", "phase,phase", "vacuity,vacuity",
                             "slack,", "slak"])
CASES += rows(F, "--format", ["", "gif", "png,png"])
CASES += [(F + ["--which", "trajectories", "--out", "{tmp}/stem"], "--out")]   # stem.png is a symlink
CASES += [(["figures", "{tmp}/nothing"], "RUN"), (["figures", ""], "RUN"),
          (["figures", "{tmp}/adir"], "RUN")]                      # holds no results of any kind
CASES += rows(R, "--out", ["{tmp}/adir", "{tmp}/adir/", "{tmp}/link", "/dev/null", "{tmp}/fifo"])
CASES += [(["report", "{tmp}/nothing"], "RUN"), (["report", "{tmp}/adir"], "RUN")]

# --- lazy, generalization -------------------------------------------------------------------------
L = ["lazy", "--out", "{tmp}/lazy"]
CASES += rows(L, "--width", ["", "8", "8,8", "8,x", "8,7", "0,8", "8,,16"])
for opt in ("--n", "--clusters", "--dim", "--steps", "--track-every"):
    CASES += rows(L, opt, ["0", "-1"])
CASES += rows(L, "--eps", ["-0.1", "3", "nan"]) + rows(L, "--rho", ["0.5", "-0.1", "inf"])
CASES += rows(L, "--activation", ["sigmoid", ""]) + rows(L, "--seed", ["-1"])
CASES += rows(L, "--eps", ["0"]) + rows(L, "--clusters", ["1"]) + rows(L, "--dim", ["1"])
CASES += [(L + ["--n", "6", "--clusters", "4"], "--n"),      # these named make_clusterable's
          (L + ["--n", "8", "--clusters", "4", "--rho", "0.45"], "--rho")]   # 'eps', 'K', 'n', …
CASES += rows(["lazy"], "--out", ["{tmp}/afile", "{tmp}/afile/x"])
CASES += [(["generalization", "{tmp}/nothing"], "RUN"), (["generalization", "{tmp}/adir"], "RUN"),
          (["generalization", ""], "RUN")]

# --- cifar train -----------------------------------------------------------------------------------
CT = ["cifar", "train", "--profile", "smoke", "--dataset", "synthetic", "--out", "{tmp}/ct"]
CASES += rows(CT, "--noise-rate", ["1.0", "-0.1", "nan", "x"]) + rows(CT, "--lam", ["0", "-1"])
CASES += rows(CT, "--batch-size", ["0", "-3"]) + rows(CT, "--epochs", ["0"])
CASES += rows(CT, "--model", ["resnet9000"]) + rows(CT, "--method", ["mixup"])
CASES += rows(CT, "--noise-type", ["bogus"]) + rows(CT, "--val-fraction", ["0.9", "-1"])
CASES += rows(CT, "--momentum", ["1.0"]) + rows(CT, "--synthetic-shape", ["3x31x31", "x"])
CASES += rows(["cifar", "train", "--profile", "smoke", "--dataset", "synthetic"], "--out",
              ["", "{tmp}/afile"])

# --- cifar teacher-epochs, cifar ntk-air ---------------------------------------------------------------
TE = ["cifar", "teacher-epochs", "--profile", "smoke", "--out", "{tmp}/te"]
CASES += rows(TE, "--at", ["0", "x", "1,,2", "1,1", "5", ""]) + rows(TE, "--teachers", ["both"])
CASES += rows(TE, "--temperature", ["0", "-1", "nan", "x"]) + rows(TE, "--soft-weight", ["1.5", "-0.1", "nan"])
CASES += rows(TE, "--teacher-epochs", ["0", "x"]) + rows(TE, "--student-epochs", ["0"])
CASES += rows(TE, "--batch-size", ["0"]) + rows(TE, "--teacher-model", ["vgg"])
CASES += rows(TE, "--student-model", ["vgg"]) + rows(TE, "--dataset", ["imagenet"])
CASES += rows(TE, "--teacher-lr", ["-1", "nan"]) + rows(TE, "--student-lr", ["0"])
CASES += rows(TE, "--synthetic-train", ["5"]) + rows(TE, "--device", ["cuda"] if not _cuda() else [])
CASES += rows(TE[:-2], "--out", ["", "{tmp}/afile"])
CASES += [(TE + ["--dataset", "cifar100"], "--data-dir")]
CASES += [(TE + ["--data-dir", "{tmp}/adir"], "--data-dir")]     # synthetic: it would be ignored
NA = ["cifar", "ntk-air", "--profile", "smoke", "--out", "{tmp}/na"]
CASES += rows(NA, "--noise", ["0.6", "", "0,,1", "0,0", "x"]) + rows(NA, "--seeds", ["0", "x", "1001"])
CASES += rows(NA, "--ntk-batch", ["1", "5", "33", BIG]) + rows(NA, "--model", ["resnet9000"])
CASES += rows(NA, "--dataset", ["mnist"]) + rows(NA, "--gain-noise", ["0.5", "-0.1", "nan"])
CASES += rows(NA, "--lam", ["0"]) + rows(NA, "--lr", ["0", "nan"]) + rows(NA, "--every", ["0"])
CASES += rows(NA, "--iterations", ["0"]) + rows(NA, "--train-steps", ["-1"]) + rows(NA, "--batch-size", ["0"])
CASES += rows(NA, "--train-subset", ["1000"]) + rows(NA, "--synthetic-test", ["1"])
CASES += rows(NA, "--air", ["{tmp}/adir", "{tmp}/nothing", "{tmp}/run"])
CASES += rows(NA, "--device", ["cuda"] if not _cuda() else []) + rows(NA[:-2], "--out", ["", "{tmp}/afile"])
CASES += [(NA + ["--data-dir", "{tmp}/adir"], "--data-dir")]     # smoke is synthetic: ignored
CASES += [(NA + ["--dataset", "cifar10"], "--data-dir"),
          (NA + ["--synthetic-test", "100000", "--ntk-batch", "100000"], "--ntk-batch")]   # an 80 GB Gram
# --- cifar table1 ---------------------------------------------------------------------------------
T1 = ["cifar", "table1", "--profile", "smoke", "--no-figure", "--out", "{tmp}/t1"]
CASES += rows(T1, "--rates", ["1.0", "-0.1", "nan", "x", "", "0,,0.4", "0,0", "0, 0"])
CASES += rows(T1, "--methods", ["mixup", "", "ce,ce", "ce,"]) + rows(T1, "--datasets", ["cifar100", "", "cifar10,cifar10"])
CASES += rows(T1, "--seeds", ["0", "-1", "x", "100000"]) + rows(T1, "--workers", ["0", "x", "-2"])
CASES += rows(T1, "--executor", ["dask", ""]) + rows(T1, "--address", ["localhost:1"])
CASES += rows(T1, "--lam", ["0", "-1", "x", "nan", "inf"]) + rows(T1, "--profile", ["bogus"])
CASES += rows(T1 + ["--rates", "0.3"], "--lam", ["paper"]) + rows(T1, "--data", ["foo", ""])
CASES += rows(T1 + ["--data", "real"], "--data-dir", ["{tmp}/adir"])   # no data files there
CASES += rows(T1, "--data-dir", ["{tmp}/adir"])                        # with --data synthetic
CASES += [(T1 + ["--data", "real"], "--data-dir")]
CASES += rows(T1, "--epochs", ["0", "x"]) + rows(T1, "--width", ["0"]) + rows(T1, "--batch-size", ["0"])
CASES += rows(T1, "--val-fraction", ["0.9", "-1"]) + rows(T1, "--synthetic-signal", ["0", "300", "nan"])
CASES += rows(T1, "--synthetic-train", ["5"]) + rows(T1, "--model", ["resnet9000"])
CASES += rows(T1, "--noise-convention", ["bogus"]) + rows(T1, "--lr", ["0", "-1"])
CASES += rows(T1, "--device", ["tpu"]) + rows(T1, "--augment", ["maybe"])
CASES += rows(["cifar", "table1", "--profile", "smoke"], "--out", ["", "{tmp}/afile"])

# --- bench ----------------------------------------------------------------------------------------
for opt in ("--n", "--dim", "--width", "--repeats"):
    CASES += rows(BS, opt, ["x", "0", "-1"]) + rows(BG, opt, ["x", "0", "-1"])
CASES += rows(BS, "--width", ["15"]) + rows(BG, "--width", ["15"])
CASES += rows(BS, "--k", ["x", BIG], name="--width") + rows(BG, "--d", ["0"], name="--dim")
CASES += rows(BS, "--backends", ["jax", "", "numpy,,torch", "numpy,numpy"])
CASES += rows(BS, "--dtypes", ["float16", "", "float32,float32"])
CASES += rows(BS, "--activation", ["gelu", "tanh,tanh", ""]) + rows(BS, "--engine", ["x", ""])
CASES += rows(BS, "--threads", ["0", "x"]) + rows(BS, "--block-rows", ["0"]) + rows(BS, "--seed", ["-1"])
CASES += rows(BS, "--device", ["tpu", ""]) + rows(BS, "--backends", ["cupy"])   # cupy: CUDA only
CASES += rows(BM, "--device", ["gpu"]) + rows(BM, "--backend", ["jax", "cupy"])
CASES += rows(BM, "--dtype", ["float16"])
if not cuda_available():                         # refused before anything is timed
    CASES += rows(BS, "--device", ["cuda"]) + rows(BM, "--device", ["cuda"])
CASES += rows(BG, "--activation", ["gelu"]) + rows(BG, "--backend", ["jax"])
CASES += rows(BG, "--rtol", ["0", "-1", "nan", "x"])
CASES += [(BS + ["--n", BIG, "--width", "4096"], "--n"), (BG + ["--n", "1000000"], "--n")]
for opt in ("--runs", "--n", "--dim", "--width", "--steps", "--log-every", "--rounds"):
    CASES += rows(BM, opt, ["x", "0", "-1"])
CASES += rows(BM, "--width", ["7"]) + rows(BM, "--clusters", ["0", "13"]) + rows(BM, "--n-test", ["-1"])
CASES += [(BM + ["--runs", "4000", "--n", "50000", "--width", "1000000"], "--runs")]

# --- the second campaign (new bad inputs of the same kinds; each found a gap, now closed) ------
HUGE_STEPS = "1000000000000"  # 10¹²: the α_t arrays alone are 24 TB
CAMPAIGN_2 = [
    (S + ["--steps", HUGE_STEPS], "--steps"),                    # parse_schedule allocated (steps,)
    (S + ["--steps", "100000000", "--log-every", "1"], "--steps"),  # 10⁸ logged rows of dicts
    (S + ["--n-test", BIG], "--n-test"),
    (W + ["--steps", HUGE_STEPS], "--steps"),
    (A + ["--iterations", HUGE_STEPS], "--iterations"),
    (C + ["--schedule", "linear", "--steps", HUGE_STEPS], "--steps"),
    (C + ["--from-data", "--d", "1000000000"], "--dim"),
    (AN + ["--ntk", "infinite", "--n", "1000000"], "--n"),
    (S + ["--schedule", "linear:end=10,end=20"], "--schedule"),  # a key given twice: last one won
    (S + ["--schedule", "linear:end=nan"], "--schedule"),
    (["check", "--replay", "/dev/zero"], "--replay"),            # json.load read it forever
    (["check", "--replay", "{tmp}/fifo"], "--replay"),           # open() blocked on the FIFO
    (K[:-2] + ["--save", "{tmp}/fifo"], "--save"),
    (E + ["--out", "{run}/results.sqlite"], "--out"),            # the CSV replaced the store
    (R + ["--out", "{run}/summary.json"], "--out"),               # the report replaced the summary
    (R + ["--out", "{run}/results.sqlite"], "--out"),
    (AN + ["--noise", " "], "--noise"), (S + ["--width", "64, 64"], "--width"),
    (S + ["--methods", "gd, gd"], "--methods"),
    (S + ["--seeds", "1000000000"], "--seeds"),                  # 3·10⁹ planned runs in memory
    (W + ["--seeds", "1000000000"], "--seeds"),                  # one data set per seed
    (AN + ["--seeds", "10000000000"], "--seeds"),                # tuple(range(10¹⁰))
    (BS + ["--repeats", "10000000000"], "--repeats"), (BG + ["--repeats", "10000000000"], "--repeats"),
    (R + ["--out", "{run}/trajectories.png"], "--out"),
]
CASES += CAMPAIGN_2

CASES = list({tuple(a): (a, o) for a, o in CASES}.values())   # the issue's rows repeat a few generic ones
ISSUE_ROWS = 37                                                 # the first 37 rows: the issue's cases


class WorkStarted(AssertionError):
    """A bad input got past validation: the command started its work."""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The files the rows point at, made once (no row writes any of them)."""
    from theorem_lab.simulations.store import ResultStore
    tmp_path = tmp_path_factory.mktemp("bad-input")
    run = tmp_path / "run"
    ResultStore(run).close()
    (run / "summary.json").write_text("{}")
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    np.save(tmp_path / "nan.npy", np.full(60, np.nan))
    np.save(tmp_path / "short.npy", np.ones(5))
    os.symlink(tmp_path / "afile", tmp_path / "link")
    os.symlink(tmp_path / "afile", tmp_path / "stem.png")
    os.mkfifo(tmp_path / "fifo")
    return {"tmp": str(tmp_path), "run": str(run)}


@pytest.fixture
def workspace(files, monkeypatch):
    """The files, the work functions replaced, and 8 GiB of 'available' memory."""
    from theorem_lab import errors
    from theorem_lab.simulations.store import ResultStore
    monkeypatch.setattr(errors, "available_memory", lambda: 8 * 2 ** 30)
    monkeypatch.chdir(files["tmp"])             # a default --out never lands in the checkout

    def started(*args, **kwargs):
        raise WorkStarted("validation let this input through")
    for target in ("theorem_lab.simulations.sweep.execute", "theorem_lab.simulations.air.figure2",
                   "theorem_lab.simulations.air.figure5", "theorem_lab.simulations.air._instance",
                   "theorem_lab.simulations.width_search_cli.search_all",
                   "theorem_lab.proofs_check.constants_cli.quantities",
                   "theorem_lab.proofs_check.check_cli.run_checks",
                   "theorem_lab.proofs_check.repaired.evaluate_instance",
                   "theorem_lab.proofs_check.verdict_cli.sample",
                   "theorem_lab.simulations.early_stop_calibration_cli.calibrate",
                   "theorem_lab.simulations.store.ResultStore.export_csv",
                   "theorem_lab.figures.trajectory_figure.load",
                   "theorem_lab.simulations.lazy.run",
                   "theorem_lab.simulations.cifar.session.Session",
                   "theorem_lab.simulations.cifar.teacher_epochs.run",
                   "theorem_lab.simulations.cifar.ntk_air.run",
                   "theorem_lab.simulations.cifar.table1_cli._run",
                   "theorem_lab.simulations.generalization.analyse",
                   "theorem_lab.figures.report.write_report",
                   "theorem_lab.simulations.bench_step.measure",
                   "theorem_lab.simulations.bench_gram.problem"):
        module, name = target.rsplit(".", 1)
        if name == "export_csv":
            monkeypatch.setattr(ResultStore, name, started)
        else:
            monkeypatch.setattr(module + "." + name, started)
    return files


def _argv(row, places):
    return [a.format(**places) for a in row]


@pytest.mark.parametrize("argv, option", CASES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in CASES])
def test_bad_command_line_exits_2_naming_the_option(argv, option, workspace, capsys):
    try:
        rc = main(_argv(argv, workspace))
    except SystemExit as exc:          # argparse's own errors (the same one-line template)
        rc = exc.code
    out, err = capsys.readouterr()
    assert rc == 2, (rc, err)
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and out == ""
    command = argv[0] if argv[0] not in ("bench", "cifar") else " ".join(argv[:2])
    assert err.startswith(f"theorem-lab {command}: error: "), err
    assert f"The '{option}' parameter of {command} must be " in err, err
    assert err.count(" parameter of ") == 1, err      # no inner error quoted inside the message
    assert re.search(r"Got .+ instead\.", err), err


def _typed_options(kind):
    """(command words, option) for every option of every command whose argparse type is
    ``kind`` (``errors.integer``, ``errors.real``), found by walking the parsers (a new option is
    covered without a row)."""
    import argparse

    from theorem_lab import cli

    def walk(parser, path):
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    yield from walk(sub, path + [name])
            elif a.option_strings and a.type is kind:
                yield path, a.option_strings[0]

    found = []
    for command in cli.COMMANDS:
        root = next(a for a in cli.build_parser(command)._actions
                    if isinstance(a, argparse._SubParsersAction)).choices[command]
        found += list(walk(root, [command]))
    return found


from theorem_lab.errors import integer as _integer, real as _real   # noqa: E402

INTEGER_OPTIONS = _typed_options(_integer)
REAL_OPTIONS = _typed_options(_real)
# what a command needs before it reaches its typed options (the data, for these two)
_BEFORE = {("cifar", "table1"): ["--data", "synthetic", "--profile", "smoke", "--out", "{tmp}/t1"],
           ("cifar", "teacher-epochs"): ["--profile", "smoke", "--out", "{tmp}/te"]}   # no CIFAR-100


@pytest.mark.parametrize("words, option", INTEGER_OPTIONS,
                         ids=[" ".join(w + [o]) for w, o in INTEGER_OPTIONS])
def test_every_integer_option_refuses_a_fraction_naming_its_range(words, option, workspace, capsys):
    """argparse's type=int said only "must be an integer" for '--k-min 2.5'; each option now
    reaches its own check, which names the allowed range, before any work (bench step --batch
    was checked after 30 s of timing)."""
    argv = words + [a.format(**workspace) for a in _BEFORE.get(tuple(words), [])] + [option, "2.5"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"The '{option}' parameter of {' '.join(words)} must be " in err, err
    assert re.search(r"integer in [\[(]-?[\dinf]+, [\dinf]+[\])]\. Got '2\.5' instead\.$", err.strip()), err
    assert err.count("\n") == 1


@pytest.mark.parametrize("words, option", REAL_OPTIONS, ids=[" ".join(w + [o]) for w, o in REAL_OPTIONS])
def test_every_real_option_refuses_a_word_naming_its_range(words, option, workspace, capsys):
    """Likewise for real options: argparse's type=float said only "must be a real number"."""
    argv = words + [a.format(**workspace) for a in _BEFORE.get(tuple(words), [])] + [option, "x"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"The '{option}' parameter of {' '.join(words)} must be " in err, err
    assert re.search(r"real number in [\[(]-?[\d.einf+-]+, [\d.einf+-]+[\])]\. Got 'x' instead\.$",
                     err.strip()), err
    assert err.count("\n") == 1


def test_typed_options_are_found():
    assert len(INTEGER_OPTIONS) >= 60 and (["width-search"], "--k-min") in INTEGER_OPTIONS
    assert len(REAL_OPTIONS) >= 25 and (["constants"], "--delta") in REAL_OPTIONS


def test_the_table_covers_every_command_and_is_large():
    commands = {a[0] if a[0] not in ("bench", "cifar") else " ".join(a[:2]) for a, _ in CASES}
    assert commands == {"sweep", "width-search", "air", "constants", "check", "export", "figures",
                        "report", "bench step", "bench gram", "bench many", "lazy", "generalization", "cifar train",
                        "cifar teacher-epochs", "cifar ntk-air", "early-stop-calibration", "verdict",
                        "cifar table1"}
    assert len(CASES) >= 300


def test_available_memory_is_read():
    from theorem_lab.errors import available_memory
    avail = available_memory()
    assert 2 ** 20 < avail < 2 ** 60


# --- the public Python functions -------------------------------------------------------------------

def _api_cases():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3))
    W = rng.standard_normal((8, 3))
    nanX, infW = X.copy(), W.copy()
    nanX[1, 2] = np.nan
    infW[0, 0] = np.inf
    data = tl.make_clusterable(n=8, K=2, d=3, eps=0.1, rho=0.0, seed=0, n_test=0)
    net = tl.TwoLayerNet.init(d=3, k=8, seed=0)
    net4 = tl.TwoLayerNet.init(d=4, k=8, seed=0)
    cases = []
    for f in (tl.jacobian_gram, tl.sigma_min):
        cases += [
            (f, (W, nanX, "tanh"), {}, "X"), (f, (infW, X, "tanh"), {}, "W"),
            (f, (W, X[0], "tanh"), {}, "X"), (f, (W, X[:0], "tanh"), {}, "X"),
            (f, (W, np.ones((6, 3, 1)), "tanh"), {}, "X"), (f, (W[0], X, "tanh"), {}, "W"),
            (f, (rng.standard_normal((8, 4)), X, "tanh"), {}, "W"),
            (f, (W, X, "gelu"), {}, "activation"), (f, (W, X, "tanh"), {"v": np.ones(7)}, "v"),
            (f, (W, X, "tanh"), {"v": np.full(8, np.nan)}, "v"),
            (f, (W, "notarray", "tanh"), {}, "X"), (f, ([[1.0]], X, "tanh"), {}, "W"),
            (f, (W, np.broadcast_to(X[:1], (10 ** 6, 3)), "tanh"), {}, "X"),   # an 8 TB Gram
        ]
    cases += [(tl.jacobian_gram, (W, X, "tanh"), {"block": 0}, "block"),
              (tl.jacobian_gram, (W, X, "tanh"), {"block": 1.5}, "block"),
              (tl.jacobian_gram, (W, X, "tanh"), {"W2": W[:4]}, "W2"),
              (tl.jacobian_gram, (W, X, "tanh"), {"W2": infW}, "W2"),
              (tl.sigma_min, (W, X, "tanh"), {"basis": np.ones((5, 2))}, "basis"),
              (tl.sigma_min, (W, X, "tanh"), {"basis": np.full((6, 2), np.inf)}, "basis")]
    cases += [(tl.infinite_width_gram, (nanX, "tanh"), {}, "X"),
              (tl.infinite_width_gram, (X[0], "tanh"), {}, "X"),
              (tl.infinite_width_gram, (X[:0], "tanh"), {}, "X"),
              (tl.infinite_width_gram, (X, "gelu"), {}, "activation"),
              (tl.infinite_width_gram, (np.broadcast_to(X[:1], (10 ** 6, 3)), "erf"), {}, "X")]
    cases += [(tl.train, ("notdata", net), {}, "data"), (tl.train, (data, "notnet"), {}, "net"),
              (tl.train, (data, net4), {}, "net.W"),
              (tl.train, (data, net.with_weights(infW)), {}, "net.W"),
              (tl.train, (data, net), {"steps": 0}, "steps"),
              (tl.train, (data, net), {"method": "sgd"}, "method"),
              (tl.train, (data, net), {"lr": -1.0}, "lr"),
              (tl.train, (data, net), {"lr": float("nan")}, "lr"),
              (tl.train, (data, net), {"log_every": 0}, "log_every"),
              (tl.train, (data, net), {"rho_h": 0.5}, "rho_h"),
              (tl.train, (data, net), {"schedule": "bogus"}, "schedule"),
              (tl.train, (data, net), {"track_every": 0}, "track_every"),
              (tl.train, (data, net), {"early_stop_constant": 0}, "early_stop_constant"),
              (tl.train, (data, net), {"early_stop_constant": "oracle"}, "early_stop_constant"),
              (tl.train, (data, net), {"early_stop_constant": float("nan")}, "early_stop_constant")]
    cases += [(tl.TwoLayerNet.init, (), {"d": 5, "k": 10 ** 12}, "k"),
              (tl.TwoLayerNet.init, (), {"d": 0, "k": 8}, "d"),
              (tl.TwoLayerNet.init, (), {"d": 5, "k": 7}, "k"),
              (tl.TwoLayerNet.init, (), {"d": 5, "k": 8, "seed": -1}, "seed"),
              (tl.TwoLayerNet.init, (), {"d": 5, "k": 8, "activation": "gelu"}, "activation")]
    cases += [  # the second campaign
        (tl.make_clusterable, (), {"n": 10 ** 10}, "n"),
        (tl.TwoLayerNet.init, (), {"d": 10 ** 12, "k": 2}, "d"),
        (tl.train, (data, net), {"steps": 10 ** 12}, "steps"),
        (tl.parse_schedule, ("linear", 10 ** 12), {}, "steps"),
        (tl.parse_schedule, ("linear:end=3,end=4", 10), {}, "schedule"),
        (tl.sigma_min, (W, X, "tanh"), {"basis": np.ones(6)}, "basis"),
        (tl.jacobian_gram, (W, X, "tanh"), {"v": np.ones((8, 1))}, "v"),
    ]
    cases += [(tl.make_clusterable, (), {"n": 5, "K": 3}, "n"),
              (tl.make_clusterable, (), {"eps": float("nan")}, "eps"),
              (tl.make_clusterable, (), {"rho": 0.5}, "rho"),
              (tl.make_clusterable, (), {"d": 1}, "d")]
    return cases


API_CASES = _api_cases()


@pytest.mark.parametrize("f, args, kwargs, name", API_CASES,
                         ids=[f"{f.__name__}-{n}-{i}" for i, (f, _, _, n) in enumerate(API_CASES)])
def test_bad_python_call_raises_parameter_error_naming_it(f, args, kwargs, name, monkeypatch):
    from theorem_lab import errors
    monkeypatch.setattr(errors, "available_memory", lambda: 8 * 2 ** 30)
    with pytest.raises(tl.ParameterError) as exc:
        f(*args, **kwargs)
    msg = str(exc.value)
    assert msg.startswith(f"The '{name}' parameter of "), msg
    assert " must be " in msg and re.search(r"Got .+ instead\.$", msg), msg


def test_reword_states_an_inner_error_as_the_outer_option():
    from theorem_lab.errors import ParameterError, fail, reword
    same = fail("schedule", "train", "one of 'a', 'b'", "c")
    assert str(reword(same, "--schedule", "sweep", "a valid α_t spec", "c")) == (
        "The '--schedule' parameter of sweep must be a valid α_t spec: one of 'a', 'b'. "
        "Got 'c' instead.")
    inner = fail("end", "linear", "an integer in [1, 50]", 0)
    assert str(reword(inner, "--schedule", "sweep", "a valid α_t spec", "linear:end=0")) == (
        "The '--schedule' parameter of sweep must be a valid α_t spec ('end' must be an integer "
        "in [1, 50]; got 0). Got 'linear:end=0' instead.")
    other = ParameterError("no such schedule")
    assert str(reword(other, "--schedule", "air", "a valid α_t spec", "x")) == (
        "The '--schedule' parameter of air must be a valid α_t spec (no such schedule). "
        "Got 'x' instead.")
