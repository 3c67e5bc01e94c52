"""`theorem-lab bench many`: B small self-distillation runs stepped by the engine, against the
same runs one at a time and against a user's jitted JAX loop, in one process.

Each of the B runs has its own data set and W₀ (seed b, as the sweep's seeds) and the sweep's
defaults (η = 1/λ_max(J₀J₀ᵀ), the linear α_t schedule, clipped h). Timed, minimum over
``--rounds`` alternating rounds, in µs per run-step (wall time / (B · steps)):

    engine        ``train_many`` on the B runs, logging every ``--log-every`` steps (the sweep's
                  work: 13 metrics and the test set at each logged step)
    engine-quiet  the same logging only the first and last step (stepping and bookkeeping)
    one-by-one    ``train`` on each run in turn (what ``--batch off`` does in one worker)
    jax           when jax is importable: ``jax.jit(jax.vmap(run))`` of a ``lax.fori_loop`` over
                  the same steps (forward, self-distillation target, ``jax.grad`` of the MSE,
                  W − η∇) on the same data, η and α table; no bookkeeping or logging. Its compile
                  time is reported apart. An optional peer, not a dependency.

``--backend torch --device cuda`` (or ``--backend cupy``) times the same on the GPU; the JAX
peer runs on the CPU only and is timed with ``--backend numpy``.

Each timed call starts after ``SETTLE_S`` idle, so that threads still spinning after the
previous call (OpenBLAS's, XLA's) do not take a core from the next.
"""

from __future__ import annotations

import time

import numpy as np

from theorem_lab.errors import check_choice, check_int, integer
from theorem_lab.output import strict_json

_OWNER = "bench many"
SETTLE_S = 0.3     # idle before each timed call: BLAS and XLA worker threads spin after work


def configure(parser):
    a = parser.add_argument
    a("--runs", type=integer, default=32, help="runs stepped together (seeds 0..B-1; default 32)")
    a("--n", type=integer, default=40, help="training points per run (default 40)")
    a("--dim", "--d", dest="d", type=integer, default=8, help="input dimension (default 8)")
    a("--width", "--k", dest="k", type=integer, default=128, help="width k (default 128)")
    a("--clusters", type=integer, default=4, help="clusters K (default 4)")
    a("--steps", type=integer, default=1000, help="GD steps (default 1000)")
    a("--n-test", type=integer, default=100, help="test points per run (default 100)")
    a("--log-every", type=integer, default=10, help="logged rows of the 'engine' line (default 10)")
    a("--rounds", type=integer, default=3, help="alternating rounds; the minimum counts (default 3)")
    a("--backend", default=None, help="numpy, torch or cupy (default numpy; with --device cuda: torch)")
    a("--device", default="cpu", help="cpu or cuda (default cpu)")
    a("--dtype", default="float64", help="float64 or float32 (default float64)")
    a("--json", action="store_true", help="print a JSON summary instead")


def problems(B, n, d, k, K, n_test):
    """The B runs' data and networks (seed b: data and W₀, as ``sweep --seeds B``)."""
    import theorem_lab as tl
    datas = [tl.make_clusterable(n=n, K=K, d=d, eps=0.1, rho=0.2, seed=s, n_test=n_test)
             for s in range(B)]
    nets = [tl.TwoLayerNet.init(d=d, k=k, activation="tanh", seed=s) for s in range(B)]
    return datas, nets


def _jax_loop(datas, nets, trajs, steps, dtype="float64"):
    """(seconds per call, compile seconds) of the vmapped jitted JAX loop, or None without jax."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", dtype == "float64")
    arr = lambda a: jnp.asarray(np.asarray(a, dtype=dtype))                  # noqa: E731
    X = arr(np.stack([d.X for d in datas]))
    y = arr(np.stack([d.y for d in datas]))
    W0 = arr(np.stack([net.W for net in nets]))
    v = arr(nets[0].v)
    eta = arr([t.lr for t in trajs])
    L = arr([4.0 / (1.0 - 2.0 * d.rho) for d in datas])                  # clipped h's slope
    from theorem_lab import parse_schedule
    alpha = arr(parse_schedule("linear", steps).values(steps))          # (T+1,), train's default

    def run(W, X, y, eta, L):
        def f(W):
            return jnp.tanh(X @ W.T) @ v

        def body(t, W):
            target = jax.lax.stop_gradient(alpha[t] * y + (1 - alpha[t]) * jnp.clip(L * f(W), -1, 1))
            return W - eta * jax.grad(lambda W: 0.5 * jnp.sum((f(W) - target) ** 2))(W)
        return jax.lax.fori_loop(0, steps, body, W)

    loop = jax.jit(jax.vmap(run))
    t0 = time.perf_counter()
    loop(W0, X, y, eta, L).block_until_ready()
    compile_s = time.perf_counter() - t0
    return (lambda: loop(W0, X, y, eta, L).block_until_ready()), compile_s


def measure(B=32, n=40, d=8, k=128, K=4, steps=1000, n_test=100, log_every=10, rounds=3,
            backend="numpy", device="cpu", dtype="float64") -> dict:
    import theorem_lab as tl
    from theorem_lab.train import train_many
    datas, nets = problems(B, n, d, k, K, n_test)
    kw = dict(method="self-distill", steps=steps, backend=backend, device=device, dtype=dtype)
    trajs = train_many(datas, nets, log_every=log_every, **kw)          # warm-up, kernel choice
    tl.train(datas[0], nets[0], log_every=log_every, **kw)
    calls = {"engine": lambda: train_many(datas, nets, log_every=log_every, **kw),
             "engine-quiet": lambda: train_many(datas, nets, log_every=steps, **kw),
             "one-by-one": lambda: [tl.train(a, b, log_every=log_every, **kw)
                                    for a, b in zip(datas, nets)]}
    jax = _jax_loop(datas, nets, trajs, steps, dtype) if (backend, device) == ("numpy", "cpu") else None
    if jax is not None:
        calls["jax"] = jax[0]
    best = {name: float("inf") for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - t0)
    out = {"B": B, "n": n, "d": d, "k": k, "steps": steps, "n_test": n_test,
           "backend": backend, "device": device, "dtype": dtype, "log_every": log_every,
           "kernel": trajs[0].info.kernel, "graph": trajs[0].info.graph, "seconds": best,
           "us_per_run_step": {name: 1e6 * s / (B * steps) for name, s in best.items()}}
    if jax is not None:
        out["jax_compile_s"] = jax[1]
    return out


def format_result(r: dict) -> str:
    us, s = r["us_per_run_step"], r["seconds"]
    graph = f", CUDA graph {r['graph']}" if r["device"] == "cuda" else ""
    lines = [f"{r['B']} runs × {r['steps']} steps, n={r['n']} d={r['d']} k={r['k']} tanh "
             f"{r['backend']}/{r['device']}/{r['dtype']} (engine kernel {r['kernel']}{graph}), "
             "min over rounds:"]
    for name in us:
        lines.append(f"  {name:13} {s[name]:7.3f} s  {us[name]:7.1f} µs per run-step")
    lines.append(f"  one-by-one / engine: {s['one-by-one'] / s['engine']:.2f}×")
    if "jax" in s:
        lines.append(f"  engine-quiet / jax: {s['engine-quiet'] / s['jax']:.2f} (jax compile "
                     f"{r['jax_compile_s']:.2f} s, not counted)")
    elif (r["backend"], r["device"]) == ("numpy", "cpu"):
        lines.append("  (jax not installed: no peer timed)")
    return "\n".join(lines)


def run(args) -> int:
    B = check_int("--runs", args.runs, _OWNER, low=1, high=4096)
    n = check_int("--n", args.n, _OWNER, low=2, high=100_000)
    d = check_int("--dim", args.d, _OWNER, low=1, high=10_000)
    k = check_int("--width", args.k, _OWNER, low=2, high=1 << 20, even=True)
    K = check_int("--clusters", args.clusters, _OWNER, low=1, high=n)
    steps = check_int("--steps", args.steps, _OWNER, low=1, high=10_000_000)
    n_test = check_int("--n-test", args.n_test, _OWNER, low=0, high=1_000_000)
    every = check_int("--log-every", args.log_every, _OWNER, low=1)
    rounds = check_int("--rounds", args.rounds, _OWNER, low=1, high=100)
    import theorem_lab as tl
    from theorem_lab.backend import check_device
    device = check_device("--device", args.device, _OWNER)
    backend = check_choice("--backend", args.backend or ("torch" if device == "cuda" else "numpy"),
                           _OWNER, ("numpy", "torch") if device == "cpu" else ("torch", "cupy"))
    check_choice("--dtype", args.dtype, _OWNER, ("float64", "float32"))
    bk = tl.resolve_backend(backend, device, args.dtype, owner=_OWNER)
    from theorem_lab.engine import state_bytes
    from theorem_lab.errors import check_fits
    check_fits("--runs", B, _OWNER, 2.0 * state_bytes(B, n, d, k, n_test, steps),
               f"the engine state of {B} runs (n={n}, width={k}, steps={steps})")
    r = measure(B, n, d, k, K, steps, n_test, every, rounds, bk.name, bk.device, bk.dtype)
    print(strict_json(r, indent=2) if args.json else format_result(r))
    return 0
