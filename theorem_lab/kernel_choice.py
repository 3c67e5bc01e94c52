"""The batched gradient step, with its kernels (batched_steps.py) chosen by measurement on the
machine at hand.

Which is fastest depends on the CPU (STYLE.md, "Performance claims": numpy's tanh is 2× faster
than torch's on one machine and slower on another), on B and on n·k, so ``choose`` times
each candidate once per (backend, device, dtype, activation, shape class) and caches the timings
(and torch's and numba's start-up times) for the process and, on the CPU, on disk in
``$THEOREM_LAB_CACHE_DIR/kernels`` (default ~/.cache/theorem-lab; 'off' disables it), keyed by
the machine (``machine_id``: CPU model and feature flags, usable CPUs, thread setting, library
versions) and by the kernels' own code (``code_digest``: a new version of them is timed anew),
so later processes and sweep workers skip the timing; ``pick`` then chooses for the run at
hand. Delete the folder to re-measure. ``THEOREM_LAB_KERNEL`` forces one candidate (tests,
reproductions).
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from .activations import Activation
from .backend import Backend
from .batched_steps import FusedBatchedStep, make_step
from .errors import check_choice
from .step import COMPILED, NUMBA_FAILED, default_threads, numba_available

CANDIDATES = ("batched", "batched:fused", "batched:threads", "per-run:torch", "per-run:threads",
              "batched:fused/torch", "batched:threads/torch", "per-run:threads/torch",
              "batched:fused/exp", "batched:threads/exp", "per-run:threads/exp",
              "batched:fused/numba", "batched:threads/numba", "per-run:threads/numba",
              "batched:numba", "per-run:units", "per-run:units/exp", "per-run:units/numba")
COMPILED_DK = 8192          # d·k up to which ``batched:numba`` is timed: its (d, k) gradient and
                            # Wᵀ (64 KiB each in float64) stay in L2
WORTH = {"torch": 5e8,      # element-steps (steps·B·n·k) below which a library's candidates are
         "numba": 2.5e8}    # not timed. On a 2-core AVX2 EPYC, where numpy's float64 tanh is
                            # scalar code: torch's saved ≤ 3.5 ns per element-step (B=1 n=1000
                            # k=4096 and B=32 n=40 k=128) against an import of 2-4 s, ≥ 6e8 to
                            # repay; numba's saved 3.5-5.6 ns (against /torch and /exp at those
                            # shapes) against a start-up of 1.0-1.1 s, ≥ 2e8 (all measured)
IMPORT_S = {"torch": 2.0, "numba": 1.2}   # start-up assumed where no measurement is cached
TIMED = "settled, burst mean"   # how a timing measures (part of the disk cache's key)
TIMING_ROUNDS = 2           # alternating rounds over the candidates (the minimum counts) of
TIMING_REPEATS = 2          # a burst of at least this many timed calls per candidate lasting at
BURST_S = 0.01              # least BURST_S, whose mean per call counts (the fastest single call
                            # favoured threaded kernels, whose calls are fast only while the
                            # other core happens to be free: on the AVX-512 EPYC, B=32 n=40
                            # k=128, it rated batched:threads 0.59 ms per step against
                            # batched:fused's 0.80, which ran 1.3-1.7× faster in the engine),
                            # after untimed calls
SETTLE_S = 0.1              # for this long or SETTLE_CALLS calls, whichever comes first. The
SETTLE_CALLS = 10           # previous candidate's BLAS threads spin on for ~0.1 s: after
                            # batched:fused (2 OpenBLAS threads), per-run:torch took 32, 34, 24,
                            # 17, then 10 ms per step, and one untimed call had timed it at 19-25
                            # ms instead of its 9.6-10 (2-core Xeon, n=1000 d=50 k=4096). At
                            # B=32 n=40 k=128 one call absorbed it (OpenBLAS runs those on one thread)
PRUNE = 2.0                 # after round 1, candidates slower than this × the fastest drop out
_TIMED: dict = {}           # (key, candidate names, loop) -> (seconds per candidate, import s)


@dataclass(frozen=True)
class Choice:
    """The measured candidates of one key: seconds per step (min over rounds) and the pick."""

    key: tuple
    seconds: dict = field(default_factory=dict)
    chosen: str = "batched"
    forced: bool = False


def shape_class(B: int, n: int, d: int, k: int) -> tuple:
    """Shapes within a factor of two share a measurement (log₂ buckets)."""
    return tuple(int(math.log2(max(x, 1))) for x in (B, n, d, k))


PER_RUN_MIN_ELEMENTS = 1 << 16   # n·k below which per-run kernels are not timed for B > 4


def candidates(bk: Backend, B: int = 1, nk: int = 1 << 30, act_name: str = "tanh",
               torch_ok: bool = True, numba_ok: bool = True, dk: int = 1 << 30) -> tuple:
    """The candidates worth timing (threads only exist for numpy arrays). For many small runs
    (B > 4, n·k < ``PER_RUN_MIN_ELEMENTS``) the per-run kernels issue B× the calls of the
    batched one for the same arithmetic, so only the batched ones are timed. ``torch_ok``
    False: none that runs torch on numpy arrays (torch stays unimported); ``numba_ok`` False,
    or numba not installed: none compiled by numba (``batched:numba`` only for d·k = ``dk`` up
    to ``COMPILED_DK``)."""
    small = B > 4 and nk < PER_RUN_MIN_ELEMENTS
    if bk.name == "torch":
        return ("batched",) if small else ("batched", "per-run:torch")
    if bk.name != "numpy":
        return ("batched", "batched:fused")   # CuPy: the array-API lines, and one fused kernel
    threads = B > 1 and default_threads() > 1
    batched = ["batched"]
    if act_name in FusedBatchedStep.ACTIVATIONS:
        batched += ["batched:fused"] + (["batched:threads"] if threads else [])
    exp = act_name == "tanh"                      # tanh from numpy's exp
    if torch_ok:
        batched += ["batched:fused/torch"] + (["batched:threads/torch"] if threads else [])
    if exp:
        batched += ["batched:fused/exp"] + (["batched:threads/exp"] if threads else [])
    compiled = numba_ok and act_name in COMPILED and numba_available()
    if compiled:
        batched += ["batched:fused/numba"] + (["batched:threads/numba"] if threads else [])
        batched += ["batched:numba"] if dk <= COMPILED_DK else []
    if small:
        return tuple(batched)
    per_run = ["per-run:torch", "per-run:threads", "per-run:threads/torch"] if torch_ok \
        else ["per-run:threads"]
    per_run += ["per-run:units"]
    return tuple(batched + per_run + (["per-run:threads/exp", "per-run:units/exp"] if exp else [])
                 + (["per-run:threads/numba", "per-run:units/numba"] if compiled else []))


def worth_importing(lib: str, B: int, n: int, k: int, steps: "int | None") -> bool:
    """Whether candidates needing ``lib`` ('torch' on numpy arrays, 'numba') are worth timing:
    it is imported already, or the batch's ``steps``·B·n·k element-steps (None: unknown) reach
    ``WORTH[lib]``."""
    return started(lib) or steps is None or steps * B * n * k >= WORTH[lib]


def started(lib: str) -> bool:
    """Whether this process has paid ``lib``'s start-up already (numba: our kernels loaded)."""
    return sys.modules.get("torch" if lib == "torch" else "theorem_lab.compiled") is not None


def needs(name: str, bk: Backend, act_name: str) -> "str | None":
    """The library candidate ``name`` imports for this backend beyond numpy ('torch', 'numba'),
    or None."""
    if uses_torch(name, bk, act_name):
        return "torch"
    compiled = name.endswith("/numba") or name == "batched:numba"
    return "numba" if bk.name == "numpy" and compiled else None


def uses_torch(name: str, bk: Backend, act_name: str) -> bool:
    """Whether candidate ``name`` imports torch for this backend (numpy's erf epilogue is
    torch's erf: every fast numpy erf path does)."""
    if bk.name != "numpy":
        return bk.name == "torch"
    return (name.endswith("/torch") or name == "per-run:torch"
            or (act_name == "erf" and name != "batched"))


def pick(seconds: dict, steps: "int | None", import_s: dict, bk: Backend, act_name: str) -> str:
    """The candidate of least cost for a run of ``steps`` steps: seconds per step × steps, plus
    ``import_s[lib]`` for one that needs a library (``needs``) not imported yet (0 or absent:
    imported). ``steps`` None: the fastest step (benchmarks)."""
    if steps is None:
        return min(seconds, key=seconds.get)
    return min(seconds, key=lambda name: seconds[name] * steps
               + import_s.get(needs(name, bk, act_name), 0.0))


def _start(lib: str) -> float:
    """Import ``lib`` and make it ready to run ('numba': load or compile the kernels, a first
    call); the seconds it took (0.0 if it was imported already). For numba, what only a first
    process on a machine pays is not counted: the vector-width measurement (simd_width.PROBE_S,
    2.1 s on the Xeon against a 0.45 s start), and a first call that compiled instead of loading
    from numba's cache returns 0.0 (the assumed ``IMPORT_S`` is used): a start-up cached with
    those in it kept numba's kernels out of later picks. If numba fails to start (a broken
    install, no writable cache), the reason goes to ``step.NUMBA_FAILED`` and its candidates are
    no longer offered in this process."""
    t0 = time.perf_counter()
    if lib == "torch":
        if "torch" in sys.modules:
            return 0.0
        import torch  # noqa: F401
        return time.perf_counter() - t0
    ready = started("numba")
    try:
        from . import compiled, simd_width
        compiled.tanh_epilogue(np.zeros((1, 2)), np.zeros(2), np.zeros(1), [])
    except Exception as exc:  # noqa: BLE001 - any failure: run without numba
        NUMBA_FAILED.append(f"{type(exc).__name__}: {exc}")
        return 0.0
    stats = getattr(compiled.rows, "stats", None)               # numba's cache: hits, misses
    if ready or stats is None or not stats.cache_hits or stats.cache_misses:
        return 0.0
    return max(time.perf_counter() - t0 - simd_width.PROBE_S, 0.0)


def _sync(bk: Backend):
    if bk.device == "cuda" and bk.name == "torch":
        import torch
        torch.cuda.synchronize()
    elif bk.name == "cupy":
        import cupy
        cupy.cuda.Device().synchronize()


def time_candidates(X, v, activation: Activation, bk: Backend, names=None,
                    repeats: int = TIMING_REPEATS, rounds: int = TIMING_ROUNDS,
                    drive: "Callable | None" = None) -> dict:
    """Seconds per step of each candidate on these inputs: the minimum over ``rounds``
    alternating rounds (robust to drifting load) of the mean per call of a burst of at least
    ``repeats`` calls and ``BURST_S`` seconds, after untimed calls (after the first round, a
    candidate slower than ``PRUNE`` × the fastest is not timed again). The untimed calls
    (``SETTLE_S`` or ``SETTLE_CALLS``) absorb what the previous candidate left behind: its BLAS
    or OpenMP threads spin on for up to ~0.1 s, and slowed the next candidate by 14-40 % when
    candidates alternated call by call, by up to 2.5× in its first calls after a switch
    (measured). ``drive(step)`` runs one step of the caller's loop with candidate ``step``
    (engine.timing_drive: the host work between the kernel calls included, during which a
    threaded kernel's workers go idle); None: its forward and descend back to back."""
    xp = bk.xp
    B, n, d = X.shape
    names = names or candidates(bk, B, n * v.shape[0], activation.name, dk=d * v.shape[0])
    steps = {name: make_step(name, X, v, activation, bk) for name in names}
    if drive is None:
        W = bk.asarray(np.random.default_rng(0).standard_normal((B, v.shape[0], d)))
        r = xp.zeros((B, n), dtype=X.dtype) if bk.name == "numpy" else xp.zeros(
            (B, n), dtype=X.dtype, device=X.device)
        drive = lambda st: (st.forward(W), st.descend(W, r))          # noqa: E731
    best = {name: math.inf for name in steps}
    for round_ in range(rounds):
        fastest = min(best.values())
        for name, st in steps.items():
            if round_ and best[name] > PRUNE * fastest:
                continue                 # cannot win: not timed again
            settle = time.perf_counter() + SETTLE_S
            for _ in range(SETTLE_CALLS):    # warm caches, allocators and this candidate's
                drive(st)                    # threads while the previous one's go idle
                if time.perf_counter() > settle:
                    break
            best[name] = min(best[name], _burst(drive, st, bk, repeats))
    return best


def _burst(drive, st, bk, repeats: int) -> float:
    """Seconds per call of ``drive(st)`` over a burst of at least ``repeats`` calls lasting at
    least ``BURST_S``, synchronised on a device."""
    _sync(bk)
    t0 = time.perf_counter()
    calls = 0
    while calls < repeats or time.perf_counter() - t0 < BURST_S:
        drive(st)
        calls += 1
    _sync(bk)
    return (time.perf_counter() - t0) / calls


def choose(X, v, activation: Activation, bk: Backend, steps: "int | None" = None,
           drive: "Callable | None" = None) -> Choice:
    """The choice for these inputs' key: the candidates' step times, measured on first use and
    cached (process, disk), and the pick for a run of ``steps`` steps (``pick``: a candidate
    that needs torch or numba where it has not started yet pays that start-up, measured too;
    None: the fastest step). ``drive``: as in ``time_candidates`` (the engine's loop); times
    with and without one are cached apart."""
    B, n, d = X.shape
    k = v.shape[0]
    key = (bk.name, bk.device, bk.dtype, activation.name, shape_class(B, n, d, k))
    forced = os.environ.get("THEOREM_LAB_KERNEL")
    if forced:
        check_choice("THEOREM_LAB_KERNEL", forced, "the engine", CANDIDATES)
        return Choice(key, {}, forced, forced=True)
    loaded = {lib for lib in IMPORT_S if started(lib)}
    names = candidates(bk, B, n * k, activation.name, worth_importing("torch", B, n, k, steps),
                       worth_importing("numba", B, n, k, steps), d * k)
    loop = "engine loop" if drive is not None else "back to back"
    if (key, names, loop) not in _TIMED:
        path = _cache_file(key, names, loop) if bk.device == "cpu" else None
        cached = _read_cache(path)
        if cached is None:
            libs = {needs(name, bk, activation.name) for name in names} - {None}
            import_s = {lib: _start(lib) for lib in sorted(libs)}
            if "numba" in libs and NUMBA_FAILED:    # offer what runs: no numba candidates
                return choose(X, v, activation, bk, steps, drive)
            import_s = {lib: import_s.get(lib) or IMPORT_S[lib] for lib in IMPORT_S}
            cached = time_candidates(X, v, activation, bk, names, drive=drive), import_s
            if path is not None:             # numba's first start measured the vector width,
                path = _cache_file(key, names, loop)   # which is part of the key: as read later
            _write_cache(path, key, *cached)
        _TIMED[key, names, loop] = cached
    seconds, import_s = _TIMED[key, names, loop]
    import_s = {lib: s for lib, s in import_s.items() if lib not in loaded}
    chosen = pick(seconds, steps, import_s, bk, activation.name)
    if needs(chosen, bk, activation.name) == "numba" and "numba" not in loaded:
        _start("numba")                  # a choice read from disk: numba must start here too
        if NUMBA_FAILED:
            return choose(X, v, activation, bk, steps, drive)
    return Choice(key, seconds, chosen)


# --- the choice on disk, keyed by the machine ----------------------------------------------------

_NUMBA_TARGET_ENV = ("NUMBA_THREADING_LAYER", "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")
_BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")


def machine_id() -> str:
    """What a measured choice is valid for: the CPU (model name, family/model/stepping and a
    digest of its feature flags: two machines both called "AMD EPYC", one with AVX-512 and one
    without, want different kernels), the CPUs this process may use, the thread setting and the
    numpy, torch, numba and tbb versions (read without importing them; tbb: whether
    ``batched:numba`` runs on numba's threads or the Python pool, compiled.THREADS), and the
    numba settings that change its kernels (``_NUMBA_TARGET_ENV``), and the settings of the
    OpenBLAS that runs the GEMMs (``_BLAS_ENV``: OPENBLAS_CORETYPE=Haswell runs AVX2 kernels on
    an AVX-512 CPU, and its GEMMs took 1.6× longer on a 2-core Zen 5 EPYC, measured)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return "|".join(str(x) for x in (this_cpu(), cpus, os.environ.get("OMP_NUM_THREADS"),
                                     np.__version__, *versions((*IMPORT_S, "tbb")),
                                     *(os.environ.get(v) for v in (*_NUMBA_TARGET_ENV, *_BLAS_ENV))))


def read_cpuinfo() -> "str | None":
    """/proc/cpuinfo's text; None where there is none (not Linux)."""
    try:
        with open("/proc/cpuinfo") as fh:
            return fh.read()
    except OSError:
        return None


def this_cpu() -> str:
    """``cpu_id`` of this machine (``platform.processor()`` where /proc/cpuinfo is missing)."""
    text = read_cpuinfo()
    if text is None:
        import platform
        return platform.processor()
    return cpu_id(text)


def versions(libs) -> list:
    """The installed versions of ``libs``, read without importing them (None: not installed)."""
    from importlib import metadata
    out = []
    for lib in libs:
        try:
            out.append(metadata.version(lib))
        except metadata.PackageNotFoundError:
            out.append(None)
    return out


def cpuinfo_fields(cpuinfo: str) -> dict:
    """The first processor's fields of a /proc/cpuinfo text (name -> value)."""
    fields: dict = {}
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    return fields


def cpu_id(cpuinfo: str) -> str:
    """'model name/family/model/stepping/flags digest' of the first processor in a
    /proc/cpuinfo text."""
    import hashlib
    fields = cpuinfo_fields(cpuinfo)
    flags = hashlib.sha256(fields.get("flags", "").encode()).hexdigest()[:8]
    return "/".join([fields.get("model name", ""), fields.get("cpu family", ""),
                     fields.get("model", ""), fields.get("stepping", ""), flags])


def _cache_file(key: tuple, names: tuple, loop: str = "back to back"):
    import hashlib
    import json

    from .output import cache_dir
    from .simd_width import stored_width
    where = cache_dir("kernels")
    if where is None:
        return None
    text = json.dumps([machine_id(), stored_width(), list(key), list(names), TIMED, loop,
                       code_digest()])
    return where / (hashlib.sha256(text.encode()).hexdigest()[:20] + ".json")


KERNEL_MODULES = ("batched_steps", "step", "step_units", "compiled", "activations", "simd_width",
                  "engine", "kernel_choice")


@lru_cache(maxsize=None)
def code_digest() -> str:
    """A digest of the source of the kernels and of the loop that times them
    (``KERNEL_MODULES``, read without importing them): timings stored by other code are not a
    measurement of this code (a kernel made faster kept losing to its own old timing)."""
    import hashlib
    from importlib.util import find_spec
    h = hashlib.sha256()
    for name in KERNEL_MODULES:
        spec = find_spec(f"{__package__}.{name}")
        try:
            h.update(Path(spec.origin).read_bytes())
        except (AttributeError, TypeError, OSError):
            h.update(name.encode())
    return h.hexdigest()[:16]


def _read_cache(path) -> "tuple | None":
    """The stored (seconds per candidate, start-up seconds per library), or None (no file,
    unreadable, or not ours)."""
    import json
    if path is None:
        return None
    try:
        stored = json.loads(path.read_text())
        seconds = stored["seconds"]
        import_s = {lib: float(stored.get("import_s", {}).get(lib, s)) for lib, s in IMPORT_S.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(seconds, dict) or not seconds or not all(
            k in CANDIDATES and isinstance(v, float) for k, v in seconds.items()):
        return None
    return seconds, import_s


def _write_cache(path, key: tuple, seconds: dict, import_s: dict) -> None:
    """Store the timings (a read-only home: the choice stays per process)."""
    from .output import write_cache_json
    if path is not None:
        write_cache_json(path, {"machine": machine_id(), "key": list(key), "seconds": seconds,
                                "import_s": import_s})
