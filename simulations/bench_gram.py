"""`theorem-lab bench gram`: ``jacobian_gram`` against torch.func's Jacobian-contraction NTK.

Same network, same process, float64 (defaults n = 512, d = 128, k = 4096: the issue's size):

    ours      theorem_lab.kernels.jacobian_gram(W, X, φ): (φ'(XWᵀ) diag(v)² φ'(XWᵀ)ᵀ) ⊙ (XXᵀ),
              row blocks, upper block-triangle only; never forms J. Timed on torch tensors
              (the baseline's library and thread pool: the like-for-like comparison) and on
              numpy arrays (the reference backend); the speed-up target uses ``--backend``
    baseline  the "jacobian contraction" empirical NTK of the torch.func tutorial
              (jacrev of f(W, X) = vᵀφ(WXᵀ) with vmap over the samples, then einsum of J Jᵀ);
              it forms J, n × k·d float64 numbers (2 GiB at the default size)

Each is run once untimed, then ``--repeats`` times, interleaved, and the minimum wall time is reported; the
results must agree to ``--rtol`` (max entrywise |Δ| / max |G|). Peak memory: each method runs
in a fresh child process (``multiprocessing``, spawn), warmed up on a 2-sample problem, then
the kernel's peak-RSS mark is reset (Linux: ``/proc/self/clear_refs``) and the peak (VmHWM)
minus the RSS before the call is reported (fallback elsewhere: ``ru_maxrss`` growth, a lower
bound). RSS counts numpy's and torch's allocations alike, which tracemalloc (numpy only) and
the torch profiler (torch only) would not; one method per process keeps the peaks apart.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import resource
import time

import numpy as np

from theorem_lab.activations import ACTIVATIONS, get_activation
from theorem_lab.errors import check_choice, check_fits, check_int, check_real, integer, real
from theorem_lab.output import strict_json
from theorem_lab.kernels import jacobian_gram
from theorem_lab.network import output_layer

_OWNER = "bench gram"
TARGET_SPEEDUP = 50.0


def configure(parser):
    parser.add_argument("--n", type=integer, default=512, help="samples (default 512)")
    parser.add_argument("--dim", "--d", dest="d", type=integer, default=128, help="input dimension (default 128)")
    parser.add_argument("--width", "--k", dest="k", type=integer, default=4096, help="width k (default 4096)")
    parser.add_argument("--activation", default="tanh", help="tanh, softplus, erf or relu")
    parser.add_argument("--backend", default="torch",
                        help="arrays given to jacobian_gram for the target: torch (default) or numpy")
    parser.add_argument("--repeats", type=integer, default=3, help="timed rounds per method, after one untimed warm-up round (the minimum is "
                             "reported; default 3)")
    parser.add_argument("--rtol", type=real, default=1e-10, help="agreement required (default 1e-10)")
    parser.add_argument("--no-memory", action="store_true", help="skip the per-process peak-memory runs")
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary")


def problem(n, d, k, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, rng.standard_normal((k, d)), output_layer(k)


def torch_func_ntk(W, X, v, activation):
    """J Jᵀ with J from torch.func (vmap over samples of jacrev in W), as a numpy array."""
    import torch
    from torch.func import jacrev, vmap
    act = get_activation(activation)
    Wt, Xt, vt = (torch.as_tensor(a, dtype=torch.float64) for a in (W, X, v))

    def f_single(Wm, x):                                    # f(W, x) = vᵀφ(Wx), scalar
        return act.phi(Wm @ x) @ vt

    with torch.no_grad():
        J = vmap(jacrev(f_single), in_dims=(None, 0))(Wt, Xt)          # (n, k, d)
        J = J.reshape(J.shape[0], -1)                                   # (n, kd)
        return torch.einsum("ip,jp->ij", J, J).numpy()


def ours(W, X, v, activation):
    """jacobian_gram on numpy arrays (float64)."""
    return jacobian_gram(W, X, activation, v=v)


def ours_torch(W, X, v, activation):
    """jacobian_gram on torch CPU tensors (float64), returned as numpy."""
    import torch
    Wt, Xt, vt = (torch.as_tensor(a, dtype=torch.float64) for a in (W, X, v))
    return jacobian_gram(Wt, Xt, activation, v=vt).numpy()


METHODS = {"torch": ours_torch, "numpy": ours}


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def _status_kib(field: str) -> "int | None":
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark VmHWM (Linux: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_child(method, n, d, k, activation, queue):
    X, W, v = problem(n, d, k)
    fn = torch_func_ntk if method == "torch.func" else METHODS[method]
    import torch  # noqa: F401  (import cost is not the method's memory)
    fn(W[:2], X[:2], v[:2], activation)                     # warm-up: lazy imports, kernels
    before = _status_kib("VmRSS")
    if before is not None and _reset_peak():
        fn(W, X, v, activation)
        queue.put((_status_kib("VmHWM") - before) * 1024)
        return
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss       # fallback: high-water mark
    fn(W, X, v, activation)
    queue.put((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)


def peak_memory(method, n, d, k, activation) -> float:
    """Peak RSS growth (bytes) of one call of ``method`` in a fresh spawned process."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_peak_child, args=(method, n, d, k, activation, q))
    p.start()
    p.join()
    return float(q.get()) if p.exitcode == 0 else float("nan")


def run(args) -> int:
    from theorem_lab.sizes import check_size, gram_bytes
    n = check_int("--n", args.n, _OWNER, low=1)
    d = check_int("--dim", args.d, _OWNER, low=1)
    k = check_int("--width", args.k, _OWNER, low=2, even=True)
    act = check_choice("--activation", args.activation, _OWNER, ACTIVATIONS)
    repeats = check_int("--repeats", args.repeats, _OWNER, low=1)
    check_fits("--repeats", repeats, _OWNER, 1024.0 * repeats, f"the timings of {repeats} rounds")
    rtol = check_real("--rtol", args.rtol, _OWNER, low=0.0, low_open=True)
    backend = check_choice("--backend", args.backend, _OWNER, tuple(METHODS))
    # torch.func materialises the (n, k·d) Jacobian: that is the term that does not fit first
    check_size(_OWNER, {"n": "--n", "d": "--dim", "k": "--width"}, gram_bytes(n, d, k),
               [(8 * n * k * d, [("--n", n, 512), ("--width", k, 4096), ("--dim", d, 128)])],
               what=f"the Gram and torch.func's Jacobian (n={n}, dim={d}, width={k})")
    X, W, v = problem(n, d, k)

    names = {"jacobian_gram[torch]": ours_torch, "jacobian_gram[numpy]": ours,
             "torch.func": torch_func_ntk}
    times = {name: [] for name in names}
    results = {}
    for fn in names.values():                   # untimed: torch's first call costs 1.4 s (its
        fn(W, X, v, act)                        # start-up), 28x a warm one (--repeats 1, measured)
    for _ in range(repeats):                    # interleaved: every method sees the same load
        for name, fn in names.items():
            t, results[name] = _timed(fn, W, X, v, act)
            times[name].append(t)
    best = {name: min(ts) for name, ts in times.items()}
    G_ref = results["torch.func"]
    err = max(float(np.max(np.abs(results[m] - G_ref)) / np.max(np.abs(G_ref)))
              for m in names if m != "torch.func")
    target = f"jacobian_gram[{backend}]"
    speedup = best["torch.func"] / best[target]
    summary = {"n": n, "d": d, "k": k, "activation": act, "dtype": "float64", "backend": backend,
               "seconds": best, "speedup": speedup,
               "speedup_numpy": best["torch.func"] / best["jacobian_gram[numpy]"],
               "speedup_torch": best["torch.func"] / best["jacobian_gram[torch]"],
               "max_rel_diff": err, "rtol": rtol, "target_speedup": TARGET_SPEEDUP,
               "cores": os.cpu_count(), "load_average": os.getloadavg()[0],
               "machine": platform.processor() or platform.machine()}
    if not args.no_memory:
        for m in ("torch", "numpy", "torch.func"):
            summary[f"peak_bytes[{m}]"] = peak_memory(m, n, d, k, act)
        summary["bytes_n2_plus_nk"] = 8 * (n * n + n * k)
        summary["bytes_J"] = 8 * n * k * d
    ok = err <= rtol and speedup >= TARGET_SPEEDUP
    summary["ok"] = ok
    if args.json:
        print(strict_json(summary, indent=2))
    else:
        gib = 2.0 ** 30
        print(f"bench gram  n={n} d={d} k={k} {act} float64, {repeats} rounds (min), "
              f"{summary['cores']} cores, load average {summary['load_average']:.2f}")
        for name, t in best.items():
            extra = "" if name == "torch.func" else f"   speed-up {best['torch.func'] / t:7.1f} x"
            print(f"  {name:22s} {t * 1e3:10.1f} ms{extra}")
        print(f"  target: {target} >= {TARGET_SPEEDUP:g} x  -> {speedup:.1f} x")
        print(f"  max |dG| / max |G|     {err:10.2e}   (target <= {rtol:g})")
        if not args.no_memory:
            print("  peak RSS growth        " + ", ".join(
                f"{m} {summary[f'peak_bytes[{m}]'] / gib:.3f} GiB" for m in ("torch", "numpy", "torch.func"))
                + f"  (8(n²+nk) = {summary['bytes_n2_plus_nk'] / gib:.3f} GiB, "
                f"J alone = {summary['bytes_J'] / gib:.3f} GiB)")
        print("  " + ("OK" if ok else "FAILED: speed-up or agreement below target"))
    return 0 if ok else 1
