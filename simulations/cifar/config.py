"""One config object for a training run, resolved once at the boundary (options + profile) and
validated before any data is loaded or any model built. Saved with every result; its hash
(the fields that change the outcome) is the run_id."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from theorem_lab.errors import ParameterError, check_choice, check_int, check_real, fail
from theorem_lab.schedules import parse_schedule

from . import noise as N
from .data import DATASETS
from .methods import BOOTSTRAP_MODES, LABEL_FUNCTIONS, LOSSES, METHODS, MethodConfig
from .models import MODELS
from .profiles import PROFILES

_OWNER = "cifar train"
# fields that do not change a run's outcome: excluded from its run_id
NOT_HASHED = ("data_dir", "download", "download_url", "out", "json", "progress", "profile",
              "keep_epochs")
# fields added after runs were stored: left out of the hash while at their default, so that the
# runs stored before a field existed keep their run_id (a rerun finds them)
LATER_FIELDS = {"synthetic_signal": 48.0}


@dataclass(frozen=True)
class TrainConfig:
    profile: str = "fast"
    dataset: str = "synthetic"
    data_dir: "str | None" = None
    download: bool = False
    download_url: "str | None" = None
    synthetic_shape: str = "3x32x32"     # C x H x W of the synthetic images
    synthetic_train: int = 5000          # synthetic training images
    synthetic_test: int = 1000
    synthetic_signal: float = 48.0       # class-template amplitude (grey levels; pixel noise sd 32)
    train_subset: int = 0                # 0 = the whole training set
    split_seed: int = 0                  # subset and validation split
    val_fraction: float = 0.1            # noisy validation split
    noise_type: str = "symmetric"
    noise_rate: float = 0.0
    noise_convention: str = "uniform-all"
    noise_seed: int = 0
    noise_file: "str | None" = None
    noise_key: str = "worse_label"
    model: str = "fast"
    width: int = 64                      # base width w of the fast net
    method: str = "ce"
    h: str = "hardmax"
    temperature: float = 1.0
    lam: float = 1.0                     # λ
    alpha: str = "adaptive"              # adaptive or a theorem_lab.schedules spec (SGD steps)
    alpha_clip: bool = True
    loss: str = "ce"
    beta: float = 0.95
    bootstrap: str = "soft"
    q: float = 0.7
    epochs: int = 24
    batch_size: int = 128
    lr: float = 0.2                      # peak learning rate of the cosine schedule
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: float = 0.0           # linear warm-up before the cosine decay
    augment: bool = True                 # pad-4 random crop + horizontal flip
    seed: int = 0                        # model init, data order, augmentation stream
    device: str = "cpu"                  # resolved: cpu or cuda
    compile: bool = False
    out: str = "runs/cifar"
    json: bool = False
    progress: bool = True
    keep_epochs: tuple = ()              # also save the weights after these epochs (epoch_<E>.pt)

    def hashed(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in NOT_HASHED
                and not (k in LATER_FIELDS and v == LATER_FIELDS[k])}

    @property
    def shape(self) -> tuple:
        return tuple(int(s) for s in self.synthetic_shape.split("x"))

    def method_config(self, steps: int) -> MethodConfig:
        sched = None if self.alpha == "adaptive" else parse_schedule(self.alpha, steps)
        return MethodConfig(self.method, self.h, self.temperature, self.lam, sched, self.alpha_clip,
                            self.loss, self.beta, self.bootstrap, self.q)


def resolve(options: dict) -> TrainConfig:
    """Profile defaults, overridden by every option given (not None); validated."""
    profile = options.get("profile") or "fast"
    check_choice("profile", profile, _OWNER, PROFILES)
    names = {f.name for f in fields(TrainConfig)}
    values = {**PROFILES[profile], **{k: v for k, v in options.items() if v is not None and k in names}}
    values["profile"] = profile
    values["device"] = resolve_device(values.get("device", "auto"))
    cfg = TrainConfig(**values)
    validate(cfg)
    return cfg


def resolve_device(device: str) -> str:
    check_choice("device", device, _OWNER, ("auto", "cpu", "cuda"))
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise fail("device", _OWNER, "'cpu' or 'auto' on this machine (no CUDA device found)", device)
    return device


def validate(cfg: TrainConfig) -> None:
    check_choice("dataset", cfg.dataset, _OWNER, DATASETS)
    check_choice("model", cfg.model, _OWNER, MODELS)
    check_choice("method", cfg.method, _OWNER, METHODS)
    check_choice("h", cfg.h, _OWNER, LABEL_FUNCTIONS)
    check_choice("loss", cfg.loss, _OWNER, LOSSES)
    check_choice("bootstrap", cfg.bootstrap, _OWNER, BOOTSTRAP_MODES)
    check_choice("noise_convention", cfg.noise_convention, _OWNER, N.CONVENTIONS)
    N.validate(cfg.noise_type, cfg.noise_rate, cfg.dataset, cfg.noise_file)
    if cfg.noise_file is not None and not Path(cfg.noise_file).is_file():
        raise fail("noise_file", _OWNER, "an existing CIFAR-N label file", cfg.noise_file)
    if cfg.loss == "mse" and cfg.method != "self-distill":
        raise fail("loss", _OWNER, "'ce' unless --method self-distill", cfg.loss)
    check_real("temperature", cfg.temperature, _OWNER, low=0.0, low_open=True)
    check_real("lam", cfg.lam, _OWNER, low=0.0, low_open=True)
    if cfg.alpha != "adaptive":
        sched = parse_schedule(cfg.alpha, 1000)
        if sched.adaptive:
            raise fail("alpha", _OWNER, "'adaptive' (with --lam) or a fixed schedule spec", cfg.alpha)
    check_real("beta", cfg.beta, _OWNER, low=0.0, high=1.0)
    check_real("q", cfg.q, _OWNER, low=0.0, high=1.0, low_open=True)
    check_int("epochs", cfg.epochs, _OWNER, low=1)
    for e in cfg.keep_epochs:
        check_int("keep_epochs", e, _OWNER, low=1, high=cfg.epochs)
    check_int("batch_size", cfg.batch_size, _OWNER, low=1)
    check_int("width", cfg.width, _OWNER, low=1)
    check_real("lr", cfg.lr, _OWNER, low=0.0, low_open=True)
    check_real("momentum", cfg.momentum, _OWNER, low=0.0, high=1.0, high_open=True)
    check_real("weight_decay", cfg.weight_decay, _OWNER, low=0.0)
    check_real("warmup_epochs", cfg.warmup_epochs, _OWNER, low=0.0)
    if cfg.warmup_epochs >= cfg.epochs:     # the profile's warm-up (fast: 1) with a short --epochs
        raise fail("warmup_epochs", _OWNER, f"a real number in [0, epochs = {cfg.epochs:g}) (the "
                   "warm-up must end before the last epoch; lower --warmup-epochs, e.g. 0, or "
                   "raise --epochs)", cfg.warmup_epochs)
    check_real("val_fraction", cfg.val_fraction, _OWNER, low=0.0, high=0.5)
    check_int("train_subset", cfg.train_subset, _OWNER, low=0)
    for name in ("seed", "noise_seed", "split_seed"):
        check_int(name, getattr(cfg, name), _OWNER, low=0)
    check_int("synthetic_train", cfg.synthetic_train, _OWNER, low=20)
    check_int("synthetic_test", cfg.synthetic_test, _OWNER, low=1)
    check_real("synthetic_signal", cfg.synthetic_signal, _OWNER, low=0.0, high=255.0, low_open=True)
    try:
        c, h, w = cfg.shape
    except ValueError:
        raise fail("synthetic_shape", _OWNER, "CxHxW like 3x32x32 or 1x28x28", cfg.synthetic_shape) from None
    if c not in (1, 3) or (h, w) not in ((28, 28), (32, 32)):
        raise fail("synthetic_shape", _OWNER, "1 or 3 channels of 28x28 or 32x32 pixels", cfg.synthetic_shape)
    if cfg.dataset != "synthetic" and cfg.data_dir is None:
        raise fail("data_dir", _OWNER, f"the folder with the {cfg.dataset} files (add --download "
                   "to fetch them there)", None)
    if cfg.compile and cfg.device != "cuda":
        raise fail("compile", _OWNER, "used with --device cuda (torch.compile is for the GPU path)", True)
    if cfg.dataset == "synthetic" and cfg.data_dir is not None:   # it would be ignored, silently
        raise fail("data_dir", _OWNER, "left out with --dataset synthetic (the default; name the "
                   "data set, e.g. --dataset cifar10, to read DIR)", cfg.data_dir)
    if cfg.dataset == "synthetic" and cfg.download:
        raise ParameterError("The '--download' option of cifar train applies to a real data set. "
                             "Got --dataset synthetic instead.")
