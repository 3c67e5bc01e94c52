"""`theorem-lab bench step|gram|many`: performance measured as ratios against an in-process baseline.

Each benchmark lives in its own module (``theorem_lab.simulations.bench_step``, ``bench_gram``, ``bench_many``)
with ``configure(parser)`` and ``run(args)``; this module only dispatches.
"""

from __future__ import annotations

import importlib

BENCHMARKS = {
    "step": ("theorem_lab.simulations.bench_step", "one GD step vs its two GEMMs (ratio, GFLOP/s)"),
    "gram": ("theorem_lab.simulations.bench_gram", "jacobian_gram vs torch.func's NTK (speed-up, peak memory)"),
    "many": ("theorem_lab.simulations.bench_many", "B small runs: the engine vs one at a time vs a jitted JAX loop"),
}


def configure(parser):
    sub = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True,
                                parser_class=type(parser))
    for name, (module, help_) in BENCHMARKS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        try:
            importlib.import_module(module).configure(p)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def run(args) -> int:
    return importlib.import_module(BENCHMARKS[args.bench][0]).run(args)
