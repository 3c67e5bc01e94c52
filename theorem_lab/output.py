"""Safe output at the boundary: strict JSON, output paths that never clobber, stdout that copes.

* ``strict_json``: JSON that every strict parser reads: non-finite numbers become ``null``
  (``json.dumps`` would write the bare tokens ``NaN``/``Infinity``), numpy scalars and arrays
  become numbers and lists.
* ``check_output_file`` / ``check_output_dir``: an output path is refused before any work when
  it is empty, names a directory where a file is wanted (``DIR/``), or exists and is not a
  regular file: writing onto a device node, a FIFO or a symlink would replace or write through
  it (as root, ``export --out /dev/full`` once replaced the device with a regular file).
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

from .errors import check_writable_dir, fail


def finite(obj):
    """A JSON-safe copy: NaN/±inf -> None, numpy scalars -> Python numbers, arrays/tuples -> lists."""
    if isinstance(obj, dict):
        return {str(k): finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):   # numpy scalar or array
        return finite(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return obj


def strict_json(obj, **kwargs) -> str:
    """``json.dumps`` of ``finite(obj)`` with ``allow_nan=False`` (never a bare NaN)."""
    kwargs.setdefault("default", str)
    return json.dumps(finite(obj), allow_nan=False, **kwargs)


_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


def _kind(path: Path) -> "str | None":
    """What ``path`` is when it exists and is not a regular file (lstat: links not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"not accessible ({exc.strerror})"
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_output_file(name: str, path, owner: str) -> Path:
    """A file the command will create or replace: non-empty, not ``DIR/``, a regular file if it
    exists, in a writable directory. Returns it as a ``Path``."""
    text = str(path)
    if text.strip() == "":
        raise fail(name, owner, "a non-empty file path (leave the option out for the default)", text)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        raise fail(name, owner, "a file path, not a directory", text)
    kind = _kind(Path(text))
    if kind is not None:
        raise fail(name, owner, f"a new or regular file; {text} is {kind}", text)
    target = Path(text)
    check_writable_dir(name, target.parent, owner)
    return target


def check_output_stem(name: str, path, owner: str, suffixes) -> Path:
    """A file stem the command writes ``stem + suffix`` for each suffix (``.png``, ``.pdf``)."""
    stem = check_output_file(name, path, owner)
    for suffix in suffixes:
        kind = _kind(stem.with_name(stem.name + suffix))
        if kind is not None:
            raise fail(name, owner, f"a stem whose {suffix} file is new or regular; "
                       f"{stem}{suffix} is {kind}", str(path))
    return stem


def check_output_dir(name: str, path, owner: str) -> Path:
    """A directory the command writes into: non-empty, a directory if it exists, writable."""
    text = str(path)
    if text.strip() == "":
        raise fail(name, owner, "a non-empty directory path (leave the option out for the "
                   "default)", text)
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise fail(name, owner, f"a directory; {text} exists and is {_kind(p) or 'a file'}", text)
    return check_writable_dir(name, p, owner)


def check_not_input(name: str, target: Path, owner: str, inputs) -> Path:
    """Refuse an output that is one of the files the command reads (``export --out
    RUN/results.sqlite`` would overwrite the store with its own CSV)."""
    resolved = Path(target).resolve()
    for source in inputs:
        if Path(source).resolve() == resolved:
            raise fail(name, owner, f"a file other than the input {source} it reads", str(target))
    return Path(target)


CACHE_ENV = "THEOREM_LAB_CACHE_DIR"    # the caches' folder ('off': no cache on disk)


def cache_dir(part: str) -> "Path | None":
    """``$THEOREM_LAB_CACHE_DIR/part`` (default ~/.cache/theorem-lab/part), where the kernel
    timings, the vector width and the sweep's vacuity reports are cached; None where the
    variable is 'off'."""
    where = os.environ.get(CACHE_ENV) or str(Path.home() / ".cache" / "theorem-lab")
    return None if where == "off" else Path(where) / part


def write_cache_json(path: Path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (a temporary file renamed over it, so a
    concurrent reader sees the old file or the new one); where it cannot be written (a read-only
    home), nothing: the file is a cache, and the caller goes on with what it computed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(obj))
        os.replace(tmp, path)
    except OSError:
        pass
