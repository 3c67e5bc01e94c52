"""Where sweep tasks run: in this process, in local worker processes, or on a Ray cluster.

Every executor has ``run(tasks, on_steps)``, a generator of ``(task, result)`` in completion
order, where ``result`` is the list of records of the work function (``sweep.run_task`` unless
``work`` says otherwise) or, when the worker itself was lost, the exception. Executors never
touch the store: the coordinator writes. ``close()`` stops whatever is still running (Ctrl-C
ends up there).

``work``: a pair ``(run_task, task_steps)`` of module-level functions (picklable by name, so a
spawned worker or a Ray node imports them): ``run_task(task, progress) -> [record]`` and
``task_steps(task) -> int``, the count that ``progress(t)`` climbs to. The sweep's by default;
``cifar table1`` passes its own (one training run per task).

Threads: each task carries ``threads`` = cores // workers; ``run_task`` applies it to BLAS
(threadpoolctl) and torch, so two workers on two cores do not oversubscribe.
"""

from __future__ import annotations

import os
import queue as queue_mod
import signal
import socket
from typing import Callable, Iterator

PROGRESS_EVERY = 10   # a worker reports its step count every this many steps

_progress_queue = None   # set in each local worker by _init_worker


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _with_threads(tasks: list, threads: int) -> list:
    return [{**t, "threads": threads} for t in tasks]


class _StepReporter:
    """``progress(t)`` for ``train``: forwards step increments in chunks."""

    def __init__(self, send: Callable[[int], None]):
        self.send, self.last = send, 0

    def __call__(self, t: int):
        if t - self.last >= PROGRESS_EVERY:
            self.send(t - self.last)
            self.last = t


def _sweep_work() -> tuple:
    from .sweep import run_task, task_steps
    return run_task, task_steps


class InProcessExecutor:
    """Tasks one after another in the coordinator (``--workers 1``): no start-up cost."""

    def __init__(self, threads: int, work=None):
        self.threads, self.work = threads, work

    def run(self, tasks: list, on_steps: Callable[[int], None]) -> Iterator:
        run_task, task_steps = self.work or _sweep_work()
        for task in _with_threads(tasks, self.threads):
            reporter = _StepReporter(on_steps)
            result = run_task(task, reporter)
            on_steps(task_steps(task) - reporter.last)
            yield task, result

    def close(self):
        pass


def _init_worker(progress_queue, threads: int):
    """Local worker start-up: thread caps before numpy loads; Ctrl-C is the coordinator's."""
    global _progress_queue
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _progress_queue = progress_queue
    _exit_with_parent()


def _exit_with_parent():
    """A worker must not outlive a coordinator killed with SIGKILL (it would finish its task
    and then wait forever): Linux's PR_SET_PDEATHSIG, else a thread polling the parent pid."""
    parent = os.getppid()
    try:
        import ctypes
        PR_SET_PDEATHSIG = 1
        if ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
            if os.getppid() != parent:      # the parent died before prctl took effect
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass
    import threading
    import time

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)
    threading.Thread(target=watch, daemon=True).start()


def _worker_task(task: dict, work=None) -> list:
    run_task, task_steps = work or _sweep_work()
    reporter = _StepReporter(_progress_queue.put if _progress_queue is not None else (lambda k: None))
    result = run_task(task, reporter)
    if _progress_queue is not None:
        _progress_queue.put(task_steps(task) - reporter.last)
    return result


class LocalExecutor:
    """A pool of ``workers`` spawned processes (spawn: safe with torch and BLAS thread pools)."""

    def __init__(self, workers: int, threads: int, work=None):
        self.workers, self.threads, self.work = workers, threads, work
        self.pool = None

    def run(self, tasks: list, on_steps: Callable[[int], None]) -> Iterator:
        import multiprocessing as mp
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        ctx = mp.get_context("spawn")
        progress = ctx.Queue()
        self.pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=(progress, self.threads))
        futures = {self.pool.submit(_worker_task, t, self.work): t
                   for t in _with_threads(tasks, self.threads)}
        pending = set(futures)

        def drain():
            while True:
                try:
                    on_steps(progress.get_nowait())
                except queue_mod.Empty:
                    return

        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            drain()
            for fut in done:
                exc = fut.exception()
                yield futures[fut], (exc if exc is not None else fut.result())
        drain()
        self.pool.shutdown()
        self.pool = None

    def close(self):
        """Stop at once: cancel queued tasks and terminate running workers."""
        if self.pool is None:
            return
        procs = list(getattr(self.pool, "_processes", {}).values())   # no public handle
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)
        self.pool = None


class RayExecutor:
    """The same tasks as Ray remote functions (``--executor ray [--address ADDR]``).

    Without an address a local Ray starts with ``workers`` CPUs. Each task asks for ``threads``
    CPUs, and one GPU when its device is 'cuda'. A task whose worker dies is retried
    (``max_retries``); retries are harmless because a task is a pure function of its config
    and the coordinator writes each run_id once.
    """

    MAX_RETRIES = 3

    def __init__(self, workers: int, threads: int, address=None, work=None):
        self.workers, self.threads, self.address, self.work = workers, threads, address, work
        self.refs = []
        self.started = False   # True when this executor started Ray (and so shuts it down)

    def run(self, tasks: list, on_steps: Callable[[int], None]) -> Iterator:
        import ray

        run_task, task_steps = self.work or _sweep_work()
        if not ray.is_initialized():
            self.started = True
            kwargs = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                ray.init(num_cpus=self.workers, num_gpus=0 if not _has_cuda() else None, **kwargs)
        remote = ray.remote(max_retries=self.MAX_RETRIES, retry_exceptions=False)(run_task)
        by_ref = {}
        for task in _with_threads(tasks, self.threads):
            gpus = 1 if task["config"]["device"] == "cuda" else 0
            ref = remote.options(num_cpus=self.threads, num_gpus=gpus).remote(task)
            by_ref[ref] = task
        self.refs = list(by_ref)
        pending = list(by_ref)
        while pending:
            done, pending = ray.wait(pending, num_returns=1, timeout=None)
            for ref in done:
                task = by_ref[ref]
                try:
                    result = ray.get(ref)
                except Exception as exc:   # worker lost after every retry, or task crashed
                    result = exc
                on_steps(task_steps(task))
                yield task, result
        self.refs = []

    def close(self):
        if not (self.refs or self.started):
            return
        import ray
        for ref in self.refs:
            ray.cancel(ref, force=True)
        self.refs = []
        if self.started:
            ray.shutdown()
            self.started = False


RAY_CONNECT_TIMEOUT = 5.0   # seconds to reach a Ray head before the sweep gives up


EXECUTORS = ("local", "ray")


def check_executor(executor: str, address: "str | None", owner: str) -> None:
    """``--executor`` and ``--address`` checked before any work: a known executor, an address
    only with Ray, Ray installed, and the address reachable (one line each, naming the option)."""
    from theorem_lab.errors import check_choice, fail

    check_choice("--executor", executor, owner, EXECUTORS)
    if address is not None and executor != "ray":
        raise fail("--address", owner, "given only with --executor ray", address)
    if executor == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise fail("--executor", owner, "'local' unless Ray is installed "
                       "(pip install 'theorem-lab[ray]')", "ray") from None
        if address is not None:
            check_ray_address(address, owner)


def check_ray_address(address: str, owner: str = "sweep") -> None:
    """Fail fast, with one line, when ``--address`` names no reachable Ray head.

    ``ray.init`` itself waits without a time limit for an unreachable head. Accepted forms:
    'auto' (Ray finds it), 'host:port' and 'ray://host:port' (Ray client).
    """
    from theorem_lab.errors import fail

    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise fail("--address", owner, "'auto', 'host:port' or 'ray://host:port'", address)
    try:
        socket.create_connection((host, int(port)), timeout=RAY_CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise fail("--address", owner, f"a Ray head reachable within {RAY_CONNECT_TIMEOUT:g} s "
                   f"({exc.strerror or exc})", address) from None


def _has_cuda() -> bool:
    from theorem_lab.backend import cuda_available
    return cuda_available()


def make_executor(kind: str, workers: int, n_tasks: int, address=None, work=None):
    """The executor for ``--executor``/``--workers``; threads per worker = cores // workers.

    Fewer tasks than workers: only as many workers as tasks, each with more threads. ``work``:
    the ``(run_task, task_steps)`` pair (default: the sweep's).
    """
    used = max(1, min(workers, n_tasks))
    threads = max(1, cores() // used)
    if kind == "ray":
        return RayExecutor(workers, max(1, cores() // workers) if not address else 1, address, work)
    if used == 1:
        return InProcessExecutor(threads, work)
    return LocalExecutor(used, threads, work)
