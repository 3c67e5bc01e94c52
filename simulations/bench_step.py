"""`theorem-lab bench step`: one GD step against its two GEMMs, measured in the same process.

A GD step (``theorem_lab.step.GradientStep``: forward, then gradient) does two GEMMs of
2·n·d·k flops each, X Wᵀ and the (k, n)·(n, d) backward product, plus elementwise work on the
(n, k) matrix. The benchmark times both in alternating rounds (so that both see the same machine
load; each phase after ``SETTLE_S`` idle so that BLAS threads spinning after the previous phase
do not steal a core) and reports the minimum over all calls (the least-disturbed run):

    step        forward(W) + gradient(f − y)         (the fast path; what train() runs)
    naive       the same with ``fast=False``          (the straightforward array-API lines)
    GEMMs       GEMM 1 + GEMM 2 alone, into preallocated outputs, each in its fastest layout
                (X Wᵀ or W Xᵀ; Φᵀ(r⊙X), (r⊙X)ᵀΦ or Φᵀ stored transposed) and, for numpy
                arrays, the faster of OpenBLAS and torch's MKL on the same memory — the strict
                baseline
    GEMMs(ref)  the two GEMMs as the reference code writes them (X Wᵀ, Φᵀ (r⊙X)), in the
                backend's own library — the baseline of issue 2's "3.7×"

and prints step/GEMMs (the target is ≤ 1.5), step/GEMMs(ref), naive/GEMMs and GFLOP/s
(4·n·d·k flops per step: the elementwise work is not counted).

``--device cuda`` runs the same on the GPU (backends torch and, where installed, CuPy; every
timed call ends in a device synchronisation), the engine table included; the JAX peer is timed
on the CPU only.
"""

from __future__ import annotations

import json
import os
import platform
import time

import numpy as np

from theorem_lab.activations import ACTIVATIONS
from theorem_lab.backend import check_device
from theorem_lab.errors import check_choice, check_fits, check_int, fail, integer, parse_list
from theorem_lab.output import strict_json
from theorem_lab.network import output_layer
from theorem_lab.step import ENGINES, GradientStep, default_threads

_OWNER = "bench step"
BACKENDS = ("numpy", "torch", "cupy")
DTYPES = ("float64", "float32")
TARGET_RATIO = 1.5          # issue 2, item 7: step ≤ 1.5 × the two GEMMs
SETTLE_S = 0.15             # idle before each timed phase: OpenBLAS workers spin ~0.1 s after work


def _split(value: str, name: str, choices) -> list:
    return parse_list(value, name, _OWNER, item=lambda s: check_choice(name, s, _OWNER, choices))


def _problem(n, d, k, backend, dtype, seed, device="cpu"):
    """X (n, d) unit rows, W (k, d) ~ N(0, 1), v = ±1/√k, y ±1, in ``backend``/``dtype`` on
    ``device``."""
    import theorem_lab as tl
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    arrays = dict(X=X, W=rng.standard_normal((k, d)), v=output_layer(k),
                  y=np.sign(rng.standard_normal(n)))
    if backend == "numpy":
        return {a: np.ascontiguousarray(b, dtype=dtype) for a, b in arrays.items()}
    bk = tl.resolve_backend(backend, device, dtype, owner=_OWNER)
    return {a: bk.asarray(b) for a, b in arrays.items()}


def synchronizer(backend: str, device: str):
    """What ends a timed call: the device's synchronisation on CUDA (its kernels run
    asynchronously), nothing on the CPU."""
    if device != "cuda":
        return lambda: None
    if backend == "cupy":
        import cupy
        return cupy.cuda.Device().synchronize
    import torch
    return torch.cuda.synchronize


def _gemm_variants(P, backend):
    """name -> thunk for each layout of GEMM 1 and GEMM 2, all writing preallocated outputs.

    For numpy arrays the torch (MKL) GEMMs on the same memory are candidates too: the numpy
    step may run torch kernels (``engine='torch'``), so the baseline is the fastest library."""
    X, W, y = P["X"], P["W"], P["y"]
    n, k, d = X.shape[0], W.shape[0], X.shape[1]
    libs = {}
    if backend == "numpy":
        libs[""] = (np.matmul, lambda s: np.empty(s, dtype=X.dtype), X, W, y)
    if backend == "cupy":
        import cupy
        libs[""] = (cupy.matmul, lambda s: cupy.empty(s, dtype=X.dtype), X, W, y)
    else:
        import torch
        if backend == "numpy":
            P = {a: torch.from_numpy(b) for a, b in P.items()}
        dev = P["X"].device
        libs["torch " if backend == "numpy" else ""] = (
            torch.matmul, lambda s: torch.empty(s, dtype=P["X"].dtype, device=dev),
            P["X"], P["W"], P["y"])
    out = {}
    for lib, (mm, empty, X, W, y) in libs.items():
        Z, ZT, G, GT = empty((n, k)), empty((k, n)), empty((k, d)), empty((d, k))
        Z[...] = 0.5
        ZT[...] = 0.5
        Xr = y[:, None] * X                                               # (n, d)
        out.update({
            f"gemm1:{lib}X@W.T": lambda mm=mm, X=X, W=W, Z=Z: mm(X, W.T, out=Z),   # reference
            f"gemm1:{lib}W@X.T": lambda mm=mm, X=X, W=W, ZT=ZT: mm(W, X.T, out=ZT),
            f"gemm2:{lib}Z.T@Xr": lambda mm=mm, Z=Z, Xr=Xr, G=G: mm(Z.T, Xr, out=G),  # reference
            f"gemm2:{lib}Xr.T@Z": lambda mm=mm, Z=Z, Xr=Xr, GT=GT: mm(Xr.T, Z, out=GT),
            f"gemm2:{lib}ZT@Xr": lambda mm=mm, ZT=ZT, Xr=Xr, G=G: mm(ZT, Xr, out=G),
        })
    return out


def measure(n=1000, d=50, k=4096, activation="tanh", backend="numpy", dtype="float64",
            repeats=10, threads=None, block_rows=None, seed=0, inner=3,
            settle=SETTLE_S, engine="auto", device="cpu") -> dict:
    """Time step, naive step and every GEMM layout in ``repeats`` alternating rounds of
    ``inner`` calls each; return the minima (seconds) and medians. torch float32 on CUDA runs
    with the engine's matmul precision (TF32 unless $THEOREM_LAB_TF32=off), recorded."""
    P = _problem(n, d, k, backend, dtype, seed, device)
    matmul = _precision(backend, device, dtype)
    sync = synchronizer(backend, device)
    fast = GradientStep(P["X"], P["v"], activation, threads=threads, block_rows=block_rows,
                        engine=engine)
    naive = GradientStep(P["X"], P["v"], activation, fast=False)
    W, y = P["W"], P["y"]

    def step(s):
        return lambda: s.gradient(s.forward(W) - y)

    baseline = {"naive": step(naive), **_gemm_variants(P, backend)}
    times = {name: [] for name in ["step", *baseline]}
    for fn in [step(fast), *baseline.values()]:        # warm-up: buffers, thread pool, caches
        fn()
    sync()

    def timed(name, fn):
        for _ in range(inner):
            t0 = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - t0)

    for _ in range(repeats):
        # The baseline runs BLAS's own threads; they busy-wait ~0.1 s after a call (OpenBLAS)
        # and would steal a core from the step's threads: let them go to sleep first.
        time.sleep(settle)
        timed("step", step(fast))
        time.sleep(settle)
        for name, fn in baseline.items():
            timed(name, fn)
    best = {name: min(ts) for name, ts in times.items()}
    med = {name: float(np.median(ts)) for name, ts in times.items()}
    g1 = min(v for name, v in best.items() if name.startswith("gemm1"))
    g2 = min(v for name, v in best.items() if name.startswith("gemm2"))
    g_ref = best["gemm1:X@W.T"] + best["gemm2:Z.T@Xr"]                # the backend's own library
    flops = 4.0 * n * d * k
    return {
        "backend": backend, "device": device, "dtype": dtype, "activation": activation,
        "n": n, "d": d, "k": k, "matmul": matmul,
        "threads": fast.threads if fast.kind == "numpy" else _torch_threads(),
        "path": fast.kind, "repeats": repeats,
        "step_s": best["step"], "step_median_s": med["step"], "naive_s": best["naive"],
        "gemm1_s": g1, "gemm2_s": g2, "gemms_s": g1 + g2, "gemms_ref_s": g_ref,
        "ratio": best["step"] / (g1 + g2), "ratio_ref": best["step"] / g_ref,
        "ratio_median": med["step"] / (g1 + g2), "naive_ratio": best["naive"] / (g1 + g2),
        "step_gflops": flops / best["step"] / 1e9, "gemms_gflops": flops / (g1 + g2) / 1e9,
        "gemm_layouts_s": {name: v for name, v in best.items() if name.startswith("gemm")},
    }


def _torch_threads():
    import torch
    return torch.get_num_threads()


def cpu_model() -> str:
    """'model name, family F model M' of this CPU from /proc/cpuinfo (platform's name elsewhere)."""
    from theorem_lab.kernel_choice import cpuinfo_fields, read_cpuinfo
    text = read_cpuinfo()
    if text is None:
        return platform.processor() or platform.machine()
    fields = cpuinfo_fields(text)
    return f"{fields.get('model name', '?')}, family {fields.get('cpu family', '?')} " \
           f"model {fields.get('model', '?')}"


def environment(device: str = "cpu") -> dict:
    import numpy
    env = {"python": platform.python_version(), "numpy": numpy.__version__,
           "cpus": default_threads(), "machine": platform.processor() or platform.machine(),
           "cpu": cpu_model()}
    try:
        import torch
        env["torch"] = torch.__version__
        if device == "cuda":
            env["gpu"] = torch.cuda.get_device_name()
    except ImportError:  # pragma: no cover
        pass
    try:
        from threadpoolctl import threadpool_info
        env["blas"] = sorted({f"{i['internal_api']} {i.get('version')} {i.get('architecture')} "
                              f"kernels ({i['num_threads']} thr)"
                              for i in threadpool_info() if i["user_api"] == "blas"})
    except Exception:  # pragma: no cover
        pass
    # set by hand or by the machine's set-up, they change the GEMMs (OPENBLAS_CORETYPE=Haswell:
    # AVX2 kernels on an AVX-512 CPU); kernel_choice keys its timings by them too
    env.update({k: v for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_")})
    if hasattr(os, "getloadavg"):
        env["loadavg_1min"] = os.getloadavg()[0]
    return env


def _precision(backend, device, dtype) -> "str | None":
    """Set the engine's float32 matmul precision for these arrays (backend.matmul_precision:
    'tf32' or 'ieee' for torch float32 on CUDA, None elsewhere) and return it."""
    import theorem_lab as tl
    from theorem_lab.backend import matmul_precision
    return matmul_precision(tl.resolve_backend(backend, device, dtype, owner=_OWNER))


def format_table(rows) -> str:
    head = (f"{'backend':7} {'path':11} {'dtype':7} {'act':8} {'thr':>3} {'step ms':>8} {'GEMMs ms':>8} "
            f"{'ratio':>6} {'ref ms':>7} {'r/ref':>6} {'naive ms':>8} {'naive r':>7} "
            f"{'GFLOP/s':>7} {'GEMM GF':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        mark = ("" if r["ratio"] <= TARGET_RATIO else "  > target") + (
            f"  ({r['matmul'].upper()} matmuls)" if r.get("matmul") else "")
        lines.append(
            f"{r['backend']:7} {r['path']:11} {r['dtype']:7} {r['activation']:8} {r['threads']:>3} "
            f"{1e3 * r['step_s']:8.2f} {1e3 * r['gemms_s']:8.2f} {r['ratio']:6.2f} "
            f"{1e3 * r['gemms_ref_s']:7.2f} {r['ratio_ref']:6.2f} {1e3 * r['naive_s']:8.2f} "
            f"{r['naive_ratio']:7.2f} {r['step_gflops']:7.1f} {r['gemms_gflops']:7.1f}{mark}")
    return "\n".join(lines)


def configure(parser):
    parser.add_argument("--n", type=integer, default=1000, help="training points (default 1000)")
    parser.add_argument("--dim", "--d", dest="d", type=integer, default=50, help="input dimension (default 50)")
    parser.add_argument("--width", "--k", dest="k", type=integer, default=4096, help="width k (default 4096)")
    parser.add_argument("--activation", default="tanh",
                        help="comma list of " + ", ".join(ACTIVATIONS) + " or 'all' (default tanh)")
    parser.add_argument("--backends", default=None,
                        help="comma list of numpy, torch, cupy (default numpy,torch; with "
                             "--device cuda: torch, and cupy where installed)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--dtypes", default="float64,float32", help="comma list (default both)")
    parser.add_argument("--repeats", type=integer, default=10,
                        help="alternating rounds of 3 calls each; the minimum is reported "
                             "(default 10)")
    parser.add_argument("--threads", type=integer, default=None,
                        help="threads of the numpy threads engine (default: CPUs available to this process)")
    parser.add_argument("--block-rows", type=integer, default=None,
                        help="row-block size of the numpy threads engine (default: ~1 MiB blocks)")
    parser.add_argument("--engine", default="auto",
                        help="numpy step kernels, comma list of " + ", ".join(ENGINES)
                             + " (default auto: GradientStep's fixed default, torch kernels on numpy memory; "
                             "the engine's own choice by measurement is the second table)")
    parser.add_argument("--batch", type=integer, default=1,
                        help="runs per batched step in the engine-candidates table (default 1)")
    parser.add_argument("--seed", type=integer, default=0)
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead")


def run(args) -> int:
    from theorem_lab.sizes import check_size, train_bytes
    n = check_int("--n", args.n, _OWNER, low=1)
    d = check_int("--dim", args.d, _OWNER, low=1)
    k = check_int("--width", args.k, _OWNER, low=2, even=True)
    repeats = check_int("--repeats", args.repeats, _OWNER, low=1)
    check_fits("--repeats", repeats, _OWNER, 1024.0 * repeats, f"the timings of {repeats} rounds")
    check_int("--seed", args.seed, _OWNER, low=0)
    if args.threads is not None:
        check_int("--threads", args.threads, _OWNER, low=1)
    if args.block_rows is not None:
        check_int("--block-rows", args.block_rows, _OWNER, low=1)
    acts = list(ACTIVATIONS) if args.activation == "all" else _split(
        args.activation, "--activation", ACTIVATIONS)
    device = check_device("--device", args.device, _OWNER)
    backends = _backends(args.backends, device)
    dtypes = _split(args.dtypes, "--dtypes", DTYPES)
    engines = _split(args.engine, "--engine", ENGINES)
    # the step's arrays plus the benchmark's preallocated GEMM outputs (two more (n, k) and (k, d))
    check_size(_OWNER, {"n": "--n", "d": "--dim", "k": "--width"}, train_bytes(n, d, k),
               [(8 * 2 * n * k, [("--n", n, 1000), ("--width", k, 4096)])],
               what=f"one GD step and its GEMM outputs (n={n}, dim={d}, width={k})")
    B = check_int("--batch", args.batch, _OWNER, low=1)        # before any timing starts
    check_size(_OWNER, {"n": "--n", "d": "--dim", "k": "--width"},
               [(B * b, fs + [("--batch", B, 1)]) for b, fs in train_bytes(n, d, k)],
               what=f"the engine's candidates: {B} runs stepped together (n={n}, width={k})")
    combos = [(b, e) for b in backends for e in (engines if b == "numpy" else ["auto"])]
    rows = []
    for backend, engine in combos:
        for dtype in dtypes:
            for act in acts:
                rows.append(measure(n, d, k, act, backend, dtype, repeats, args.threads,
                                    args.block_rows, args.seed, engine=engine, device=device))
                if not args.json:
                    print(format_table(rows[-1:]).splitlines()[-1] if len(rows) > 1 else
                          _header(n, d, k, repeats, device) + "\n" + format_table(rows),
                          flush=True)
    engine_rows = [engine_candidates(n, d, k, act, backend, dtype, B, min(repeats, 5), args.seed,
                                     device) for backend in backends for dtype in dtypes
                   for act in acts]
    if args.json:
        print(strict_json({"environment": environment(device), "target_ratio": TARGET_RATIO,
                           "results": rows, "engine": engine_rows}, indent=2))
    else:
        print(format_engine(engine_rows))
    return 0


def _backends(text, device: str) -> list:
    """The --backends list: numpy runs on the CPU only, CuPy on CUDA only; without the option,
    numpy and torch on the CPU, torch (and CuPy where installed) on CUDA."""
    if text is None:
        if device == "cpu":
            return ["numpy", "torch"]
        import importlib.util
        return ["torch"] + (["cupy"] if importlib.util.find_spec("cupy") else [])
    backends = _split(text, "--backends", BACKENDS)
    allowed = ("numpy", "torch") if device == "cpu" else ("torch", "cupy")
    for b in backends:
        if b not in allowed:
            raise fail("--backends", _OWNER, f"a comma list of {', '.join(allowed)} with "
                       f"--device {device}", text)
    return backends


def _header(n, d, k, repeats, device="cpu") -> str:
    env = environment(device)
    gf = 4.0 * n * d * k / 1e9
    return (f"GD step vs its two GEMMs: n={n} d={d} k={k} ({gf:.2f} GFLOP/step), min over {repeats} "
            f"alternating rounds of 3 calls\n{json.dumps(env)}\n"
            f"ratio = step / GEMMs in their fastest layouts (target <= {TARGET_RATIO}); "
            f"r/ref = step / GEMMs as the reference writes them")


# --- the engine's kernel candidates (kernel_choice.py) against GEMMs + one φ pass -----------

def phi_pass_s(n, k, activation, backend, dtype, repeats=5, device="cpu") -> float:
    """The irreducible elementwise work: one in-place transcendental pass over an (n, k) block
    (tanh: tanh; softplus: softplus; erf: erf; relu: max(z, 0)), the fastest of numpy, torch on
    the same memory (its own threads) and, with numba installed, the compiled pass (compiled.py,
    which gives φ' too), numpy's and the compiled pass both also split by rows over the threads
    the engine uses (``default_threads``: the engine's threaded kernels run their pass so, and a
    one-thread floor flattered them), min over ``repeats``. On CUDA: torch's pass on the device
    (CuPy's for the cupy backend), synchronised."""
    import torch

    from theorem_lab.step import COMPILED, numba_available, parallel, split
    if device == "cuda":
        return device_phi_pass_s(n, k, activation, backend, dtype, repeats)
    Z = np.full((n, k), 0.3, dtype=dtype)
    T, Phi = torch.from_numpy(Z), np.empty_like(Z)
    blocks = {"tanh": [lambda Zb, Pb: np.tanh(Zb, out=Zb)],       # numpy or compiled: by rows
              "relu": [lambda Zb, Pb: np.maximum(Zb, 0, out=Zb)], "softplus": [], "erf": []}
    if activation in COMPILED and numba_available():
        from theorem_lab import compiled
        blocks[activation].append(lambda Zb, Pb: compiled.phi_dphi_pass(Zb, Pb, activation))
    ops = {"tanh": [lambda: torch.tanh(T, out=T)],
           "softplus": [lambda: torch.nn.functional.softplus(T)],
           "erf": [lambda: torch.special.erf(T, out=T)],
           "relu": [lambda: torch.clamp_min(T, 0, out=T)]}[activation]
    parts = split(n, default_threads())
    for block in blocks[activation]:
        ops.append(lambda block=block: block(Z, Phi))
        if len(parts) > 1:
            ops.append(lambda block=block: parallel(
                parts, lambda lo, hi, t: block(Z[lo:hi], Phi[lo:hi]), hold_blas=False))
    best = float("inf")
    for _ in range(repeats):
        for op in ops:
            Z[...] = 0.3
            t0 = time.perf_counter()
            op()
            best = min(best, time.perf_counter() - t0)
    return best


def device_phi_pass_s(n, k, activation, backend, dtype, repeats, device="cuda") -> float:
    """The φ pass of ``phi_pass_s`` by the backend's own library on ``device`` (torch's on a
    torch tensor, CuPy's on a CuPy array), every call synchronised."""
    if backend == "cupy":
        import cupy as lib
        from cupyx.scipy.special import erf
        Z = lib.full((n, k), 0.3, dtype=dtype)
        op = {"tanh": lambda: lib.tanh(Z, out=Z), "relu": lambda: lib.maximum(Z, 0, out=Z),
              "softplus": lambda: lib.logaddexp(Z, 0, out=Z),
              "erf": lambda: erf(Z, out=Z)}[activation]
    else:
        import torch as lib
        Z = lib.full((n, k), 0.3, dtype=getattr(lib, dtype), device=device)
        op = {"tanh": lambda: lib.tanh(Z, out=Z), "relu": lambda: lib.clamp_min(Z, 0, out=Z),
              "softplus": lambda: lib.nn.functional.softplus(Z),
              "erf": lambda: lib.special.erf(Z, out=Z)}[activation]
    sync = synchronizer(backend, device)
    op()
    sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        op()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def engine_candidates(n, d, k, activation, backend, dtype, B=1, repeats=5, seed=0,
                      device="cpu") -> dict:
    """Seconds per batched step (B runs) of every kernel candidate, timed in the engine's loop
    (engine.timing_drive: its host work included), the engine's choice, the φ pass, the GEMMs,
    and overhead = chosen / (B · (GEMMs + φ pass)); plus, on the CPU, the jitted JAX step when
    jax is importable (an optional peer, not a dependency)."""
    import theorem_lab as tl
    from theorem_lab import engine, kernel_choice

    bk = tl.resolve_backend(backend, device, dtype, owner=_OWNER)
    matmul = _precision(backend, device, dtype)           # as the engine's runs have it
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((B, n, d))
    X /= np.linalg.norm(X, axis=2, keepdims=True)
    v, act = output_layer(k), tl.get_activation(activation)
    bt = engine.Batch(engine_runs(X, k, rng), v, act, 1, bk)
    chosen = engine.choose_kernel(bt, None)            # what the engine uses (maybe cached)
    seconds = kernel_choice.time_candidates(bt.X, bt.v, act, bk, repeats=repeats,
                                            drive=engine.timing_drive(bt))      # measured now
    g = measure(n, d, k, activation, backend, dtype, repeats=2, settle=0.0, inner=2,
                device=device)
    phi = phi_pass_s(n, k, activation, backend, dtype, device=device)
    floor = B * (g["gemms_s"] + phi)
    out = {"backend": backend, "device": device, "dtype": dtype, "matmul": matmul,
           "activation": activation, "B": B,
           "candidates_s": seconds, "chosen": chosen, "chosen_s": seconds.get(chosen, float("nan")),
           "fastest": min(seconds, key=seconds.get), "gemms_s": g["gemms_s"], "phi_pass_s": phi,
           "overhead": seconds.get(chosen, float("nan")) / floor}
    jax_s = _jax_step_s(X, v, activation, dtype, repeats) if device == "cpu" else None
    if jax_s is not None:
        out["jax_s"] = jax_s
    return out


def engine_runs(X, k, rng) -> list:
    """B engine runs on X (B, n, d): labels ±1, W₀ ~ N(0, 1) (k, d), η = 1e-3, α_t = 1
    (plain GD), no test set."""
    from theorem_lab.engine import RunInputs
    B, n, d = X.shape
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    return [RunInputs(X=X[b], y=y, y_true=y, X_test=np.zeros((0, d)), y_test=np.zeros(0),
                      U=np.zeros((n, 1)), W0=rng.standard_normal((k, d)), lr=1e-3,
                      alpha=np.ones(2)) for b in range(B)]


def _jax_step_s(X, v, activation, dtype, repeats):
    """Seconds per call of ``jax_step`` on these inputs, the minimum over ``repeats`` after a
    compiling call (None without jax)."""
    made = jax_step(X, v, activation, dtype)
    if made is None:
        return None
    step, args = made
    step(*args).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        step(*args).block_until_ready()
        best = min(best, time.perf_counter() - t0)
    return best


def jax_step(X, v, activation, dtype, lr=1e-3):
    """The peer a user would write: ``jax.jit`` of W − lr·∇_W ½‖φ(X Wᵀ) v − y‖² (y = sign of
    X's first column), as (step, args) for X (B, n, d), or None without jax. One run (B = 1) is
    jitted as it is; B > 1 runs go through ``jax.vmap``. vmap over a single run would make XLA
    run batched matmuls, 2.2× slower in float64 (27.7 vs 12.6 ms at n=1000 d=50 k=4096, 2-core
    Xeon, jax 0.10.2, measured): the one-run peer was handicapped that way until 2026-12-03."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", dtype == "float64")
    phi = {"tanh": jnp.tanh, "softplus": jax.nn.softplus, "relu": jax.nn.relu,
           "erf": lambda z: jnp.sqrt(jnp.pi / 2) * jax.scipy.special.erf(z / jnp.sqrt(2))}[activation]
    Xj, vj = jnp.asarray(X, dtype=dtype), jnp.asarray(v, dtype=dtype)
    y = jnp.sign(Xj[:, :, 0])
    W = jnp.asarray(np.random.default_rng(1).standard_normal((X.shape[0], v.shape[0], X.shape[2])),
                    dtype=dtype)

    def loss(W, X, y):
        return 0.5 * jnp.sum((phi(X @ W.T) @ vj - y) ** 2)

    def one(W, X, y):
        return W - lr * jax.grad(loss)(W, X, y)

    if X.shape[0] == 1:
        return jax.jit(one), (W[0], Xj[0], y[0])
    return jax.jit(jax.vmap(one)), (W, Xj, y)


def format_engine(rows) -> str:
    """One block per (backend, dtype, activation): the floor, then every candidate fastest
    first with its ratio to the floor, the chosen one and the fastest marked, and the JAX peer."""
    lines = ["engine kernels (kernel_choice.py): ms per batched step in the engine's loop (its "
             "host work included); × floor = that / (B·(GEMMs + φ pass))"]
    for r in rows:
        floor = r["B"] * (r["gemms_s"] + r["phi_pass_s"])
        tf32 = f" ({r['matmul'].upper()})" if r.get("matmul") else ""
        jax = (f"; jax.jit {1e3 * r['jax_s']:.3g} ms ({r['jax_s'] / (r['overhead'] * floor):.2f}× "
               "the chosen's time)") if "jax_s" in r else "; (jax not installed)"
        lines.append(f"{r['backend']} {r['dtype']}{tf32} {r['activation']} B={r['B']}: GEMMs "
                     f"{1e3 * r['gemms_s']:.3g} + φ pass {1e3 * r['phi_pass_s']:.3g} ms, floor "
                     f"{1e3 * floor:.3g} ms{jax}")
        for name, sec in sorted(r["candidates_s"].items(), key=lambda kv: kv[1]):
            marks = [m for m, on in (("chosen", name == r["chosen"]),
                                     ("fastest now", name == r["fastest"])) if on]
            lines.append(f"    {1e3 * sec:8.2f}  {sec / floor:5.2f}×  {name}"
                         + (f"   <- {', '.join(marks)}" if marks else ""))
        if r["fastest"] != r["chosen"]:
            lines.append("    (the chosen kernel is the cached measurement; delete "
                         "$THEOREM_LAB_CACHE_DIR/kernels to measure again)")
        lines.append(f"    chosen: {r['chosen']}, overhead {r['overhead']:.2f}")
    return "\n".join(lines)
