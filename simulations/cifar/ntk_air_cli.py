"""`theorem-lab cifar ntk-air`: Figures 2 and 5 of the paper on ResNet-56's empirical NTK.

    theorem-lab cifar ntk-air --profile fast --data-dir DATA            # CIFAR-10, binary task
    theorem-lab cifar ntk-air --profile fast --data-dir DATA --air runs/air   # + synthetic beside
    theorem-lab cifar ntk-air --profile smoke                          # synthetic, CPU, about a minute

Prints ρ₅(y) = ‖P₅y‖/‖y‖ per label-noise level (init and trained, mean ± sd over seeds), the
NTK's smallest eigenvalue (the PSD check) and the information gain ρ₅(ŷ_t) − ρ₅(y) of
self-distillation; writes ``<out>/ntk_air.json`` and the figures ``<out>/ntk_air_figure2`` and
``<out>/ntk_air_figure5`` (PNG + PDF). Every (stage, noise level, seed) of Figure 2 and every
seed of Figure 5 is a stored record in ``<out>/results.sqlite``: a rerun recomputes nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from theorem_lab.errors import ParameterError, check_choice, fail, parse_int, parse_list, parse_real
from theorem_lab.output import check_output_dir, strict_json

from . import ntk_air as NA
from .config import resolve_device

_OWNER = "cifar ntk-air"
DATASETS = ("cifar10", "synthetic")
TEST_IMAGES = {"cifar10": 10000}


def configure(parser):
    a = parser.add_argument
    parser.description = (parser.description or "") + ". Profile costs: " + "; ".join(
        f"{k}: {v}" for k, v in NA.COST.items())
    a("--profile", choices=sorted(NA.PROFILES), default="fast",
      help=f"paper, fast (default), smoke. Cost of paper: {NA.COST['paper']}")
    a("--dataset", default=None, help="cifar10 (paper, fast) or synthetic (smoke)")
    a("--data-dir", default=None, help="folder with the CIFAR-10 python archive")
    a("--train-subset", default=None, help="random subset of N training images (0 = all)")
    a("--synthetic-train", default=None, help="synthetic training images")
    a("--synthetic-test", default=None, help="synthetic test images")
    a("--model", default=None, help="resnet56 (paper, fast), resnet20 or resnet8 (smoke)")
    a("--ntk-batch", default=None, help="test images in the NTK batch X_B, > 5 (paper 128)")
    a("--noise", default=None, metavar="LIST", help="Figure 2 label-noise levels (default 0,0.1,...,0.5)")
    a("--seeds", default=None, metavar="S", help="seeds 0..S-1 (paper 5, fast 3, smoke 2)")
    a("--train-steps", default=None, help="Figure 2 'after training': SGD steps on the clean labels")
    a("--iterations", default=None, help="Figure 5 horizon in SGD steps (default 1500)")
    a("--every", default=None, help="Figure 5: compute Θ every this many steps")
    a("--gain-noise", default=None, help="Figure 5 label noise in [0, 0.5) (default 0.2)")
    a("--lam", default=None, help="λ of the adaptive α_t (default 1)")
    a("--lr", default=None, help="SGD learning rate (default 0.1, the appendix's)")
    a("--batch-size", default=None, help="SGD batch (default 128, the appendix's)")
    a("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default auto")
    a("--air", default=None, metavar="RUN", help="a `theorem-lab air` output folder: its Figures 2 "
      "and 5 (synthetic clusterable data) drawn beside")
    a("--out", default="runs/ntk-air", help="results folder (default runs/ntk-air)")
    a("--json", action="store_true", help="print the summary as JSON on stdout")
    a("--no-figure", action="store_true", help="do not draw the figures")


def _int(args, name, low, high=None):
    v = getattr(args, name)
    return None if v is None else parse_int(v, "--" + name.replace("_", "-"), _OWNER, low=low, high=high)


def resolve_config(args) -> NA.NtkAirConfig:
    """Every option checked before any data is read or a model built."""
    o = {}
    o["dataset"] = None if args.dataset is None else check_choice("--dataset", args.dataset, _OWNER, DATASETS)
    o["model"] = None if args.model is None else check_choice("--model", args.model, _OWNER, tuple(NA.DEPTHS))
    for name, low in (("train_subset", 0), ("synthetic_train", 20), ("synthetic_test", 2),
                      ("ntk_batch", NA.TOP_K + 1), ("train_steps", 0), ("iterations", 1), ("every", 1),
                      ("batch_size", 1)):
        o[name] = _int(args, name, low, 10 ** 7)
    if args.noise is not None:
        o["noise_levels"] = tuple(parse_list(args.noise, "--noise", _OWNER, item=lambda t: parse_real(
            t, "--noise", _OWNER, low=0.0, high=0.5)))
    if args.seeds is not None:
        o["seeds"] = tuple(range(parse_int(args.seeds, "--seeds", _OWNER, low=1, high=1000)))
    if args.gain_noise is not None:
        o["gain_noise"] = parse_real(args.gain_noise, "--gain-noise", _OWNER, low=0.0, high=0.5, high_open=True)
    for name in ("lam", "lr"):
        if getattr(args, name) is not None:
            o[name] = parse_real(getattr(args, name), "--" + name, _OWNER, low=0.0, low_open=True)
    try:
        o["device"] = resolve_device(args.device)
    except ParameterError as exc:
        raise ParameterError(str(exc).replace("'device' parameter of cifar train",
                                              f"'--device' parameter of {_OWNER}")) from None
    o["out"] = str(check_output_dir("--out", args.out, _OWNER))
    o["data_dir"] = args.data_dir
    cfg = NA.with_profile(args.profile, o)
    if cfg.dataset != "synthetic" and cfg.data_dir is None:
        raise fail("--data-dir", _OWNER, "the folder with the CIFAR-10 python archive "
                   "(cifar-10-batches-py/ or cifar-10-python.tar.gz)", None)
    if cfg.dataset == "synthetic" and cfg.data_dir is not None:    # it would be ignored
        raise fail("--data-dir", _OWNER, f"left out with --profile {cfg.profile} on synthetic "
                   "data (real CIFAR-10 runs with --profile fast or paper)", cfg.data_dir)
    tests = TEST_IMAGES.get(cfg.dataset, cfg.synthetic_test)
    if cfg.ntk_batch > tests:
        raise fail("--ntk-batch", _OWNER, f"an integer in [{NA.TOP_K + 1}, {tests}] (more than the "
                   f"{NA.TOP_K} eigenvectors of ρ₅, at most the test images)", cfg.ntk_batch)
    if cfg.train_subset and cfg.dataset == "synthetic" and cfg.train_subset > cfg.synthetic_train:
        raise fail("--train-subset", _OWNER, f"at most --synthetic-train = {cfg.synthetic_train}",
                   cfg.train_subset)
    params = NA.ntk_param_count(cfg)
    NA.NTK.check_gram_fits("--ntk-batch", cfg.ntk_batch, _OWNER, cfg.ntk_batch, params, 4)
    return cfg


def read_air(path) -> "dict | None":
    """Figures 2 and 5 of a `theorem-lab air` run (``RUN/air.json``), checked at the boundary."""
    if path is None:
        return None
    f = Path(path) / "air.json"
    try:
        air = json.loads(f.read_text())
        figs, K = air["figures"], air["config"]["K"]
        return {"K": K, "config": air["config"], "figure2": figs.get("figure2"),
                "figure5": figs.get("figure5"), "source": str(f)}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise fail("--air", _OWNER, "a `theorem-lab air` output folder holding air.json "
                   f"({type(exc).__name__}: {exc})", str(path)) from None


def _print(summary: dict, fh) -> None:
    f2, f5 = summary["figure2"], summary["figure5"]
    fh.write(f"ntk-air [{summary['profile']}] {summary['config']['model']} on "
             f"{summary['config']['dataset']} (classes 2, 7 → +1), NTK batch "
             f"{summary['config']['ntk_batch']}, seeds {summary['seeds']}\n")
    fh.write("Figure 2: ρ₅(y) = ‖P₅y‖/‖y‖ vs label noise p (mean ± sd over seeds)\n")
    fh.write("  p       " + "  ".join(f"{p:>11g}" for p in summary["noise"]) + "\n")
    for stage in NA.STAGES:
        r = f2[stage]
        fh.write(f"  {stage:<8}" + "  ".join(f"{m:.3f}±{s:.3f}" for m, s in zip(r["mean"], r["std"]))
                 + f"   λ_min {min(r['lambda_min']):.3g} (λ_max {max(r['lambda_max']):.3g}, "
                 f"round-off {max(r['roundoff']):.2g})\n")
    fh.write(f"Figure 5: information gain ρ₅(ŷ_t) − ρ₅(y), noise {summary['config']['gain_noise']:g}\n  "
             + ", ".join(f"t={int(t)}: {m:+.3f}" for t, m in list(zip(f5["step"], f5["mean"]))[
                 :: max(1, len(f5["step"]) // 6)])
             + f"; share > 0: {f5['positive_share']:.2f}\n")
    fh.write("settings the paper leaves open:\n" + "".join(f"  {k}: {v}\n" for k, v in summary["open"].items()))
    if summary["profile"] != "paper":
        fh.write(f"profile {summary['profile']}: NOT the paper's setting\n")


def run(args) -> int:
    cfg = resolve_config(args)
    air = read_air(args.air)
    from .data import for_command
    try:
        result = NA.run(cfg, lambda line: print(line, file=sys.stderr, flush=True))
    except ParameterError as exc:       # the data loader's --data-dir error names 'cifar train'
        raise for_command(exc, "cifar ntk-air", download=False) from None
    summary = {"experiment": "ntk-air", "profile": cfg.profile, "config": cfg.hashed(),
               **NA.collect(cfg), "open": NA.OPEN, "computed_now": result["computed"],
               "air": air, "store": cfg.out}
    out = Path(cfg.out)
    (out / "ntk_air.json").write_text(strict_json(summary, indent=2))
    args.run = str(out)
    if args.json:
        print(strict_json(summary, indent=2))
    else:
        _print(summary, sys.stdout)
        print(f"results: {out / 'ntk_air.json'}; records computed now: {result['computed']}")
    return 0
