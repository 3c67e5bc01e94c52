"""One exception for bad input, and the checks that raise it.

Every public entry point validates its parameters here, at the boundary, with one message
shape (scikit-learn's):

    The 'rho' parameter of make_clusterable must be in [0, 0.5). Got 0.7 instead.

The CLI turns a ``ParameterError`` into that one line and exit code 2.
"""

from __future__ import annotations

import math
import re
import tempfile
from numbers import Integral, Real
from pathlib import Path
from typing import Iterable


class ParameterError(ValueError):
    """A parameter is outside its allowed range. The message names both."""


def fail(name: str, owner: str, allowed: str, got: object) -> ParameterError:
    return ParameterError(f"The '{name}' parameter of {owner} must be {allowed}. Got {got!r} instead.")


_FAILED = re.compile(r"The '(.+?)' parameter of .+? must be (.+)\. Got (.+) instead\.", re.S)


def reword(exc: ParameterError, name: str, owner: str, what: str, got: object) -> ParameterError:
    """``exc``, raised for an inner parameter (say train's 'schedule'), as the error of the option
    ``name`` of ``owner`` that supplied ``got``: 'must be {what}: {exc's allowed range}', or, where
    the inner value differs from ``got``, '{what} ('inner' must be …; got …)'."""
    m = _FAILED.fullmatch(str(exc))
    if m is None:
        return fail(name, owner, f"{what} ({exc})", got)
    inner, allowed, inner_got = m.groups()
    if inner_got == repr(got):
        return fail(name, owner, f"{what}: {allowed}", got)
    return fail(name, owner, f"{what} ('{inner}' must be {allowed}; got {inner_got})", got)


def _bound(x) -> str:
    """An interval's end as typed: integers whole (1048576, not 1.04858e+06), reals short."""
    return str(x) if isinstance(x, Integral) else f"{x:g}"


def _interval(low, high, low_open, high_open) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    lo = "-inf" if low is None else _bound(low)
    hi = "inf" if high is None else _bound(high)
    return f"in {left}{lo}, {hi}{right}"


def check_real(name: str, value, owner: str, *, low=None, high=None,
               low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real in the interval, else raise."""
    allowed = "a real number " + _interval(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise fail(name, owner, allowed, value)
    v = float(value)
    if low is not None and (v < low or (low_open and v == low)):
        raise fail(name, owner, allowed, value)
    if high is not None and (v > high or (high_open and v == high)):
        raise fail(name, owner, allowed, value)
    return v


def check_int(name: str, value, owner: str, *, low=None, high=None, even: bool = False) -> int:
    """Return ``value`` as an int if it is an integer in [low, high] (and even if asked)."""
    allowed = ("an even integer " if even else "an integer ") + _interval(low, high, False, False)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise fail(name, owner, allowed, value)
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high) or (even and v % 2):
        raise fail(name, owner, allowed, value)
    return v


def check_choice(name: str, value, owner: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise fail(name, owner, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def check_writable_dir(name: str, path, owner: str) -> Path:
    """Create the directory ``path`` if needed and prove it writable (a throw-away file), before
    any work starts; else raise naming the option."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise fail(name, owner, f"a writable directory ({exc.strerror or exc})", str(path)) from None
    return path


# --- text options (the CLI): one parser for numbers and one for every comma list -------------

def integer(text: str):
    """argparse ``type`` of an integer option that is checked later by ``check_int``: the int, or
    the text as typed when it is not one ('2.5', 'x'), which ``check_int`` then refuses naming
    the allowed range (argparse's own ``type=int`` could say only "must be an integer")."""
    try:
        return int(text)
    except ValueError:
        return text


def real(text: str):
    """argparse ``type`` of a real option that is checked later by ``check_real``: the float, or
    the text as typed when it is not one, which ``check_real`` then refuses naming the range."""
    try:
        return float(text)
    except ValueError:
        return text


def parse_int(token, name: str, owner: str, *, low=None, high=None, even: bool = False) -> int:
    """An integer option as typed (``'12'``), checked like ``check_int``."""
    allowed = ("an even integer " if even else "an integer ") + _interval(low, high, False, False)
    try:
        value = int(str(token).strip())
    except ValueError:
        raise fail(name, owner, allowed, token) from None
    return check_int(name, value, owner, low=low, high=high, even=even)


def parse_real(token, name: str, owner: str, **bounds) -> float:
    """A real option as typed (``'0.3'``; 'nan' and 'inf' are refused), checked like ``check_real``."""
    try:
        value = float(str(token).strip())
    except ValueError:
        value = token
    return check_real(name, value, owner, **bounds)


def parse_list(text, name: str, owner: str, item=None, *, unique: bool = True) -> list:
    """The one comma-list parser: ``'a,b'`` -> ``[item('a'), item('b')]``.

    Empty items (``'0,,1'``, ``'0,'``, ``''``) are errors, and so are repeats (``'0,0'``) unless
    ``unique=False``: a repeated seed or width would run the same work twice and report a
    spread of zero. ``item(token)`` parses one element and raises naming ``name`` itself.
    """
    tokens = [t.strip() for t in str(text).split(",")]
    if any(t == "" for t in tokens):
        raise fail(name, owner, "a comma-separated list with no empty items", text)
    values = [item(t) if item is not None else t for t in tokens]
    return check_unique(values, name, owner, text) if unique else values


def check_unique(values: list, name: str, owner: str, text) -> list:
    """``values`` if no value repeats, else raise naming the first repeat."""
    seen = []
    for v in values:
        if v in seen:
            raise fail(name, owner, f"a comma-separated list without repeats ({v!r} appears "
                       "twice)", text)
        seen.append(v)
    return values


# --- sizes: refuse before allocating ----------------------------------------------------------

def available_memory() -> int:
    """Bytes this process may still allocate: MemAvailable of /proc/meminfo (Linux), else the
    physical memory; capped by an address-space rlimit where one is set."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        import os
        try:
            avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):   # pragma: no cover - non-POSIX
            avail = 2 ** 62
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            avail = min(avail, soft)
    except (ImportError, ValueError, OSError):          # pragma: no cover - non-POSIX
        pass
    return avail


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2 ** 30:.3g} GiB"


def check_fits(name: str, value, owner: str, nbytes: float, what: str) -> None:
    """Refuse ``value`` of option ``name`` when the work it asks for needs more memory than is
    available (``nbytes``, estimated from the shapes; ``what`` says which arrays)."""
    avail = available_memory()
    if nbytes > avail:
        raise fail(name, owner, f"small enough to fit in memory ({what}: about "
                   f"{_gib(nbytes)}; {_gib(avail)} available)", value)


# --- arrays at the public Python boundary -----------------------------------------------------

class _Shown(str):
    """A 'Got …' value printed as it is (``Got shape (5,) instead.``, not ``Got 'shape (5,)'``)."""

    def __repr__(self) -> str:
        return str(self)


def check_array(name: str, a, owner: str, *, ndim: int, cols=None, cols_why: str = "",
                length=None, length_why: str = "") -> object:
    """An array (numpy, torch or cupy) with ``ndim`` dimensions, at least one row, finite
    entries, and ``cols`` columns / ``length`` rows where given; else raise naming ``name``.
    Returns ``a`` unchanged (no copy)."""
    shape = getattr(a, "shape", None)
    if shape is None or not hasattr(a, "dtype"):
        raise fail(name, owner, f"a {ndim}-D numpy, torch or cupy array", _Shown(type(a).__name__))
    shape = tuple(int(s) for s in shape)
    if len(shape) != ndim:
        raise fail(name, owner, f"a {ndim}-D array", _Shown(f"shape {shape}"))
    if shape[0] == 0:
        raise fail(name, owner, "an array with at least one row", _Shown(f"shape {shape}"))
    if length is not None and shape[0] != length:
        raise fail(name, owner, f"an array of {length} rows{length_why}", _Shown(f"shape {shape}"))
    if cols is not None and shape[1] != cols:
        raise fail(name, owner, f"an array with {cols} columns{cols_why}", _Shown(f"shape {shape}"))
    from array_api_compat import array_namespace
    xp = array_namespace(a)
    finite = xp.isfinite(a)
    if not bool(xp.all(finite)):
        bad = int(xp.sum(xp.astype(xp.logical_not(finite), xp.int64)))
        raise fail(name, owner, "an array of finite numbers", _Shown(f"{bad} NaN or infinite "
                   f"entr{'y' if bad == 1 else 'ies'}"))
    return a


def check_instance(name: str, value, owner: str, cls, what: str):
    """``value`` if it is a ``cls``; else raise (``what`` says how to make one)."""
    if not isinstance(value, cls):
        raise fail(name, owner, what, _Shown(f"a {type(value).__name__}"))
    return value
