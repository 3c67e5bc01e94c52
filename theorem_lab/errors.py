"""One exception for bad input, and the checks that raise it.

Every public entry point validates its parameters here, at the boundary, with one message
shape (scikit-learn's):

    The 'rho' parameter of make_clusterable must be in [0, 0.5). Got 0.7 instead.

The CLI turns a ``ParameterError`` into that one line and exit code 2.
"""

from __future__ import annotations

import math
import tempfile
from numbers import Integral, Real
from pathlib import Path
from typing import Iterable


class ParameterError(ValueError):
    """A parameter is outside its allowed range. The message names both."""


def fail(name: str, owner: str, allowed: str, got: object) -> ParameterError:
    return ParameterError(f"The '{name}' parameter of {owner} must be {allowed}. Got {got!r} instead.")


def _interval(low, high, low_open, high_open) -> str:
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
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
