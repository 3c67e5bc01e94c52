"""`theorem-lab cifar train`: one noisy-label training run, resumable, stored.

    theorem-lab cifar train --dataset cifar10 --data-dir DATA --noise-rate 0.4 --method self-distill
    theorem-lab cifar train --dataset cifar10 --data-dir DATA --noise-rate 0.4 --method ce
    theorem-lab cifar train --profile smoke --dataset synthetic

Every option is validated before data is loaded or a model built (bad input: one line, exit 2).
The run goes to ``--out`` (default ``runs/cifar``): ``results.sqlite`` (one run row, one row per
epoch) and ``<run_id>/`` (checkpoint, labels). Re-running the same command resumes from the last
checkpoint; a finished run is reported, not retrained. Ctrl-C: epochs done so far stay stored, exit
130. A table row per epoch goes to stdout (stderr with ``--json``, whose summary is then stdout).
"""

from __future__ import annotations

import re
import sys

from theorem_lab.errors import ParameterError, integer, real
from theorem_lab.output import check_output_dir, strict_json   # strict: NaN -> null

from .config import TrainConfig, resolve
from .data import DATASETS
from .methods import BOOTSTRAP_MODES, LABEL_FUNCTIONS, LOSSES, METHODS
from .models import MODELS
from .noise import CONVENTIONS, NOISE_TYPES
from .profiles import DEFAULT_PROFILE, PROFILES

_ONOFF = {"on": True, "off": False}
TABLE = ("epoch", "loss", "acc_noisy", "acc_true", "val_noisy", "test", "alpha", "lr", "s")


def configure(parser):
    a = parser.add_argument
    d = TrainConfig()
    a("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE,
      help=f"defaults: paper (shake-shake, 600 epochs), fast, smoke (default {DEFAULT_PROFILE})")
    a("--dataset", choices=DATASETS, default=None, help="data set (default synthetic)")
    a("--data-dir", default=None, help="folder with the data files (or where --download puts them)")
    a("--download", action="store_true", help="fetch the files from their official locations (MD5-checked)")
    a("--download-url", default=None, help="base URL of a mirror for --download")
    a("--synthetic-shape", default=None, help="CxHxW of --dataset synthetic (3x32x32 or 1x28x28)")
    a("--synthetic-train", type=integer, default=None, help=f"synthetic training images (default {d.synthetic_train})")
    a("--synthetic-test", type=integer, default=None, help=f"synthetic test images (default {d.synthetic_test})")
    a("--synthetic-signal", type=real, default=None,
      help=f"class-template amplitude of the synthetic images in grey levels, against pixel noise "
           f"of sd 32; lower is harder (default {d.synthetic_signal:g})")
    a("--train-subset", type=integer, default=None, help="stratified, seeded subset of N training images (0 = all)")
    a("--split-seed", type=integer, default=None, help="seed of the subset and the validation split")
    a("--val-fraction", type=real, default=None, help="noisy validation split in [0, 0.5] (default 0.1)")
    a("--noise-type", choices=NOISE_TYPES, default=None, help="label noise (default symmetric)")
    a("--noise-rate", type=real, default=None, help="noise rate p in [0, 1) (default 0)")
    a("--noise-convention", choices=CONVENTIONS, default=None,
      help="symmetric noise: uniform-all (redraw from all classes) or uniform-other (default uniform-all)")
    a("--noise-seed", type=integer, default=None, help="seed of the label noise (default 0)")
    a("--noise-file", default=None, help="CIFAR-N label file for --noise-type human")
    a("--noise-key", default=None, help="key in the CIFAR-N file (default worse_label)")
    a("--model", choices=MODELS, default=None, help="network (default: the profile's)")
    a("--width", type=integer, default=None, help="base width w of the fast net (groups w, 4w, 4w)")
    a("--method", choices=METHODS, default=None, help="ce, self-distill (Algorithm 1), bootstrap, gce")
    a("--h", choices=LABEL_FUNCTIONS, default=None, help="self-distill label function h (default hardmax)")
    a("--temperature", type=real, default=None, help="T of h = softmax(f/T)")
    a("--lam", type=real, default=None, help="λ of 1 − α_t = λ·(batch accuracy) (default 1)")
    a("--alpha", default=None, help="α_t: adaptive (default) or a fixed schedule spec, e.g. linear:start=0,end=5000 (SGD steps)")
    a("--alpha-clip", choices=_ONOFF, default=None, help="clip α_t to [0, 1] (default on)")
    a("--loss", choices=LOSSES, default=None, help="self-distill loss: ce or mse on the one-hot target")
    a("--beta", type=real, default=None, help="bootstrap β (default 0.95)")
    a("--bootstrap", choices=BOOTSTRAP_MODES, default=None, help="bootstrap mode (default soft)")
    a("--q", type=real, default=None, help="gce q in (0, 1] (default 0.7)")
    a("--epochs", type=integer, default=None, help="epochs (default: the profile's)")
    a("--batch-size", type=integer, default=None, help="mini-batch size")
    a("--lr", type=real, default=None, help="peak learning rate of the cosine schedule")
    a("--momentum", type=real, default=None, help="SGD momentum (default 0.9)")
    a("--weight-decay", type=real, default=None, help="weight decay")
    a("--warmup-epochs", type=real, default=None, help="linear warm-up epochs")
    a("--augment", choices=_ONOFF, default=None, help="pad-4 crop + flip (default on)")
    a("--seed", type=integer, default=None, help="model init, data order, augmentation (default 0)")
    a("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default auto")
    a("--compile", action="store_true", default=None, help="torch.compile the model (CUDA)")
    a("--out", default=None, help="results folder (default runs/cifar)")
    a("--json", action="store_true", default=None, help="print the summary as JSON on stdout")
    a("--no-progress", dest="progress", action="store_false", default=None, help="no progress bar")


def options(args) -> dict:
    opts = {k: v for k, v in vars(args).items() if k not in ("command", "cifar")}
    for k in ("alpha_clip", "augment"):
        if opts.get(k) is not None:
            opts[k] = _ONOFF[opts[k]]
    return opts


def _fmt(row) -> str:
    vals = [row["step"], row["train_loss"], row["train_acc_noisy"], row["train_acc_true"],
            row["val_acc_noisy"], row["test_acc"], row["alpha_mean"], row["lr"], row["epoch_seconds"]]
    return "  ".join(f"{v:>9d}" if isinstance(v, int) else f"{v:>9.4f}" for v in vals)


def as_option(exc: ParameterError, owner: str = "cifar train") -> ParameterError:
    """The config's checks name fields (``noise_rate``) under 'cifar train'; at the CLI name the
    option as typed, under the command (``owner``) that was run."""
    text = re.sub(r"^The '(?:--)?([a-z_-]+)' parameter of cifar train",
                  lambda m: f"The '--{m.group(1).replace('_', '-')}' parameter of {owner}", str(exc))
    return ParameterError(text)


def run(args) -> int:
    from .session import Session
    try:
        cfg = resolve(options(args))
    except ParameterError as exc:
        raise as_option(exc) from None
    check_output_dir("--out", cfg.out, "cifar train")    # before any data is read
    table = sys.stderr if cfg.json else sys.stdout
    session = Session(cfg)
    header = ["  ".join(f"{h:>9s}" for h in TABLE)]   # printed with the first epoch's row: an
                                                      # error before it (the data) is one line

    def on_row(row):
        if header:
            print(header.pop(), file=table, flush=True)
        print(_fmt(row), file=table, flush=True)
    result = session.run(on_row)
    summary = {**result["summary"], "run_id": result["run_id"], "status": result["status"],
               "parameters": result["info"]["parameters"], "noise": result["info"]["noise"]}
    if cfg.json:   # NaN (no validation split) as null: strict JSON
        print(strict_json(summary, sort_keys=True))
    else:
        print(f"run {result['run_id']} ({result['status']}): test accuracy last epoch "
              f"{summary['test_acc_last']:.4f}, at best noisy-val epoch {summary['best_val_epoch']} "
              f"{summary['test_acc_at_best_val']:.4f}; realised noise rate "
              f"{summary['noise_realised_rate']:.4f}; {summary['parameters']:,} parameters; "
              f"stored in {cfg.out}", file=sys.stderr)
    return 0
