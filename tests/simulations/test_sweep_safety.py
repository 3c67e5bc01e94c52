"""Issue 9's behaviour cases: one writer per store, summaries over the whole store, unstable
runs flagged, stdout that copes with a closed pipe or a full disk, strict JSON."""

import errno
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from theorem_lab.cli import main
from theorem_lab.simulations.lock import StoreLock
from theorem_lab.simulations.store import ResultStore
from theorem_lab.simulations.sweep import UNSTABLE_FACTOR, instability

TINY = ["sweep", "--n", "24", "--clusters", "3", "--dim", "4", "--width", "16", "--steps", "12",
        "--n-test", "0", "--log-every", "3", "--workers", "1", "--no-figure"]


def _strict(text):
    def bad(token):
        raise AssertionError(f"non-strict JSON token {token}")
    return json.loads(text, parse_constant=bad)


def test_a_second_writer_is_refused_naming_the_holder(tmp_path, capsys):
    out = tmp_path / "s"
    out.mkdir()
    with StoreLock(out):
        rc = main([*TINY, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "'--out'" in err and f"process {os.getpid()}" in err
    assert not (out / ResultStore.FILENAME).exists()             # refused before any run
    assert main([*TINY, "--out", str(out), "--methods", "gd"]) == 0   # released: runs now


def test_summary_and_report_cover_every_sweep_in_the_store(tmp_path, capsys):
    out = tmp_path / "s"
    assert main([*TINY, "--out", str(out), "--methods", "gd", "--width", "16"]) == 0
    capsys.readouterr()
    assert main([*TINY, "--out", str(out), "--methods", "gd", "--width", "32", "--json"]) == 0
    printed = _strict(capsys.readouterr().out)
    summary = _strict((out / "summary.json").read_text())
    assert printed["runs_total"] == summary["runs_total"] == 2
    assert {c["point"]["width"] for c in summary["cells"]} == {16, 32}
    assert summary["this_sweep"]["runs"] == 1
    assert main(["report", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "k = 16" in report and "k = 32" in report


def test_last_line_counts_this_sweeps_runs_and_names_the_store_apart(tmp_path, capsys):
    """A second sweep into a store printed the store's totals as its own ('2 run(s), 0 reused
    from the store' for a sweep of one run), and an earlier sweep's failures as its failures."""
    out = tmp_path / "s"
    assert main([*TINY, "--out", str(out), "--methods", "gd", "--width", "16", "--lr", "50"]) == 1
    capsys.readouterr()
    assert main([*TINY, "--out", str(out), "--methods", "gd", "--width", "32"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("1 run(s), 0 reused from the store, 0 failed; "), last
    assert "The store holds 2 run(s) of every sweep written into it (1 not finished)" in last, last
    summary = _strict((out / "summary.json").read_text())
    assert summary["this_sweep"]["failed"] == 0 and summary["runs_failed"] == 1
    assert main([*TINY, "--out", str(out), "--methods", "gd", "--width", "32"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("1 run(s), 1 reused from the store, 0 failed; "), last
    fresh = tmp_path / "t"                       # a store of this sweep alone: no second sentence
    assert main([*TINY, "--out", str(fresh), "--methods", "gd"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("1 run(s), 0 reused") and "The store holds" not in last, last


def _info(rise=None, peak=None, start=32.6, lr=1000.0, rule="fixed"):
    return {"loss_start": start, "loss_rise": rise, "loss_peak": peak, "lr": lr, "lr_rule": rule}


def test_instability_names_the_step_the_peak_and_the_fix():
    rise = {"step": 6, "loss": 32.6 * UNSTABLE_FACTOR * 1.01}
    why = instability(_info(rise, {"step": 9, "loss": 5000.0}))
    assert why is not None and "at step 6 (the first step above 10×; its peak 5000 at step 9)" in why
    assert "(10.1× its start)" in why and "lower --lr (the default, auto," in why
    assert "its peak" not in instability(_info(rise, rise))          # the peak is the rise
    assert "its peak" not in instability(_info(rise, {"step": 9, "loss": 5e3}), upto=7)  # after τ
    assert instability(_info(None, {"step": 0, "loss": 32.6}), upto=None) is None   # never above
    assert instability(_info(rise, rise), upto=5) is None            # early stop at τ = 5: before it
    assert instability(_info(rise, rise, rule="auto")).endswith("; lower --lr")


def test_a_loss_spike_between_logged_steps_is_unstable(tmp_path, capsys):
    """lr = 2 here: the loss jumps to 14.8× its start at step 1 and is back below 10× by the
    first logged step, 10. Judged from the logged rows alone it was stored as 'finished'."""
    out = tmp_path / "s"
    rc = main(["sweep", "--n", "100", "--clusters", "4", "--dim", "8", "--width", "64",
               "--steps", "40", "--n-test", "0", "--log-every", "10", "--methods", "gd",
               "--lr", "2", "--workers", "1", "--no-figure", "--json", "--out", str(out)])
    (run,) = _strict(capsys.readouterr().out)["runs"]
    assert rc == 1 and run["status"] == "unstable", run
    assert "at step 1 (the first step above 10×" in run["error"]
    with ResultStore(out, readonly=True) as store:
        steps = store.trajectory(run["run_id"])["step"]
        loss = store.trajectory(run["run_id"])["loss"]
    assert 1 not in steps and max(loss) < UNSTABLE_FACTOR * loss[0]    # not in the logged rows


def test_a_run_whose_loss_jumps_and_stays_is_unstable_not_finished(tmp_path, capsys):
    out = tmp_path / "u"
    rc = main([*TINY, "--out", str(out), "--methods", "gd", "--lr", "auto,1000", "--json"])
    summary = _strict(capsys.readouterr().out)
    status = {r["summary"]["lr"] > 100: r["status"] for r in summary["runs"]}
    assert rc == 1 and status == {False: "finished", True: "unstable"}
    bad = next(r for r in summary["runs"] if r["status"] == "unstable")
    assert "lower --lr" in bad["error"]
    with ResultStore(out, readonly=True) as store:                   # final: a resume skips it
        assert bad["run_id"] in store.final_ids()



def test_early_stop_read_off_an_unstable_gd_run_is_unstable_too(tmp_path, capsys):
    """With lr = 1000 the loss is ~100× its start after one step, and the LSO19 τ is 1: the
    early-stopped iterate is GD's W₁, as unstable as the rest of the run (it was stored as
    'finished' and its ‖f−ỹ‖₂ entered the verdict)."""
    out = tmp_path / "e"
    rc = main([*TINY, "--out", str(out), "--methods", "gd,early-stop", "--lr", "1000", "--json"])
    runs = _strict(capsys.readouterr().out)["runs"]
    assert rc == 1
    es = next(r for r in runs if r["method"] == "early-stop")
    assert es["summary"]["step"] >= 1 and es["status"] == "unstable", es
    rise = int(es["error"].split(" at step ")[1].split()[0])
    assert 1 <= rise <= es["summary"]["step"], es["error"]        # the rise came before τ
    assert all(r["status"] == "unstable" for r in runs)


@pytest.fixture
def store_dir(tmp_path):
    """A store with one run of 3000 trajectory rows (enough to fill a pipe's buffer)."""
    out = tmp_path / "e"
    with ResultStore(out) as store:
        store.write({"run_id": "r1", "cell": "c", "method": "gd", "seed": 0, "status": "finished",
                     "config": {"n": 1}, "summary": {}, "info": {}, "environment": {},
                     "rows": [{"step": t, "loss": 1.0 / (t + 1)} for t in range(3000)]})
    return out


class _Failing:
    def __init__(self, exc):
        self.exc = exc

    def write(self, text):
        raise self.exc

    def flush(self):
        raise self.exc


@pytest.mark.parametrize("exc, rc, message", [
    (BrokenPipeError(errno.EPIPE, "Broken pipe"), 0, ""),
    (OSError(errno.ENOSPC, "No space left on device"), 1, "No space left on device"),
])
def test_export_to_stdout_copes_with_a_closed_pipe_and_a_full_disk(store_dir, capsys, monkeypatch,
                                                                   exc, rc, message):
    monkeypatch.setattr(sys, "stdout", _Failing(exc))
    assert main(["export", str(store_dir), "--out", "-"]) == rc
    err = capsys.readouterr().err
    assert "Traceback" not in err and message in err and err.count("\n") == (1 if rc else 0)


def test_export_into_a_real_full_disk_and_a_closed_pipe(store_dir):
    """The same through a real process: `> /dev/full` and `| head -1`."""
    cmd = [sys.executable, "-m", "theorem_lab", "export", str(store_dir), "--out", "-"]
    with open("/dev/full", "w") as full:
        p = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, text=True)
    assert p.returncode == 1 and "No space left on device" in p.stderr
    assert "Traceback" not in p.stderr and p.stderr.count("\n") == 1
    head = subprocess.run(f"{' '.join(cmd)} | head -1", shell=True, capture_output=True, text=True)
    assert head.stdout.startswith("run_id,") and head.stderr == ""


def test_export_never_replaces_a_symlink_or_device(store_dir, tmp_path, capsys):
    target = tmp_path / "real.csv"
    target.write_text("keep")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert main(["export", str(store_dir), "--out", str(link)]) == 2
    assert link.is_symlink() and target.read_text() == "keep"
    assert main(["export", str(store_dir), "--out", "/dev/null"]) == 2
    assert "character device" in capsys.readouterr().err


def test_json_output_is_strict_where_a_value_is_not_finite(tmp_path, capsys):
    """A zero label vector has no top-K fraction (0/0): JSON null, not a bare NaN."""
    np.save(tmp_path / "z.npy", np.zeros(24))
    assert main(["air", "--n", "24", "--clusters", "3", "--dim", "4", "--width", "16",
                 "--figure", "none", "--labels", str(tmp_path / "z.npy"), "--json",
                 "--out", str(tmp_path / "a")]) == 0
    s = _strict(capsys.readouterr().out)
    assert s["labels"]["K=3"]["labels"] is None and 0 < s["labels"]["K=3"]["y"] <= 1
