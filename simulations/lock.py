"""One writer per results store: an advisory lock on ``<out>/.lock`` (POSIX ``flock``).

Two sweeps into one ``--out`` would both compute every run (neither sees the other's results
until it ends) and overwrite each other's ``summary.json``. The second invocation therefore
waits up to ``wait_s`` seconds for the first and then exits 2 naming the process that holds
the lock. The lock is tied to the open file, so a killed sweep (SIGKILL included) releases it;
the pid in the file is informational only.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

from theorem_lab.errors import fail

LOCK_NAME = ".lock"
POLL_S = 0.2


class StoreLock:
    """``with StoreLock(out, option, owner, wait_s):`` holds the lock for the block."""

    def __init__(self, out, option: str = "--out", owner: str = "sweep", wait_s: float = 0.0):
        self.path = Path(out) / LOCK_NAME
        self.option, self.owner, self.wait_s = option, owner, float(wait_s)
        self.fd = None

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "another process"
        except OSError:
            return "another process"

    def acquire(self) -> "StoreLock":
        import fcntl
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise fail(self.option, self.owner, "a directory no other sweep is writing "
                               f"({self.holder()} holds {self.path}); wait for it to finish, "
                               "pass --wait SECONDS, or choose another --out",
                               str(self.path.parent)) from None
                time.sleep(POLL_S)
        os.ftruncate(fd, 0)
        os.write(fd, f"process {os.getpid()} on {platform.node()}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            import fcntl
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
