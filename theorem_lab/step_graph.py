"""One engine step recorded as a CUDA graph and replayed (torch on CUDA).

On a GPU a small step is bound by kernel launches, not arithmetic: Algorithm 1's step with its
bookkeeping is about 100 launches (aten ops other than views, counted on the CPU for a batch
of 3 runs) of a few microseconds of work each. A CUDA graph records them once and replays them
with one launch (``torch.cuda.CUDAGraph``). The engine's *plain*
steps (those that log, observe or stop nothing: engine.run decides) launch the same kernels
every time; only the step index differs, so it lives in a (1,) device array ``t`` that the
recorded kernels read, set before each replay.

A graph reads and writes fixed memory. So the per-run state (``FIELDS`` of engine._State) is
adopted into static buffers: ``step(s, t)`` copies any field an eager step replaced into its
buffer (one device copy, no host read), points ``s`` at the buffers, and the recorded step
writes its new values back into them in place. The first ``WARMUP`` plain steps run eagerly on
a side stream (cuBLAS and the allocator initialise outside the capture, as torch's docs ask);
the next is recorded and replayed. If recording fails, the run goes on eagerly and ``status``
says why. ``capture=False`` runs the same adoption and write-back without recording: the CPU
tests exercise everything but the recording itself that way.
"""

from __future__ import annotations

import copy
import os
from typing import Callable

GRAPH_ENV = "THEOREM_LAB_CUDA_GRAPH"    # 'off': every step launched eagerly (comparisons)
WARMUP = 2                              # plain steps run eagerly before the recording
FIELDS = ("T1", "T1_stable", "div_step", "best_step", "active", "best_l2", "path", "W", "W_best",
          "peak_loss", "peak_step", "rise_loss", "rise_step")


def _torch_cuda(bk) -> bool:
    return bk.name == "torch" and str(bk.device).startswith("cuda")


def wanted(bk) -> bool:
    """Whether the engine records its plain steps: torch on CUDA, unless ``$THEOREM_LAB_CUDA_GRAPH``
    is 'off'."""
    return _torch_cuda(bk) and os.environ.get(GRAPH_ENV, "on").lower() != "off"


def setting(bk) -> "str | None":
    """What a run without a ``StepGraph`` records: None off CUDA torch, else 'off'."""
    return "off" if _torch_cuda(bk) else None


class StepGraph:
    """``step(s, t)`` advances the state ``s`` by ``body(s, t)`` through static buffers, the
    body recorded once as a CUDA graph (``capture``) and replayed after that."""

    def __init__(self, body: Callable, xp, device, capture: bool = True):
        self.body, self.capture, self.xp = body, capture, xp
        self.t = xp.zeros((1,), dtype=xp.int64, device=device)   # the step index, on the device
        self.state = None              # the engine state adopted into static buffers
        self.static: dict = {}
        self.graph = None
        self.warm = 0
        self.status = "unused"        # then 'eager' (warm-up, or capture=False), 'captured',
                                      # or 'failed: <why>' (the rest of the run went eagerly)

    def step(self, s, t: int) -> None:
        self._adopt(s)
        self.t[...] = t                                 # a device fill, no host read
        if self.graph is not None:
            self.graph.replay()
        elif not self.capture:
            self._run()
            if self.status == "unused":           # a failed recording keeps its reason
                self.status = "eager"
        elif self.warm < WARMUP:
            self._warm_up()
        else:
            self._record()

    def _adopt(self, s) -> None:
        """Point ``s``'s fields at the static buffers, copying in values an eager step set."""
        if not self.static:                             # own memory: no two fields share it
            self.static = {name: self.xp.asarray(getattr(s, name), copy=True) for name in FIELDS}
        self.state = s
        for name, buf in self.static.items():
            now = getattr(s, name)
            if now is not buf:
                buf[...] = now
                setattr(s, name, buf)

    def _run(self) -> None:
        """The body on a shallow copy of the state, its new values written into the buffers
        (all computed before any is written: the body reads the old ones)."""
        view = copy.copy(self.state)
        self.body(view, self.t)
        for name, buf in self.static.items():
            new = getattr(view, name)
            if new is not buf:
                buf[...] = new

    def _warm_up(self) -> None:
        import torch
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self._run()
        torch.cuda.current_stream().wait_stream(side)
        self.warm += 1
        self.status = "eager"

    def _record(self) -> None:
        import torch
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self._run()                         # recorded, not executed
        except RuntimeError as exc:                 # an op that cannot be captured: go eager
            torch.cuda.synchronize()
            self.capture, self.status = False, "failed: " + str(exc).splitlines()[0][:200]
            self._run()
            return
        self.graph, self.status = graph, "captured"
        graph.replay()
