"""Sweep options: comma lists, their validation, the grid they expand to, and run ids.

Every numeric or choice option of ``theorem-lab sweep`` takes a comma list
(``--width 256,1024,4096 --rho 0.1,0.3``); the sweep is the Cartesian product of all lists,
times ``--seeds`` seeds, times ``--methods``. Each element of the product is a fully resolved
``RunConfig``; its ``run_id`` is a hash of that config, stable across processes, machines and
Python versions (canonical JSON, SHA-256), and changes when any field changes.

Seeds. ``--seeds S`` runs seeds s = 0 … S−1. Seed s fixes *both* the data
(``make_clusterable(seed=s)``) and the initialisation W₀ (``TwoLayerNet.init(seed=init_seed(s))``).
The init seed is derived from s through a separate ``SeedSequence`` stream rather than being s
itself: ``default_rng(s)`` in both places would draw W₀'s first K rows from the very Gaussian
vectors that became the cluster centres, correlating the first K neurons with the data.

Methods that ignore a parameter do not carry it: ``gd`` and ``early-stop`` run α_t ≡ 1, so their
configs hold ``schedule='constant:value=1'``, ``label_fn=None`` and ``rho_h=None``, and a grid
over schedules shares one GD run per seed instead of repeating it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Optional

from theorem_lab.activations import ACTIVATIONS
from theorem_lab.data import check_rho_realisable
from theorem_lab.backend import DEVICES, DTYPES, cuda_available, resolve_backend
from theorem_lab.errors import (ParameterError, check_choice, check_real, check_unique, fail,
                               parse_list, reword)
from theorem_lab.errors import parse_int as _parse_int
from theorem_lab.errors import parse_real as _parse_real
from theorem_lab.network import init_seed  # noqa: F401  (the one W₀ seed rule; re-exported)
from theorem_lab.schedules import LABEL_FUNCTIONS, parse_schedule
from theorem_lab.sizes import check_size, trajectory_bytes
from theorem_lab.train import LR_RULES, METHODS

OWNER = "sweep"
HASH_VERSION = "theorem-lab/run/v1"   # bump if the meaning of a RunConfig field changes
BACKENDS = ("auto", "numpy", "torch", "cupy")
GD_SCHEDULE = "constant:value=1"


@dataclass(frozen=True)
class RunConfig:
    """One fully resolved run: everything that determines its result (saved with it)."""

    # data: make_clusterable (Definition 1)
    n: int = 1000                 # training points
    clusters: int = 10            # K
    dim: int = 50                 # d, input dimension
    eps: float = 0.05             # cluster radius ε
    rho: float = 0.3              # label-noise fraction ρ per cluster
    n_test: int = 1000            # clean held-out points
    min_separation: float = 0.0   # minimum distance between centres
    # network: TwoLayerNet.init
    width: int = 4096             # k, hidden units (even)
    activation: str = "tanh"
    # training: train()
    method: str = "self-distill"
    steps: int = 600              # GD steps; see sweep_cli.DEFAULT_STEPS for the measurement
    lr: "float | str" = "auto"    # 'auto' = 1/λ_max(J₀J₀ᵀ), 'theorem' = 1/(2Γ²n), or a number
    schedule: str = "linear:end=300,start=0"   # resolved α_t spec (None-free)
    label_fn: Optional[str] = "clipped"
    rho_h: Optional[float] = None  # ρ inside h; None = the data's realised max ρ_l
    log_every: int = 10
    # c of the early-stop baseline's τ = ⌈c·τ₀⌉, resolved to a number ('calibrated' -> the
    # packaged fit) and carried by early-stop configs only, so their run_ids change with it.
    # None (a config stored before the constant existed) means c = 1, the recalled form; it is
    # left out of the hash, so such records keep their run_ids.
    early_stop_constant: Optional[float] = None
    backend: str = "numpy"         # resolved: numpy | torch | cupy
    device: str = "cpu"            # resolved: cpu | cuda
    dtype: str = "float64"
    # randomness
    seed: int = 0                  # the seed index s of --seeds
    data_seed: int = 0             # = s
    init_seed: int = 0             # = init_seed(s)

    def as_dict(self) -> dict:
        out = asdict(self)
        if out["early_stop_constant"] is None:
            del out["early_stop_constant"]
        return out

    @property
    def run_id(self) -> str:
        return config_hash(self.as_dict())

    @property
    def trajectory_method(self) -> str:
        """The training run that produces this record: early-stop reads the GD trajectory."""
        return "gd" if self.method == "early-stop" else self.method


GRID_FIELDS = tuple(f.name for f in fields(RunConfig)
                    if f.name not in ("method", "seed", "data_seed", "init_seed"))


def canonical_json(obj) -> str:
    """Key-sorted, whitespace-free JSON; floats as Python's shortest round-trip repr."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def config_hash(config: dict) -> str:
    """run_id: the first 16 hex digits of SHA-256 over the versioned canonical JSON."""
    text = HASH_VERSION + "\n" + canonical_json(config)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:16]


# --- comma lists --------------------------------------------------------------------------

def split_schedules(text: str) -> list[str]:
    """Schedule specs contain commas themselves: a ``key=value`` item without a ':' continues
    the previous spec. ``linear:start=0,end=300,exponential:tau=50`` -> two specs (repeats
    of a whole spec are errors, like every list)."""
    out: list[str] = []
    for item in parse_list(text, "--schedule", OWNER, unique=False):
        if "=" in item and ":" not in item and out:
            out[-1] += "," + item
        else:
            out.append(item)
    return check_unique(out, "--schedule", OWNER, text)


def parse_int(token: str, name: str, *, low=None, high=None, even=False) -> int:
    return _parse_int(token, name, OWNER, low=low, high=high, even=even)


def parse_real(token: str, name: str, **bounds) -> float:
    return _parse_real(token, name, OWNER, **bounds)


def parse_lr(token: str) -> "float | str":
    if token in LR_RULES:
        return token
    try:
        value = float(token)
    except ValueError:
        raise fail("--lr", OWNER, "'auto', 'theorem' or a real number in (0, inf)", token) from None
    return check_real("--lr", value, OWNER, low=0.0, low_open=True)


def parse_early_stop_constant(token: str) -> float:
    """'calibrated' (the packaged fit, resolved to its number) or a real c > 0."""
    from theorem_lab.train import EARLY_STOP_RULES, calibrated_early_stop_constant
    if token in EARLY_STOP_RULES:
        return calibrated_early_stop_constant()
    return parse_real(token, "--early-stop-constant", low=0.0, low_open=True)


def parse_rho_h(token: str) -> Optional[float]:
    if token == "data":
        return None
    return parse_real(token, "--rho-h", low=0.0, high=0.5, high_open=True)


# option -> (RunConfig field, parser of one item). Each parser raises ParameterError naming it.
GRID_OPTIONS = {
    "n": ("n", lambda t: parse_int(t, "--n", low=2)),
    "clusters": ("clusters", lambda t: parse_int(t, "--clusters", low=2)),
    "dim": ("dim", lambda t: parse_int(t, "--dim", low=2)),
    "eps": ("eps", lambda t: parse_real(t, "--eps", low=0.0, high=2.0, low_open=True)),
    "rho": ("rho", lambda t: parse_real(t, "--rho", low=0.0, high=0.5, high_open=True)),
    "n_test": ("n_test", lambda t: parse_int(t, "--n-test", low=0)),
    "min_separation": ("min_separation",
                       lambda t: parse_real(t, "--min-separation", low=0.0, high=2.0)),
    "width": ("width", lambda t: parse_int(t, "--width", low=2, even=True)),
    "activation": ("activation", lambda t: check_choice("--activation", t, OWNER, ACTIVATIONS)),
    "steps": ("steps", lambda t: parse_int(t, "--steps", low=1)),
    "lr": ("lr", parse_lr),
    "label_fn": ("label_fn", lambda t: check_choice("--label-fn", t, OWNER, LABEL_FUNCTIONS)),
    "rho_h": ("rho_h", parse_rho_h),
    "log_every": ("log_every", lambda t: parse_int(t, "--log-every", low=1)),
    "early_stop_constant": ("early_stop_constant", parse_early_stop_constant),
    "backend": ("backend", lambda t: check_choice("--backend", t, OWNER, BACKENDS)),
    "device": ("device", lambda t: check_choice("--device", t, OWNER, DEVICES)),
    "dtype": ("dtype", lambda t: check_choice("--dtype", t, OWNER, DTYPES)),
}


def parse_grid(options: dict) -> dict:
    """{option: comma-list text} -> {RunConfig field: [values]} (schedules kept as raw specs)."""
    grid = {}
    for opt, text in options.items():
        if opt == "schedule":
            grid["schedule"] = split_schedules(text)
            continue
        field, parse = GRID_OPTIONS[opt]
        grid[field] = parse_list(text, "--" + opt.replace("_", "-"), OWNER, item=parse)
    return grid


def parse_methods(text: str) -> list[str]:
    return parse_list(text, "--methods", OWNER,
                      item=lambda m: check_choice("--methods", m, OWNER, METHODS))


# --- grid points --------------------------------------------------------------------------

def resolve_engine(backend: str, device: str, dtype: str,
                   remote: bool = False) -> tuple[str, str, str]:
    """``auto`` = torch on CUDA when a GPU is visible, else numpy (the fastest CPU path here).

    ``remote``: the runs go to a Ray cluster, whose workers may have GPUs this coordinator
    lacks, so an explicit ``--device cuda`` is not checked against the local machine.
    """
    if remote and device == "cuda" and backend in ("auto", "torch", "cupy"):
        check_choice("--dtype", dtype, OWNER, DTYPES)
        return ("torch" if backend == "auto" else backend), "cuda", dtype
    if backend == "auto" and device in ("auto", "cpu") and not cuda_available():
        return "numpy", "cpu", dtype
    # resolve_backend's own errors name the Python parameters ('device', device='auto'); on the
    # command line they are the options, in the one-line template of every other bad value
    if backend == "numpy" and device == "cuda":
        raise fail("--device", OWNER, "auto or cpu with --backend numpy", device)
    if device == "cuda" and not cuda_available():
        raise fail("--device", OWNER, "auto or cpu on this machine (no CUDA device is visible)",
                   device)
    if backend == "cupy":
        import importlib.util
        if importlib.util.find_spec("cupy") is None:
            raise fail("--backend", OWNER, "auto, numpy or torch unless CuPy is installed "
                       "(pip install 'theorem-lab[gpu]')", backend)
    bk = resolve_backend(backend, device, dtype, OWNER)
    return bk.name, bk.device, bk.dtype


def _check_point(p: dict, remote: bool = False) -> dict:
    """Cross-option checks of one grid point; returns it with schedule and backend resolved."""
    n, K = p["n"], p["clusters"]
    if n < 2 * K:
        raise fail("--n", OWNER, f"an integer >= 2*clusters = {2 * K} (two points per cluster)", n)
    check_rho_realisable(p["rho"], n, K, "--rho", OWNER)
    check_size(OWNER, {"steps": "--steps"}, trajectory_bytes(p["steps"], p["log_every"]),
               what=f"the per-step record of {p['steps']} steps (a row every {p['log_every']})")
    try:
        p["schedule"] = parse_schedule(p["schedule"], p["steps"]).spec
    except ParameterError as exc:
        raise reword(exc, "--schedule", OWNER, f"a valid α_t spec for --steps {p['steps']}",
                     p["schedule"]) from None
    p["backend"], p["device"], p["dtype"] = resolve_engine(p["backend"], p["device"], p["dtype"],
                                                           remote)
    return p


def expand(grid: dict, defaults: Optional[dict] = None, remote: bool = False) -> list[dict]:
    """All grid points (dicts over ``GRID_FIELDS``), each validated and resolved.

    ``grid`` maps fields to value lists (from ``parse_grid``); missing fields take ``defaults``
    (then ``RunConfig``'s). ``remote``: runs go to a Ray cluster (see ``resolve_engine``).
    Points that resolve to the same values (e.g. backend 'auto' and 'numpy' on a CPU) appear once.
    """
    defaults = {**RunConfig().as_dict(), "schedule": "linear", "backend": "auto",
                "device": "auto",   # unresolved: resolved per point below
                "early_stop_constant": parse_early_stop_constant("calibrated"), **(defaults or {})}
    names = list(GRID_FIELDS)
    lists = [grid.get(f, [defaults[f]]) for f in names]
    points, seen = [], set()
    for combo in itertools.product(*lists):
        p = _check_point(dict(zip(names, combo)), remote)
        key = canonical_json(p)
        if key not in seen:
            seen.add(key)
            points.append(p)
    return points


def run_config(point: dict, method: str, seed: int) -> RunConfig:
    """The resolved config of one (grid point, method, seed)."""
    cfg = RunConfig(**point, method=method, seed=seed, data_seed=seed, init_seed=init_seed(seed))
    if method != "self-distill":   # α_t ≡ 1: schedule and h play no part
        cfg = replace(cfg, schedule=GD_SCHEDULE, label_fn=None, rho_h=None)
    if method != "early-stop":     # only early-stop records depend on c
        cfg = replace(cfg, early_stop_constant=None)
    return cfg


def trajectory_config(cfg: RunConfig, point: dict) -> dict:
    """The config of the training run that yields ``cfg``'s record: its own, or for early-stop
    the GD run's, carrying c unless c is the calibrated default (then gd's record and early-stop's
    share one trajectory)."""
    base = run_config(point, cfg.trajectory_method, cfg.seed).as_dict()
    if cfg.method == "early-stop" and cfg.early_stop_constant is not None:
        from theorem_lab.train import calibrated_early_stop_constant
        if cfg.early_stop_constant != calibrated_early_stop_constant():
            base["early_stop_constant"] = cfg.early_stop_constant
    elif cfg.method == "early-stop":
        base["early_stop_constant"] = 1.0      # a stored legacy config: c = 1
    return base


def cell_label(point: dict, varying: list[str]) -> str:
    """A short name of a grid point from the fields that vary across the grid."""
    if not varying:
        return "default"
    return " ".join(f"{f}={_fmt(point[f])}" for f in varying)


def _fmt(v) -> str:
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:g}"
    return str(v)
