"""One training run as an executor task: the ``work`` pair that ``cifar table1`` hands to
``simulations/executors.py`` (local processes or Ray), beside the sweep's.

A task is ``{'task_id': run_id, 'config': TrainConfig fields, 'threads': n}``; ``run_cell``
trains it through ``Session`` (checkpoint every epoch, so a killed grid resumes each cell where it
stopped) without writing the store, and returns its record for the coordinator to write. An
exception becomes an 'error' record (a rerun retries it); Ctrl-C propagates.
"""

from __future__ import annotations

import time
import traceback


def run_cell(task: dict, progress=None) -> list:
    import torch

    from .config import TrainConfig
    from .session import Session

    cfg = TrainConfig(**task["config"])
    torch.set_num_threads(max(1, int(task.get("threads", 1))))
    on_row = (lambda row: progress(int(row["step"]))) if progress is not None else (lambda row: None)
    started = time.time()
    try:
        return [Session(cfg).run(on_row, write_store=False)]
    except Exception as exc:   # a failed cell must not stop the grid; its record says why
        return [error_record(cfg, task["task_id"], exc, started)]


def cell_epochs(task: dict) -> int:
    """What ``progress`` climbs to: the run's epochs."""
    return int(task["config"]["epochs"])


WORK = (run_cell, cell_epochs)


def error_record(cfg, run_id: str, exc: BaseException, started: float) -> dict:
    from .record import store_record
    rec = store_record(cfg, run_id, "error", [], {"noise": {"realised_rate": None},
                                                  "profile": cfg.profile}, {}, started, time.time(),
                       f"{type(exc).__name__}: {exc}")
    rec["info"]["traceback"] = traceback.format_exc(limit=8)
    return rec
