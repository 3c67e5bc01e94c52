"""The slice a panel shows when a sweep varies more than the panel's axes: every other config
field held at one value (width and ρ at their largest, the theorem's regime and the hardest noise;
the others at their smallest), so a point or cell pools seeds, never settings."""

from __future__ import annotations

import json

from theorem_lab.activations import ACTIVATIONS

LARGEST = ("width", "rho")


def order(v):
    """Sort key for config values of mixed types: numbers by value (steps 50 before 100, which
    text order puts after), activations in the order of ``ACTIVATIONS`` (tanh, the theorem's,
    first; relu, outside it, last), the rest by their text."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (0, v, "")
    return (1, ACTIVATIONS.index(v) if v in ACTIVATIONS else len(ACTIVATIONS), str(v))


def held(configs: list, free) -> dict:
    """{field: value} for every field of ``configs`` (run configs) outside ``free`` that takes more
    than one value. Fields are chosen one after another among the configs left (the schedule
    last), so fields that vary together (the steps and their resolved schedule
    ``linear:end=steps/2``) give a slice that holds runs."""
    free = set(free)
    out = {}
    for key in sorted({k for c in configs for k in c} - free, key=lambda k: (k == "schedule", k)):
        values = list({json.dumps(c.get(key), sort_keys=True): c.get(key) for c in configs}.values())
        if len(values) > 1:
            out[key] = (max if key in LARGEST else min)(values, key=order)
            configs = [c for c in configs if c.get(key) == out[key]]
    return out
