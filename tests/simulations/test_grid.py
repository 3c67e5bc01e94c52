"""Comma lists, grid expansion and run_id hashing (simulations/grid.py)."""

import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from theorem_lab.simulations import grid as G
from theorem_lab.errors import ParameterError
from tests.strategies import run_configs

# A fixed config and its run_id: a change here means every stored sweep stops resuming.
PINNED = G.RunConfig(n=100, clusters=4, dim=8, width=64, steps=50, schedule="linear:end=25,start=0")
PINNED_ID = "0624646e04021910"


def test_split_schedules_joins_key_value_items_to_their_spec():
    assert G.split_schedules("linear:start=0,end=300,exponential:tau=50,constant") == [
        "linear:start=0,end=300", "exponential:tau=50", "constant"]


def test_parse_grid_types_and_refuses_repeats():
    with pytest.raises(ParameterError, match="'--width'.*without repeats"):
        G.parse_grid({"width": "256,1024,256"})
    with pytest.raises(ParameterError, match="'--rho'.*without repeats"):
        G.parse_grid({"rho": "0.1,0.10"})            # equal once parsed
    g = G.parse_grid({"width": "256,1024", "rho": "0.1,0.3", "lr": "auto,0.5",
                      "rho_h": "data,0.2", "activation": "tanh,relu"})
    assert g["width"] == [256, 1024]
    assert g["rho"] == [0.1, 0.3]
    assert g["lr"] == ["auto", 0.5]
    assert g["rho_h"] == [None, 0.2]
    assert g["activation"] == ["tanh", "relu"]


def test_expand_is_the_full_product_with_defaults_elsewhere():
    g = G.parse_grid({"width": "256,1024,4096", "rho": "0.1,0.2,0.3,0.4", "steps": "10"})
    points = G.expand(g)
    assert len(points) == 12
    assert {(p["width"], p["rho"]) for p in points} == {
        (w, r) for w in (256, 1024, 4096) for r in (0.1, 0.2, 0.3, 0.4)}
    assert all(p["n"] == 1000 and p["clusters"] == 10 and p["eps"] == 0.05 for p in points)
    # schedule resolved relative to steps, backend resolved (no 'auto' left)
    assert {p["schedule"] for p in points} == {"linear:end=5,start=0"}
    assert all(p["backend"] in ("numpy", "torch", "cupy") for p in points)


def test_expand_merges_points_that_resolve_identically():
    """Without CUDA 'auto' resolves to numpy on the CPU, so 'auto,numpy' is one point; with
    CUDA 'auto' is torch (on the CPU with --device cpu, on the GPU otherwise): two points."""
    gpu = G.cuda_available()
    points = G.expand(G.parse_grid({"backend": "auto,numpy", "device": "cpu"}))
    assert [(p["backend"], p["device"]) for p in points] == (
        [("torch", "cpu"), ("numpy", "cpu")] if gpu else [("numpy", "cpu")])
    both = G.expand(G.parse_grid({"backend": "auto,numpy"}))
    assert [(p["backend"], p["device"]) for p in both] == (
        [("torch", "cuda"), ("numpy", "cpu")] if gpu else [("numpy", "cpu")])


def test_remote_ray_runs_may_ask_for_cuda_the_coordinator_lacks():
    """A CPU coordinator can send GPU tasks to a Ray cluster; locally, --device cuda needs CUDA."""
    g = G.parse_grid({"device": "cuda"})
    points = G.expand(g, remote=True)
    assert [(p["backend"], p["device"]) for p in points] == [("torch", "cuda")]
    if not G.cuda_available():
        with pytest.raises(ParameterError, match="no CUDA device"):
            G.expand(g)
    with pytest.raises(ParameterError, match="'--dtype'"):
        G.expand(G.parse_grid({"device": "cuda"}) | {"dtype": ["float16"]}, remote=True)


@pytest.mark.parametrize("opts, name", [
    ({"n": "5", "clusters": "10"}, "'--n'"),
    ({"rho": "0.45", "n": "20", "clusters": "10"}, "'--rho'"),   # round(0.45*2) = 1 = n_l/2
    ({"schedule": "linear:end=0"}, "--schedule"),
    ({"schedule": "bogus"}, "--schedule"),
])
def test_cross_option_checks(opts, name):
    with pytest.raises(ParameterError, match=name):
        G.expand(G.parse_grid(opts))


def test_run_config_normalises_fields_gd_ignores():
    point = G.expand(G.parse_grid({"schedule": "linear,exponential", "steps": "20"}))
    gd = {G.run_config(p, "gd", 0).run_id for p in point}
    es = {G.run_config(p, "early-stop", 0).run_id for p in point}
    sd = {G.run_config(p, "self-distill", 0).run_id for p in point}
    assert len(gd) == 1 and len(es) == 1 and len(sd) == 2
    assert gd.isdisjoint(es)
    cfg = G.run_config(point[0], "early-stop", 3)
    assert cfg.trajectory_method == "gd" and cfg.label_fn is None and cfg.schedule == G.GD_SCHEDULE


def test_seed_fixes_data_and_a_separate_init_stream():
    cfg = G.run_config(G.expand({})[0], "self-distill", 4)
    assert cfg.seed == 4 and cfg.data_seed == 4
    assert cfg.init_seed == G.init_seed(4) != 4
    assert len({G.init_seed(s) for s in range(100)}) == 100


def test_run_id_pinned():
    assert PINNED.run_id == PINNED_ID


def test_run_id_stable_across_processes_and_hash_seeds():
    code = ("from theorem_lab.simulations.grid import RunConfig as R;"
            "print(R(n=100, clusters=4, dim=8, width=64, steps=50,"
            " schedule='linear:end=25,start=0').run_id)")
    for hash_seed in ("0", "12345"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={"PYTHONHASHSEED": hash_seed, "PATH": ""}, check=True)
        assert out.stdout.strip() == PINNED_ID


def _other(value):
    """A different valid value of the same kind."""
    if value is None:
        return 0.25
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 2
    if isinstance(value, float):
        return value * 0.5 + 0.001 if math.isfinite(value) else 0.0
    return value + "x"


@given(cfg=run_configs(), data=st.data())
def test_run_id_sensitive_to_every_field(cfg, data):
    base = G.config_hash(cfg)
    assert G.config_hash(dict(reversed(list(cfg.items())))) == base   # key order is irrelevant
    field = data.draw(st.sampled_from(sorted(cfg)))
    changed = {**cfg, field: _other(cfg[field])}
    assert G.config_hash(changed) != base


def test_run_id_distinguishes_int_and_float_and_none():
    cfg = PINNED.as_dict()
    ids = {G.config_hash({**cfg, "lr": v}) for v in ("auto", 1, 1.0, 0.1, None)}
    assert len(ids) == 5
