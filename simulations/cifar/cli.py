"""`theorem-lab cifar <subcommand>`: the paper's image empirics.

Each subcommand lives in its own module with ``configure(parser)`` and ``run(args)``; this module
only dispatches (as ``bench_cli``). ``train`` is one noisy-label training run; the experiments
built on it (``table1``, ``teacher-epochs``, ``ntk-air``) slot in here as further entries.
"""

from __future__ import annotations

import importlib

SUBCOMMANDS = {
    "train": ("theorem_lab.simulations.cifar.train_cli",
              "one noisy-label training run (ce, self-distill, bootstrap, gce), resumable, stored"),
    "table1": ("theorem_lab.simulations.cifar.table1_cli", "the paper's Table 1: methods x noise rates x seeds x data sets, resumable, beside the paper's numbers"),
    "teacher-epochs": ("theorem_lab.simulations.cifar.teacher_epochs_cli",
                       "Figure 1: students distilled from a teacher kept at epochs E, vs E"),
    "ntk-air": ("theorem_lab.simulations.cifar.ntk_air_cli",
                "Figures 2 and 5: label energy in the top-5 eigenspace of ResNet-56's empirical NTK"),
}


def configure(parser):
    sub = parser.add_subparsers(dest="cifar", metavar="SUBCOMMAND", required=True,
                                parser_class=type(parser))
    for name, (module, help_) in SUBCOMMANDS.items():
        importlib.import_module(module).configure(sub.add_parser(name, help=help_, description=help_))


def run(args) -> int:
    return importlib.import_module(SUBCOMMANDS[args.cifar][0]).run(args)
