"""`theorem-lab cifar teacher-epochs`: Figure 1 of the paper, an early-stopped teacher's student.

    theorem-lab cifar teacher-epochs --profile paper --data-dir DATA      # WRN-28-10, CIFAR-100
    theorem-lab cifar teacher-epochs --profile paper --data-dir DATA --teachers separate
    theorem-lab cifar teacher-epochs --profile smoke                      # synthetic, a CPU minute

Prints the table E | teacher test accuracy at E | student test accuracy (last epoch, and at the
best noisy-validation epoch), writes ``<out>/teacher_epochs.json`` and the figure
``<out>/teacher_epochs.png|pdf``. Every run is stored in ``<out>/results.sqlite``; rerunning the
same command recomputes nothing (a killed run resumes from its last epoch).
"""

from __future__ import annotations

import re
import sys
from dataclasses import fields, replace
from pathlib import Path

from theorem_lab.errors import (ParameterError, check_int, fail, integer, parse_int, parse_list,
                               parse_real, real)
from theorem_lab.output import check_output_dir, strict_json

from . import teacher_epochs as TE
from .config import TrainConfig, resolve
from .data import DATASETS
from .models import MODELS

_OWNER = "cifar teacher-epochs"
# options that set the same field of both the teacher and the student config
SHARED = ("dataset", "data_dir", "download", "synthetic_shape", "synthetic_train", "synthetic_test",
          "train_subset", "split_seed", "val_fraction", "seed", "device", "out", "progress")
# option -> (config, field)
ROLE_OPTIONS = {"teacher_model": ("teacher", "model"), "teacher_epochs": ("teacher", "epochs"),
                "teacher_lr": ("teacher", "lr"), "student_model": ("student", "model"),
                "student_epochs": ("student", "epochs"), "student_lr": ("student", "lr"),
                "batch_size": ("both", "batch_size")}


def configure(parser):
    a = parser.add_argument
    parser.description = (parser.description or "") + ". Profile costs: " + "; ".join(
        f"{k}: {v}" for k, v in TE.COST.items())
    a("--profile", choices=sorted(TE.PROFILES), default="fast",
      help="paper (WRN-28-10 teacher on CIFAR-100, 200 epochs), fast (the default), smoke. "
           f"Cost of paper: {TE.COST['paper']}")
    a("--teachers", choices=TE.TEACHER_MODES, default=TE.DEFAULT_TEACHERS,
      help="checkpoints: one full-schedule teacher kept at each E (early stopping; default); "
           "separate: one teacher per E with a full E-epoch schedule")
    a("--at", default=None, metavar="LIST", help="teacher epochs E, comma list (paper 40,80,120,160,200)")
    a("--temperature", default=None, help="distillation temperature T > 0 (default 4)")
    a("--soft-weight", default=None, help="weight w ∈ [0, 1] of the soft loss (default 0.9)")
    a("--dataset", choices=DATASETS, default=None, help="data set (paper, fast: cifar100; smoke: synthetic)")
    a("--data-dir", default=None, help="folder with the data files")
    a("--download", action="store_true", default=None, help="fetch the data files (MD5-checked)")
    a("--train-subset", type=integer, default=None, help="stratified, seeded subset of N training images")
    a("--synthetic-train", type=integer, default=None, help="synthetic training images")
    a("--synthetic-test", type=integer, default=None, help="synthetic test images")
    a("--teacher-model", choices=MODELS, default=None, help="teacher network (paper wrn-28-10)")
    a("--teacher-epochs", type=integer, default=None, help="the teacher's full schedule (paper 200)")
    a("--teacher-lr", type=real, default=None, help="teacher peak learning rate (paper profile 0.1)")
    a("--student-model", choices=MODELS, default=None, help="student network (default cnn, Table 2)")
    a("--student-epochs", type=integer, default=None, help="student epochs (paper profile 60)")
    a("--student-lr", type=real, default=None, help="student peak learning rate (paper profile 0.05)")
    a("--batch-size", type=integer, default=None, help="mini-batch size of teacher and student")
    a("--seed", type=integer, default=None, help="initialisation, data order, augmentation (default 0)")
    a("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default auto")
    a("--out", default="runs/teacher-epochs", help="results folder (default runs/teacher-epochs)")
    a("--json", action="store_true", help="print the summary as JSON on stdout")
    a("--no-progress", dest="progress", action="store_false", default=None, help="no progress bars")
    a("--no-figure", action="store_true", help="do not draw the figure")


def _field_error(exc: ParameterError, names: dict) -> ParameterError:
    """A config check names a field ('epochs' of cifar train): name the option as typed here."""
    def option(m):
        return f"The '{names.get(m.group(1), '--' + m.group(1).replace('_', '-'))}' parameter"
    text = re.sub(r"^The '([a-z_]+)' parameter", option, str(exc))
    return ParameterError(text.replace(" of cifar train ", f" of {_OWNER} ", 1))


def resolve_config(args) -> TE.TeacherEpochsConfig:
    """Options + profile -> the validated experiment config (before any data is read)."""
    prof = TE.PROFILES[args.profile]
    at = prof["at"]
    if args.at is not None:
        at = tuple(parse_list(args.at, "--at", _OWNER, item=lambda t: parse_int(t, "--at", _OWNER, low=1)))
    temperature = parse_real(prof["temperature"] if args.temperature is None else args.temperature,
                             "--temperature", _OWNER, low=0.0, low_open=True)
    soft = parse_real(prof["soft_weight"] if args.soft_weight is None else args.soft_weight,
                      "--soft-weight", _OWNER, low=0.0, high=1.0)
    for name in ("teacher_epochs", "student_epochs", "batch_size"):
        if getattr(args, name) is not None:
            check_int("--" + name.replace("_", "-"), getattr(args, name), _OWNER, low=1)
    check_output_dir("--out", args.out, _OWNER)
    base = {k: v for k, v in prof.items() if k in {f.name for f in fields(TrainConfig)}}
    base.update({k: getattr(args, k) for k in SHARED if getattr(args, k, None) is not None})
    roles = {"teacher": {**base, **prof["teacher"]}, "student": {**base, **prof["student"]}}
    names = {}
    for opt, (role, field) in ROLE_OPTIONS.items():
        value = getattr(args, opt)
        for r in (("teacher", "student") if role == "both" else (role,)):
            names.setdefault(r, {})[field] = "--" + opt.replace("_", "-")
            if value is not None:
                roles[r][field] = value
    t_epochs = roles["teacher"]["epochs"]
    for e in at:
        if e > t_epochs:
            raise fail("--at", _OWNER, f"a list of epochs in [1, {t_epochs}] (the teacher's "
                       "--teacher-epochs)", args.at)
    cfgs = {}
    for role, values in roles.items():
        try:
            cfgs[role] = resolve({**values, "profile": "smoke" if args.profile == "smoke" else "fast",
                                  "method": "ce", "noise_rate": 0.0})
        except ParameterError as exc:
            raise _field_error(exc, names.get(role, {})) from None
    named = {r: replace(c, profile=f"teacher-epochs/{args.profile}") for r, c in cfgs.items()}
    return TE.TeacherEpochsConfig(args.profile, args.teachers, tuple(at), temperature, soft,
                                  named["teacher"], named["student"])


def table(summary: dict) -> str:
    head = f"{'E':>5}  {'teacher acc':>11}  {'student acc':>11}  {'at best val':>11}"
    lines = [head] + [f"{r['E']:>5d}  {r['teacher_test_acc']:>11.4f}  {r['student_test_acc']:>11.4f}"
                      f"  {r['student_test_acc_at_best_val']:>11.4f}" for r in summary["rows"]]
    lines.append(f"best student: E = {summary['best_E']} (the paper: E = 80 of 200); "
                 f"teachers: {summary['teachers']}; T = {summary['temperature']:g}, "
                 f"w = {summary['soft_weight']:g}; profile {summary['profile']} ({summary['note']})")
    lines.append("settings the paper leaves open:")
    lines += [f"  {k}: {v}" for k, v in summary["open"].items()]
    return "\n".join(lines)


def run(args) -> int:
    cfg = resolve_config(args)
    out = Path(cfg.teacher.out)
    log = (lambda line: print(line, file=sys.stderr, flush=True))
    from .data import for_command
    try:
        result = TE.run(cfg, log)
    except ParameterError as exc:       # the data loader's --data-dir error names 'cifar train'
        raise for_command(exc, "cifar teacher-epochs") from None
    summary = TE.summary(cfg, result, str(out))
    (out / "teacher_epochs.json").write_text(strict_json(summary, indent=2))
    args.run = str(out)                          # the root draws the figure from here
    if args.json:
        print(strict_json(summary, indent=2))
    else:
        print(table(summary))
        print(f"results: {out / 'teacher_epochs.json'}; recomputed now: {len(result['computed'])} run(s)")
    return 0
