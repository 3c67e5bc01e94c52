"""`sweep --verbose`: the time a sweep's runs took against their compute floor.

The floor of one GD step is its irreducible arithmetic: the two GEMMs, each in its fastest
layout and library (``bench_step.measure``), plus one pass of φ over the (n, k) matrix
(``bench_step.phi_pass_s``), both measured now, in this process, for each shape the sweep ran
(on its device: on CUDA every timed call is synchronised).
A trajectory that made T steps has the floor T·(GEMMs + φ pass); the gd and early-stop records
of one seed share one trajectory (one task), and are counted once. The runs' time is split as
the engine measured it (``RunInfo.seconds_stepping``, ``seconds_logging``): the steps, the
logged rows (a test-set forward each), and the rest (data, λ_max, S₊, kernel choice, start-up of
the kernels' libraries), each against the same floor.
"""

from __future__ import annotations

SHAPE = ("n", "dim", "width", "activation", "backend", "device", "dtype")


def trajectories(records) -> list:
    """(shape, steps done, seconds, kernel, (stepping, logging) seconds) of every trajectory
    behind ``records`` (store rows of the runs trained by this invocation), one per task."""
    seen, out = set(), []
    for r in records:
        if r["task_id"] in seen or r["status"] == "error":
            continue
        seen.add(r["task_id"])
        c = r["config"]
        info = r["info"]
        out.append((tuple(c[f] for f in SHAPE), int(info.get("steps_done") or 0),
                    float(r["seconds"]), info.get("kernel"),
                    (float(info.get("seconds_stepping") or 0.0),
                     float(info.get("seconds_logging") or 0.0))))
    return out


def floor_per_step(shape: tuple) -> float:
    """Seconds per run-step of two GEMMs + one φ pass at ``shape`` (measured now, on its
    device)."""
    from .bench_step import measure, phi_pass_s
    n, d, k, activation, backend, device, dtype = shape
    g = measure(n, d, k, activation, backend, dtype, repeats=3, settle=0.0, inner=2,
                device=device)
    return g["gemms_s"] + phi_pass_s(n, k, activation, backend, dtype, device=device)


def report(records, wall_s: float) -> list[str]:
    """Lines: per shape, the engine's seconds against the floor, and the whole sweep's."""
    by_shape: dict = {}           # shape -> (runs, steps, seconds, stepping, logging) summed
    kernels: dict = {}
    for shape, steps, seconds, kernel, (stepping, logging) in trajectories(records):
        old = by_shape.get(shape, (0, 0, 0.0, 0.0, 0.0))
        by_shape[shape] = tuple(a + b for a, b in zip(old, (1, steps, seconds, stepping, logging)))
        kernels.setdefault(shape, set()).add(kernel or "?")
    if not by_shape:
        return ["engine: no runs were trained by this invocation"]
    lines, total_floor, total_engine = [], 0.0, 0.0
    for shape, (runs, steps, seconds, stepping, logging) in by_shape.items():
        n, d, k, activation, backend, device, dtype = shape
        per = floor_per_step(shape)
        floor = per * steps
        total_floor, total_engine = total_floor + floor, total_engine + seconds
        where = f"{backend}/{device}/{dtype}" if device != "cpu" else f"{backend}/{dtype}"
        lines.append(f"engine: n={n} d={d} k={k} {activation} {where} (kernel "
                     f"{', '.join(sorted(kernels[shape]))}): {runs} run(s), "
                     f"{steps} run-steps in {seconds:.3g} s; compute floor (2 GEMMs + 1 φ pass "
                     f"= {1e3 * per:.3g} ms per run-step, measured now) {floor:.3g} s: "
                     f"{seconds / floor:.2f}× = steps {stepping / floor:.2f}× + logged rows "
                     f"{logging / floor:.2f}× + set-up {(seconds - stepping - logging) / floor:.2f}×")
    if total_floor > 0:
        lines.append(f"engine: the sweep took {wall_s:.3g} s from its start to here "
                     f"(runs, store, summary, figures) = {wall_s / total_floor:.2f}× the floor "
                     f"{total_floor:.3g} s; its runs {total_engine / total_floor:.2f}×")
    return lines
