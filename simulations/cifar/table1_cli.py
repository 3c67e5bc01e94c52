"""`theorem-lab cifar table1`: the paper's Table 1 as a resumable grid, our numbers beside its.

    theorem-lab cifar table1 --profile smoke                       # a CPU, a minute, synthetic
    theorem-lab cifar table1 --data-dir DATA                       # fast profile, real data
    theorem-lab cifar table1 --profile paper --data-dir DATA --executor ray --address auto

The grid is --datasets × --methods × --rates × --seeds; each cell is one stored ``cifar train``
run (the same run_id: a finished cell is never retrained, a killed grid resumes, and ``cifar
train`` with the cell's settings and the same --out finds it). Everything is validated before any
data is read or any cell trained (bad input: one line, exit 2). Cells run in this process, in
local worker processes (``--workers``) or on Ray (``--executor ray [--address]``, one GPU per
cell where the cells run on CUDA); only this process writes the store. On a Ray cluster each
cell checkpoints under the absolute --out path on its node: give an --out that the nodes share
(or can create) for a killed cell to resume there; its finished record comes back either way.

Output: the table on stdout (``--json``: the table as JSON), and in --out ``table1.json``,
``table1.csv``, ``table1.md``, the figures ``table1.png/.pdf`` (accuracy vs noise rate) and
``epochs.png/.pdf`` (Figure 4: CE vs self-distillation along training) unless --no-figure.
Exit 0 when every cell finished, 1 when some failed (their errors are stored), 130 on Ctrl-C.
"""

from __future__ import annotations

import csv
import re
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

from theorem_lab.errors import (ParameterError, check_choice, fail, integer, parse_int, parse_list,
                               parse_real, real)
from theorem_lab.output import check_output_dir, strict_json
from theorem_lab.simulations import executors

from . import table1 as T
from .config import resolve
from .methods import METHODS as ALL_METHODS
from .models import MODELS
from .noise import CONVENTIONS
from .profiles import DEFAULT_PROFILE, PROFILES

_ONOFF = {"on": True, "off": False}
# single-valued TrainConfig options passed to every cell: option -> (type, help)
PASS = {
    "epochs": (integer, "epochs per run (default: the profile's)"),
    "model": (str, "network, one of " + ", ".join(MODELS) + " (default: the profile's)"),
    "width": (integer, "base width w of the fast net"),
    "batch_size": (integer, "mini-batch size"),
    "lr": (real, "peak learning rate of the cosine schedule"),
    "train_subset": (integer, "stratified, seeded subset of N training images (0 = all)"),
    "val_fraction": (real, "noisy validation split in [0, 0.5] (default 0.1)"),
    "noise_convention": (str, "uniform-all (default) or uniform-other; the paper does not say"),
    "synthetic_train": (integer, "synthetic training images per run (--data synthetic)"),
    "synthetic_test": (integer, "synthetic test images per run"),
    "synthetic_signal": (real, "class-template amplitude of the synthetic images (grey levels; "
                                "pixel noise sd 32; lower is harder; default 48)"),
}
COST = """profiles (2 data sets x 5 rates x 4 methods x 3 seeds = 120 runs by default):
  paper  shake-shake 26 2x32d, 600 epochs, batch 128: 120 x 600 = 72,000 epochs of 50-60k images
         (scripts/gpu_check.sh times one such epoch; on one GPU that epoch time x 72,000)
  fast   the fast net, 24 epochs, batch 512: 120 x 24 = 2,880 epochs; the CIFAR-10 40% row
         (4 methods x 3 seeds = 12 runs) is timed by scripts/gpu_check.sh
  smoke  default grid 2 data sets x 2 rates (0, 0.4) x 4 methods x 1 seed = 16 runs of 2 epochs on
         512 synthetic images, width-8 net: about a minute on a 2-core CPU"""


def configure(parser):
    import argparse
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = COST
    g = parser.add_argument_group("grid (comma lists)")
    g.add_argument("--profile", default=DEFAULT_PROFILE,
                   help=f"paper, fast or smoke: the runs' settings and the grid's defaults "
                        f"(default {DEFAULT_PROFILE}; costs below)")
    g.add_argument("--datasets", default=",".join(T.PAPER_DATASETS), metavar="LIST",
                   help="cifar10, fashion-mnist (default both)")
    g.add_argument("--methods", default=",".join(T.METHODS), metavar="LIST",
                   help="self-distill, ce, gce, bootstrap (default all four)")
    g.add_argument("--rates", default=None, metavar="LIST",
                   help="noise rates p in [0, 1) (default 0,0.2,0.4,0.6,0.8; smoke 0,0.4)")
    g.add_argument("--seeds", default=None, metavar="S",
                   help="seeds 0..S-1; seed s fixes init, data order, augmentation and the label "
                        "noise (default 3; smoke 1)")
    g.add_argument("--data", default=None, help="real (the files in --data-dir) or synthetic "
                   "(images of each data set's shape: 3x32x32, 1x28x28) (default real; smoke synthetic)")
    g.add_argument("--data-dir", default=None, help="folder holding cifar-10-batches-py/ (or the "
                   ".tar.gz) and the Fashion-MNIST IDX files (or FashionMNIST/raw/, fashion-mnist/)")
    g.add_argument("--lam", default="paper", help="self-distill λ: paper (its value per data set "
                   "and rate, §3.4) or a number > 0 for every cell (default paper)")
    t = parser.add_argument_group("every run (default: the profile's)")
    for name, (kind, help_) in PASS.items():
        t.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None, help=help_)
    t.add_argument("--augment", choices=_ONOFF, default=None, help="pad-4 crop + flip (default on)")
    t.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default auto")
    r = parser.add_argument_group("running")
    r.add_argument("--workers", default=None, metavar="W",
                   help="local worker processes (default: the cores on a CPU, 1 on a GPU)")
    r.add_argument("--executor", default="local", help="local (default) or ray")
    r.add_argument("--address", default=None, help="Ray cluster address (with --executor ray)")
    r.add_argument("--out", default="runs/cifar", help="results folder (default runs/cifar, "
                   "the store of cifar train)")
    r.add_argument("--json", action="store_true", help="print the table as JSON on stdout")
    r.add_argument("--no-figure", action="store_true", help="skip the figures")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")


def _choices(text, option, allowed):
    def item(token):
        if token not in allowed:
            raise fail(option, T.OWNER, "a comma list of " + ", ".join(allowed), text)
        return token
    return parse_list(text, option, T.OWNER, item)


def _or(given, default):
    return default if given is None else given


def _validated(args) -> dict:
    """Everything checked, nothing read or run: the grid, the cells' configs and the executor."""
    from .train_cli import as_option

    check_choice("--profile", args.profile, T.OWNER, PROFILES)
    defaults = T.GRID_DEFAULTS[args.profile]
    datasets = _choices(args.datasets, "--datasets", T.PAPER_DATASETS)
    methods = _choices(args.methods, "--methods", ALL_METHODS)
    rates = parse_list(_or(args.rates, defaults["rates"]), "--rates", T.OWNER,
                       lambda tok: parse_real(tok, "--rates", T.OWNER, low=0.0, high=1.0,
                                              high_open=True))
    seeds = parse_int(_or(args.seeds, defaults["seeds"]), "--seeds", T.OWNER, low=1, high=10_000)
    data = _or(args.data, defaults["data"])
    check_choice("--data", data, T.OWNER, ("real", "synthetic"))
    lam = None if args.lam == "paper" else parse_real(args.lam, "--lam", T.OWNER, low=0.0,
                                                      low_open=True)
    if lam is None and "self-distill" in methods:
        for ds in datasets:
            for p in rates:
                if T.paper_lam(ds, p) is None:
                    raise fail("--lam", T.OWNER, "a number when --rates holds a rate the paper "
                               "gives no λ for (it does for 0, 0.2, 0.4, 0.6, 0.8)", args.lam)
    if data == "synthetic" and args.data_dir is not None:
        raise fail("--data-dir", T.OWNER, "left out with --data synthetic", args.data_dir)
    if data == "real" and args.data_dir is None:
        raise fail("--data-dir", T.OWNER, "the folder with the cifar10 / fashion-mnist files "
                   "(or use --data synthetic)", None)
    executors.check_executor(args.executor, args.address, T.OWNER)
    shown = check_output_dir("--out", args.out, T.OWNER)   # as typed: what the messages print
    out = shown.resolve()        # absolute: the cells' stores and checkpoints on any node
    remote_cuda = args.address is not None and args.device == "cuda"   # GPUs on the cluster only
    base = {"profile": args.profile, "data_dir": args.data_dir, "out": str(out), "progress": False,
            "device": "cpu" if remote_cuda else args.device,
            **{k: getattr(args, k) for k in PASS}}
    if args.augment is not None:
        base["augment"] = _ONOFF[args.augment]
    if base["model"] is not None:
        check_choice("--model", base["model"], T.OWNER, MODELS)
    if base["noise_convention"] is not None:
        check_choice("--noise-convention", base["noise_convention"], T.OWNER, CONVENTIONS)
    cells = {}
    for ds in datasets:
        for method in methods:
            for p in rates:
                for s in range(seeds):
                    cell = T.Cell(ds, method, p, s)
                    try:
                        cfg = resolve({**base, **T.cell_options(cell, data, lam)})
                    except ParameterError as exc:
                        raise as_option(exc, T.OWNER) from None
                    cells[cell] = replace(cfg, device="cuda") if remote_cuda else cfg
    first = next(iter(cells.values()))
    workers = ((1 if first.device == "cuda" else executors.cores()) if args.workers is None
               else parse_int(args.workers, "--workers", T.OWNER, low=1, high=4096))
    return {"grid": {"datasets": datasets, "methods": methods, "rates": rates,
                     "seeds": list(range(seeds))},
            "cells": cells, "data": data, "out": out, "shown": shown, "workers": workers,
            "remote": args.address is not None}


def _check_data(plan: dict) -> None:
    """Real data: read each data set once here, so a missing file is one line before any cell
    starts (skipped for a Ray cluster, whose nodes hold their own copies)."""
    if plan["data"] != "real" or plan["remote"]:
        return
    from .data import load
    seen = set()
    for cfg in plan["cells"].values():
        if cfg.dataset not in seen:
            seen.add(cfg.dataset)
            try:
                load(cfg.dataset, cfg.data_dir)
            except ParameterError as exc:
                found = re.search(r"must hold the (.*?); searched", str(exc))
                what = found.group(1) if found else f"{cfg.dataset} files ({exc})"
                raise fail("--data-dir", T.OWNER, f"a folder holding the {what} (fetch them with "
                           f"'theorem-lab cifar train --dataset {cfg.dataset} --data-dir DIR "
                           "--download')", cfg.data_dir) from None


def run(args) -> int:
    from theorem_lab.simulations.lock import StoreLock
    plan = _validated(args)
    _check_data(plan)
    with StoreLock(plan["out"], "--out", T.OWNER, 0.0):     # one writer per store
        return _run(args, plan)


def _run(args, plan: dict) -> int:
    from tqdm import tqdm

    from theorem_lab.simulations.grid import config_hash
    from theorem_lab.simulations.store import ResultStore

    from .cells import WORK, error_record

    started = time.perf_counter()
    out, log = plan["out"], sys.stderr
    shown = plan["shown"]       # --out as typed, as other commands print it; the store is at `out`

    def as_typed(path) -> str:
        try:
            return str(shown / Path(path).relative_to(out))
        except ValueError:
            return str(path)
    ids = {cell: config_hash(cfg.hashed()) for cell, cfg in plan["cells"].items()}
    store = ResultStore(out)
    done = store.final_ids()
    tasks = [{"task_id": ids[c], "config": asdict(cfg)} for c, cfg in plan["cells"].items()
             if ids[c] not in done]
    by_id = {ids[c]: cfg for c, cfg in plan["cells"].items()}
    executor = executors.make_executor(args.executor, plan["workers"], len(tasks), args.address, WORK)
    log.write(f"cifar table1: {len(plan['cells'])} cell(s); {len(plan['cells']) - len(tasks)} "
              f"already stored, {len(tasks)} to train on {type(executor).__name__} "
              f"(profile {args.profile}, data {plan['data']}) -> {shown}\n")
    quiet = True if args.no_progress or not tasks else None   # None: bars only on a terminal
    runs_bar = tqdm(total=len(tasks), desc="runs  ", unit="run", file=log, position=0,
                    disable=quiet, dynamic_ncols=True)
    epochs_bar = tqdm(total=sum(c["config"]["epochs"] for c in tasks), desc="epochs", unit="ep",
                      file=log, position=1, disable=quiet, dynamic_ncols=True)
    failed = 0
    try:
        for task, result in executor.run(tasks, epochs_bar.update):
            records = (result if isinstance(result, list) else
                       [error_record(by_id[task["task_id"]], task["task_id"], result, time.time())])
            for rec in records:
                store.write(rec)
                failed += rec["status"] != "finished"
            runs_bar.update(len(records))
    except KeyboardInterrupt:
        executor.close()
        runs_bar.close(), epochs_bar.close()
        store.close()
        log.write(f"cifar table1: interrupted; finished cells are stored in {shown} and each "
                  "unfinished one has its last epoch's checkpoint; rerun the same command to resume\n")
        raise
    finally:
        executor.close()
    runs_bar.close(), epochs_bar.close()
    rows = {r["run_id"]: r for r in store.runs(set(ids.values()))}
    store.close()
    table = T.build_table(plan["grid"], {c: rows.get(i) for c, i in ids.items()})
    figures, figure_error = [], None
    draw = getattr(args, "draw_figure", None)       # given by the composition root
    if not args.no_figure and draw is not None:
        try:
            figures = [str(p) for p in draw(out, set(ids.values()))]   # this grid's runs
        except Exception as exc:   # results are stored; a figure bug must not lose the table
            figure_error = f"{type(exc).__name__}: {exc}"
            log.write(f"cifar table1: the figure failed ({figure_error}); results are in {shown}\n")
    result = {**table, "out": str(out), "profile": args.profile, "trained": len(tasks),
              "reused": len(plan["cells"]) - len(tasks), "failed": failed,
              "seconds": time.perf_counter() - started, "figures": figures,
              "figure_error": figure_error}
    write_outputs(out, result)
    if args.json:
        sys.stdout.write(strict_json(result, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(T.render(table) + f"{len(tasks)} cell(s) trained, {result['reused']} "
                         f"reused, {failed} failed; {result['seconds']:.1f} s; table1.json, "
                         f".csv, .md in {shown}"
                         + (f"; figures: {', '.join(map(as_typed, figures))}" if figures else "")
                         + "\n")
    if failed:
        log.write(f"cifar table1: {failed} cell(s) failed; their errors are in {shown}/results.sqlite "
                  "(a rerun retries them)\n")
    return 1 if failed else 0


def write_outputs(out: Path, result: dict) -> list:
    paths = [out / "table1.json", out / "table1.csv", out / "table1.md"]
    paths[0].write_text(strict_json(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(paths[1], "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(
            [["" if v is None else v for v in row] for row in T.to_csv_rows(result)])
    paths[2].write_text(T.to_markdown(result), encoding="utf-8")
    return paths
