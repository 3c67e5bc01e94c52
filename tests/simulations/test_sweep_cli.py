"""`theorem-lab sweep` and `theorem-lab export` end to end on tiny problems (main() calls)."""

import csv
import importlib.util
import json

import pytest

from theorem_lab.simulations.store import ResultStore
from theorem_lab.backend import cuda_available
from theorem_lab.cli import main

TINY = ["--n", "40", "--clusters", "4", "--dim", "6", "--width", "32", "--steps", "30",
        "--n-test", "20", "--log-every", "5"]


def sweep(capsys, out, *extra):
    rc = main(["sweep", *TINY, "--out", str(out), *extra])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


BAD = [
    (["--rho", "0.5"], "'--rho'", "[0, 0.5)"),
    (["--rho", "abc"], "'--rho'", "real number"),
    (["--width", "1001"], "'--width'", "even integer"),
    (["--width", "0"], "'--width'", "[2, inf"),
    (["--width", "64,,128"], "'--width'", "no empty items"),
    (["--n", "5", "--clusters", "10"], "'--n'", ">= 2*clusters = 20"),
    (["--eps", "-1"], "'--eps'", "(0, 2]"),
    (["--steps", "0"], "'--steps'", "[1, inf"),
    (["--methods", "gd,sgd"], "'--methods'", "'self-distill', 'gd', 'early-stop'"),
    (["--activation", "gelu"], "'--activation'", "'tanh'"),
    (["--backend", "jax"], "'--backend'", "'numpy'"),
    (["--dtype", "float16"], "'--dtype'", "'float64'"),
    (["--lr", "-1"], "'--lr'", "(0, inf)"),
    (["--lr", "fast"], "'--lr'", "'auto', 'theorem'"),
    (["--seeds", "0"], "'--seeds'", "[1, inf"),
    (["--workers", "0"], "'--workers'", "[1, inf"),
    (["--executor", "dask"], "'--executor'", "'local', 'ray'"),
    (["--address", "10.0.0.1:6379"], "'--address'", "--executor ray"),
    (["--schedule", "linear:end=0"], "--schedule", "schedule.end"),
    (["--label-fn", "softmax"], "'--label-fn'", "'clipped'"),
    (["--rho-h", "0.7"], "'--rho-h'", "[0, 0.5)"),
]
if not cuda_available():
    BAD.append((["--device", "cuda"], "'--device'", "no CUDA device"))
if importlib.util.find_spec("ray") is not None:   # an unreachable head fails fast, not hangs
    BAD.append((["--executor", "ray", "--address", "127.0.0.1:1"], "'--address'", "reachable"))
    BAD.append((["--executor", "ray", "--address", "head-without-port"], "'--address'", "host:port"))


@pytest.mark.parametrize("argv, option, allowed", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_input_exit_2_one_line(capsys, tmp_path, argv, option, allowed):
    out = tmp_path / "out"
    rc = main(["sweep", "--out", str(out), *argv])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert option in err and allowed in err, err
    assert not out.exists()                     # nothing started


def test_unwritable_out(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    rc = main(["sweep", *TINY, "--out", str(blocker / "sub")])
    err = capsys.readouterr().err
    assert rc == 2 and "'--out'" in err and "writable" in err and err.count("\n") == 1


def test_json_matches_store_and_resume_recomputes_nothing(capsys, tmp_path):
    out = tmp_path / "run"
    # 50 steps: the calibrated stop τ = ⌈c·τ₀⌉ (18–45 here) falls inside the run
    rc, stdout, _ = sweep(capsys, out, "--seeds", "2", "--rho", "0.1,0.25", "--workers", "2",
                          "--steps", "50", "--json")
    assert rc == 0
    summary = json.loads(stdout)
    assert json.loads((out / "summary.json").read_text()) == summary
    assert summary["runs_total"] == 2 * 2 * 3 and summary["runs_failed"] == 0
    # ρ varies: the T₁ figure applies too; the phase diagram needs two varying fields
    assert {p.split("/")[-1] for p in summary["figure"]} == {
        "trajectories.png", "trajectories.pdf", "t1.png", "t1.pdf"}
    with ResultStore(out, readonly=True) as store:
        stored = {r["run_id"]: r for r in store.runs()}
        lengths = {i: len(store.trajectory(i)["step"]) for i in stored}
    assert len(stored) == 12
    for run in summary["runs"]:
        row = stored[run["run_id"]]
        assert (row["status"], row["method"], row["seed"]) == (run["status"], run["method"], run["seed"])
        assert row["summary"] == run["summary"]
    cells = summary["cells"]
    assert [c["point"]["rho"] for c in cells] == [0.1, 0.25]
    for cell in cells:
        for method, m in cell["methods"].items():
            vals = [stored[i]["summary"]["l2_clean"] for i in m["run_ids"]]
            assert m["mean"]["l2_clean"] == pytest.approx(sum(vals) / len(vals), rel=1e-12)
            assert len(set(m["run_ids"])) == 2
        assert "Theorem 1's conclusion" in cell["verdict"] and "‖f−ỹ‖₂" in cell["verdict"]
        # gd and early-stop share one trajectory; early-stop's is cut at τ
        for s in range(2):
            gd, es = cell["methods"]["gd"]["run_ids"][s], cell["methods"]["early-stop"]["run_ids"][s]
            assert stored[gd]["task_id"] == stored[es]["task_id"]
            assert stored[es]["summary"]["step"] == stored[gd]["info"]["early_stop_step"]
            assert lengths[es] <= lengths[gd] == 50 // 5 + 1

    rc, stdout, err = sweep(capsys, out, "--seeds", "2", "--rho", "0.1,0.25", "--steps", "50",
                            "--json")
    again = json.loads(stdout)
    assert rc == 0 and again["runs_skipped"] == 12 and "0 to run" in err
    with ResultStore(out, readonly=True) as store:
        assert {r["run_id"]: r["ended"] for r in store.runs()} == {
            i: r["ended"] for i, r in stored.items()}
    assert again["cells"] == summary["cells"]


def test_table_output_and_relu_note(capsys, tmp_path):
    rc, stdout, err = sweep(capsys, tmp_path / "r", "--activation", "relu", "--methods",
                            "self-distill", "--no-figure")
    assert rc == 0
    assert "OUTSIDE Theorem 1's hypothesis" in stdout
    assert "self-distill" in stdout and "verdict:" in stdout and "‖W−W₀‖_F" in stdout
    assert "Theorem 1's hypotheses (δ = 0.1, measured Λ = " in stdout and "required (" in stdout
    assert "sweep: 1 cell(s)" in err and "run/s" not in stdout   # the log goes to stderr
    assert not (tmp_path / "r" / "trajectories.png").exists()


def test_failing_runs_are_recorded_and_the_sweep_goes_on(capsys, tmp_path):
    out = tmp_path / "fail"
    # softplus (unbounded) with lr = 1e3 diverges; lr = auto finishes
    rc, stdout, err = sweep(capsys, out, "--activation", "softplus", "--lr", "auto,1e3", "--dim", "2",
                            "--methods", "self-distill,gd", "--json")
    assert rc == 1
    summary = json.loads(stdout)
    with ResultStore(out, readonly=True) as store:
        runs = store.runs()
    status = {}
    for r in runs:
        status.setdefault(r["status"], []).append(r)
    assert len(runs) == 4
    assert len(status["finished"]) == 2                     # lr=auto
    bad = status.get("diverged", []) + status.get("unstable", [])
    assert len(bad) == 2 and all("lower --lr" in r["error"] for r in bad)
    assert summary["runs_failed"] == 2
    assert "2 of 4 run(s) did not finish" in err


def test_infeasible_separation_is_refused_before_any_run(capsys, tmp_path):
    """min-separation 1.99 cannot be met by 4 centres on the circle (d = 2): exit 2, nothing stored."""
    out = tmp_path / "sep"
    rc, _, err = sweep(capsys, out, "--dim", "2", "--min-separation", "0,1.99")
    assert rc == 2 and "'--min-separation'" in err and "lower --min-separation" in err
    assert not (out / ResultStore.FILENAME).exists()


def test_export_csv(capsys, tmp_path):
    out = tmp_path / "e"
    assert sweep(capsys, out, "--methods", "self-distill,early-stop", "--no-figure")[0] == 0
    assert main(["export", str(out), "--format", "csv"]) == 0
    with open(out / "trajectory.csv") as fh:
        rows = list(csv.DictReader(fh))
    with ResultStore(out, readonly=True) as store:
        expected = sum(len(store.trajectory(r["run_id"])["step"]) for r in store.runs())
    assert len(rows) == expected and {r["method"] for r in rows} == {"self-distill", "early-stop"}
    assert all(r["cfg_width"] == "32" for r in rows)
    capsys.readouterr()
    assert main(["export", str(out), "--format", "parquet"]) == 2
    assert "'--format'" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "nothing")]) == 2


def test_export_refuses_to_overwrite_an_existing_out_file_unless_forced(capsys, tmp_path):
    """An existing --out FILE may be anything the user keeps: refused (exit 2, untouched) without
    --force; the default RUN/<table>.csv is export's own and a re-export replaces it."""
    out = tmp_path / "e"
    assert sweep(capsys, out, "--no-figure")[0] == 0
    keep = tmp_path / "keep.csv"
    keep.write_text("precious\n")
    capsys.readouterr()
    assert main(["export", str(out), "--out", str(keep)]) == 2
    err = capsys.readouterr().err
    assert "'--out'" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert keep.read_text() == "precious\n"
    assert main(["export", str(out), "--out", str(keep), "--force"]) == 0
    assert keep.read_text().startswith("run_id,")
    assert main(["export", str(out)]) == 0 and main(["export", str(out)]) == 0   # default: replaced


def test_no_progress_bars_when_stderr_is_not_a_terminal(capsys, tmp_path):
    """Redirected logs get the plan line, not tqdm's carriage returns and cursor moves."""
    rc, out, err = sweep(capsys, tmp_path / "r", "--seeds", "2", "--no-figure")
    assert rc == 0 and "sweep: 1 cell(s)" in err
    assert "\r" not in err and "\x1b[" not in err, err
