"""`cifar table1` on the smoke profile with tiny synthetic data: every cell in the table, the
paper's numbers in their own column and equal to the data file, "not run" cells, resume trains
nothing, `cifar train` finds a cell, a failing cell, the figures' matplotlib objects, and
`figures` / `report` on a cifar store."""

import csv
import json
import re
from pathlib import Path

import pytest

from theorem_lab.cli import main
from theorem_lab.simulations.cifar import session as S
from theorem_lab.simulations.cifar import table1 as T
from theorem_lab.simulations.cifar.config import TrainConfig
from theorem_lab.simulations.store import ResultStore

TINY = ["--profile", "smoke", "--synthetic-train", "60", "--synthetic-test", "20", "--width", "4",
        "--epochs", "1", "--batch-size", "32", "--workers", "1", "--no-progress"]
GRID = ["--methods", "self-distill,ce", "--rates", "0,0.4"]
DATA_FILE = Path(T.__file__).with_name("paper_table1.json")
PAPER_TEXT = Path("/work/shared/paper/distillation_early_stopping_iclr2020_submission.txt")


def table1(out, *extra):
    return main(["cifar", "table1", *TINY, "--out", str(out), *extra])


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread per cell: the tests share two cores with each other's jobs, where two
    threads per tiny run are 4x slower than one (measured: 18 s vs 4 s for the 8-cell grid)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("theorem_lab.simulations.executors.cores", lambda: 1)
        yield


@pytest.fixture(scope="module")
def grid(tmp_path_factory, one_thread):
    """The 2 data sets × 2 methods × 2 rates × 1 seed grid, run once (with its figures)."""
    import io
    from contextlib import redirect_stdout
    out = tmp_path_factory.mktemp("table1") / "store"
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert table1(out, *GRID, "--json") == 0
    return out, json.loads(buf.getvalue())


def test_the_table_has_every_cell_and_the_papers_numbers_in_their_own_column(grid):
    out, result = grid
    paper = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    assert [d["name"] for d in result["datasets"]] == ["cifar10", "fashion-mnist"]
    assert result["trained"] == 8 and result["failed"] == 0
    for ds in result["datasets"]:
        assert ds["data"].startswith("synthetic")
        assert [r["method"] for r in ds["rows"]] == ["self-distill", "ce"]
        for row in ds["rows"]:
            assert [c["rate"] for c in row["cells"]] == [0.0, 0.4]
            for c in row["cells"]:
                assert c["status"] == "ok" and c["finished"] == 1
                assert 0 <= c["test_acc_last"]["mean"] <= 100
                if row["method"] == "self-distill":      # "Ours" of the paper
                    i = paper["noise_rates"].index(c["rate"])
                    assert c["paper"] == paper["methods"]["ours"][ds["name"]][i]
                    assert c["diff_test_acc_last"] == pytest.approx(
                        c["test_acc_last"]["mean"] - c["paper"])
                else:
                    assert c["paper"] is None and c["paper_note"] == "not in the paper"
        labels = [label for label, _ in ds["paper_only"]]
        assert labels == [paper["methods"][k]["label"] for k in ("co-teaching", "d2l", "wat")]
    with open(out / "table1.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 2 * 2 * 2                    # data sets × methods × rates × quantities
    md = (out / "table1.md").read_text()
    assert "94.31" in md and "95.21" in md and "not a reproduction" in md.lower()
    assert {Path(p).name for p in result["figures"]} >= {"table1.png", "epochs.png"}


def test_text_output_has_the_paper_column_and_the_open_settings(grid, capsys):
    out, _ = grid
    assert table1(out, *GRID) == 0
    text = capsys.readouterr().out
    assert "== CIFAR-10 (synthetic 3x32x32 stand-in)" in text
    assert "== Fashion-MNIST (synthetic 1x28x28 stand-in)" in text
    paper_lines = [line for line in text.splitlines() if line.split()[:1] == ["paper"]]
    assert len(paper_lines) == 4                          # one per (data set, method)
    assert "90.82" in text and "93.78" in text             # Ours at p = 0.4
    for setting in ("profile: smoke: NOT a reproduction", "noise: symmetric, convention",
                    "validation:", "model: fast (width 4)", "λ: CIFAR-10 1, 1 at p = 0, 0.4; "
                    "Fashion-MNIST 0.6, 1 at p = 0, 0.4"):
        assert setting in text
    assert "0 cell(s) trained, 8 reused" in text


def test_resume_recomputes_nothing_and_a_larger_grid_trains_only_the_new_cells(grid, monkeypatch,
                                                                                capsys):
    out, _ = grid
    calls = []
    real = S.Session.run

    def counted(self, *a, **k):
        calls.append(self.cfg)
        return real(self, *a, **k)
    monkeypatch.setattr(S.Session, "run", counted)
    assert table1(out, *GRID, "--no-figure") == 0
    assert calls == []
    assert table1(out, "--methods", "ce", "--rates", "0,0.2,0.4", "--datasets", "cifar10",
                  "--no-figure") == 0
    assert [(c.method, c.noise_rate) for c in calls] == [("ce", 0.2)]
    capsys.readouterr()


def test_cifar_train_with_a_cells_settings_finds_its_run(grid, capsys):
    out, result = grid
    (cell,) = [c for c in result["datasets"][0]["rows"][1]["cells"] if c["rate"] == 0.4]
    with ResultStore(out, readonly=True) as st:
        before = {r["run_id"]: r for r in st.runs()}[cell["run_ids"][0]]
    argv = ["cifar", "train", "--profile", "smoke", "--dataset", "synthetic", "--synthetic-shape",
            "3x32x32", "--synthetic-train", "60", "--synthetic-test", "20", "--width", "4",
            "--epochs", "1", "--batch-size", "32", "--method", "ce", "--noise-rate", "0.4",
            "--seed", "0", "--noise-seed", "0", "--no-progress", "--json", "--out", str(out)]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["run_id"] == cell["run_ids"][0]
    assert summary["test_acc_last"] == before["summary"]["test_acc_last"]


def test_cells_not_run_and_partial_cells_say_so(grid):
    out, _ = grid
    with ResultStore(out, readonly=True) as st:
        runs = st.runs()
    cells = {T.cell_of(r["config"]): r for r in runs}
    table = T.build_table({"datasets": ["cifar10"], "methods": ["self-distill", "gce"],
                           "rates": [0.4, 0.8], "seeds": [0, 1]}, cells)
    sd, gce = table["datasets"][0]["rows"]
    assert [c["status"] for c in sd["cells"]] == ["partial", "not run"]
    assert [c["status"] for c in gce["cells"]] == ["not run", "not run"]
    assert gce["cells"][1]["paper"] == 67.92          # the paper's number even where ours is not
    text = T.render(table)
    assert text.count("not run") == 2 * 3 and "(1/2 seeds)" in text


def test_a_failing_cell_is_stored_as_error_and_exits_1(tmp_path, monkeypatch, capsys):
    def boom(self, *a, **k):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(S.Session, "run", boom)
    assert table1(tmp_path, "--methods", "ce", "--rates", "0", "--datasets", "cifar10",
                  "--no-figure") == 1
    captured = capsys.readouterr()
    assert "not run" in captured.out and "1 cell(s) failed" in captured.err
    with ResultStore(tmp_path, readonly=True) as st:
        (run,) = st.runs()
    assert run["status"] == "error" and "disk on fire" in run["error"]


def test_the_work_pair_pickles_and_runs_as_a_local_workers_task(tmp_path):
    """What a spawned worker receives (``executors._worker_task(task, WORK)``), in process; the
    real spawn is the slow test below and .ci/wheel-check's table1 run."""
    import pickle
    from dataclasses import asdict

    from theorem_lab.simulations import executors
    from theorem_lab.simulations.cifar.cells import WORK
    from theorem_lab.simulations.cifar.config import resolve
    assert pickle.loads(pickle.dumps(WORK)) == WORK
    cfg = resolve({"profile": "smoke", "dataset": "synthetic", "synthetic_train": 60,
                   "synthetic_test": 20, "width": 4, "epochs": 1, "batch_size": 32,
                   "progress": False, "out": str(tmp_path), "device": "cpu"})
    (rec,) = executors._worker_task({"task_id": "t", "config": asdict(cfg), "threads": 1}, WORK)
    assert rec["status"] == "finished" and len(rec["rows"]) == 1
    assert not (tmp_path / "results.sqlite").exists()     # the worker leaves the store alone


@pytest.mark.slow
def test_local_worker_processes_run_the_cells(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("theorem_lab.simulations.executors.cores", lambda: 2)
    assert table1(tmp_path, "--methods", "ce", "--rates", "0", "--workers", "2", "--no-figure",
                  "--json") == 0
    captured = capsys.readouterr()
    assert "to train on LocalExecutor" in captured.err
    result = json.loads(captured.out)
    assert result["trained"] == 2 and all(
        ds["rows"][0]["cells"][0]["status"] == "ok" for ds in result["datasets"])


def test_table1_figure_objects(grid):
    from theorem_lab.figures import cifar_figures as F
    from theorem_lab.figures import style
    out, _ = grid
    table = F.load_table(out)
    with style.context() as plt:
        fig = F.table1_build(plt, table)
        axes = fig.axes
        assert [ax.get_title() for ax in axes] == ["CIFAR-10 (synthetic 3x32x32 stand-in)",
                                                   "Fashion-MNIST (synthetic 1x28x28 stand-in)"]
        for ax in axes:
            assert "noise rate" in ax.get_xlabel()
            assert len(ax.containers) == 2                      # one error bar series per method
            hollow = [ln for ln in ax.get_lines() if ln.get_markerfacecolor() == "none"]
            # the paper's Ours at both rates, and Co-teaching, D2L, WAT at both rates
            assert sorted(ln.get_label() for ln in hollow) == sorted(
                ["paper: self-distillation (Alg. 1)", "paper: Co-teaching", "paper: D2L",
                 "paper: WAT"])
            ours = next(ln for ln in hollow if "Alg. 1" in ln.get_label())
            assert list(ours.get_xdata()) == table["rates"]      # the paper has every rate
        assert axes[0].get_ylabel().startswith("test accuracy")
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert "cross entropy (CE)" in labels and "self-distillation (Alg. 1)" in labels
        plt.close(fig)


def test_figure4_objects(grid):
    from theorem_lab.figures import cifar_figures as F
    from theorem_lab.figures import style
    out, _ = grid
    pair = F.load_pair(out)
    assert (pair["dataset"], pair["rate"], pair["seed"]) == ("cifar10", 0.4, 0)
    with style.context() as plt:
        fig = F.epochs_build(plt, pair)
        a, b = fig.axes
        assert a.get_ylabel() == "test accuracy (%)"
        assert "noisy training labels" in " ".join(b.get_ylabel().split())     # on two lines
        for ax in (a, b):
            assert ax.get_xlabel() == "epoch"
            named = {ln.get_label(): ln for ln in ax.get_lines()}
            assert {"cross entropy (CE)", "self-distillation (Alg. 1)"} <= set(named)
            assert list(named["cross entropy (CE)"].get_xdata()) == [1.0]
        clean = [ln for ln in b.get_lines() if ln.get_label().startswith("clean share")]
        realised = pair["runs"]["ce"]["summary"]["noise_realised_rate"]
        assert clean and clean[0].get_ydata()[0] == pytest.approx(100 * (1 - realised))
        plt.close(fig)


def test_figures_and_report_commands_on_a_cifar_store(grid, tmp_path, capsys):
    out, _ = grid
    # the folder's last grid asked for is GRID again (trains nothing; other tests ask for others)
    assert table1(out, *GRID, "--no-figure") == 0
    assert main(["figures", str(out), "--which", "table1,epochs", "--format", "png",
                 "--out", str(tmp_path)]) == 0
    assert (tmp_path / "table1.png").stat().st_size > 0 and (tmp_path / "epochs.png").is_file()
    assert main(["figures", str(out), "--which", "trajectories", "--out", str(tmp_path)]) == 0
    assert "trajectories: does not apply to" in (err := capsys.readouterr().err) and "(it holds: table1, epochs)" in err
    assert main(["report", str(out), "--out", str(tmp_path / "r.md")]) == 0
    md = (tmp_path / "r.md").read_text()
    assert md.startswith("# theorem-lab cifar report")
    assert "| self-distill | last epoch |" in md and "94.31" in md and "epochs.png" in md
    assert "data:image/png;base64," in (tmp_path / "r.html").read_text()


def test_a_second_smaller_grid_into_the_same_store_gets_its_own_figures_and_report(
        tmp_path, capsys):
    """A store that already holds a larger grid (4 cells) takes a second command with another
    setting (2 cells, two epochs): its figures, `figures` and `report` show the second grid (the
    figures used to be drawn from the grid of most runs, the first one)."""
    from theorem_lab.figures import cifar_figures as F
    out = tmp_path / "store"
    assert table1(out, "--methods", "self-distill,ce", "--rates", "0,0.4", "--datasets",
                  "cifar10") == 0
    first = F.last_grid(out)
    drawn = []
    real = F.table1_figures

    def spy(run_dir, formats=("png", "pdf"), run_ids=None):
        drawn.append(run_ids)
        return real(run_dir, formats, run_ids)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(F, "table1_figures", spy)
        assert table1(out, "--methods", "self-distill,ce", "--rates", "0.4", "--datasets",
                      "cifar10", "--epochs", "2") == 0
    second = F.last_grid(out)
    assert len(first) == 4 and len(second) == 2 and not first & second
    assert drawn == [second]                                  # the command drew its own grid
    assert F.load_table(out)["rates"] == [0.0, 0.4]           # the store's larger grid...
    assert F.load_table(out, second)["rates"] == [0.4]        # ...and the one asked for last
    assert F.load_pair(out, run_ids=second)["trajectories"]["ce"]["step"] == [1.0, 2.0]
    assert main(["report", str(out), "--out", str(tmp_path / "r.md")]) == 0
    md = (tmp_path / "r.md").read_text()
    assert "| method | quantity | p = 0.4 |" in md and "p = 0 |" not in md
    assert "| schedule | 2 epochs," in md                      # the second grid's settings
    capsys.readouterr()


def test_the_data_file_is_the_papers_table():
    """The transcription against the paper's text, where the text is at hand."""
    paper = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    assert paper["source"].startswith("Table 1 of the paper")
    assert paper["noise_rates"] == [0.0, 0.2, 0.4, 0.6, 0.8]
    assert T.paper() == paper                       # what the package reads is the file
    if not PAPER_TEXT.is_file():
        pytest.skip("the paper's text is not on this machine")
    text = PAPER_TEXT.read_text(encoding="utf-8")
    rows = {"co-teaching": "CoTeaching", "d2l": "D2LMa", "wat": "WATDamodaran", "gce": "GCEZhang",
            "ours": "Ours"}
    for key, start in rows.items():
        line = next(ln for ln in text.splitlines() if ln.startswith(start + " ")
                    or ln.startswith(start + "\t") or ln.startswith(start))
        cells = line.split("\t")[1:]
        printed = [None if c.strip() == "-" else float(c) for c in cells]
        assert printed == paper["methods"][key]["cifar10"] + paper["methods"][key]["fashion-mnist"], key
    lam = re.search(r"set\s+\S+\s+as 0\.6, 1, 1, 1\.4, 1\.6", text)
    assert lam and paper["lambda"]["fashion-mnist"] == [0.6, 1.0, 1.0, 1.4, 1.6]


def test_synthetic_signal_is_hashed_only_off_its_default():
    assert "synthetic_signal" not in TrainConfig().hashed()        # old run_ids stay valid
    assert TrainConfig(synthetic_signal=24.0).hashed()["synthetic_signal"] == 24.0


@pytest.mark.slow
def test_ray_runs_the_same_cells_as_the_local_executor(tmp_path, capsys):
    """A local 2-CPU Ray: the same run_ids and (CPU, deterministic) the same accuracies."""
    ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed")
    small = ["--methods", "ce", "--rates", "0", "--no-figure", "--json"]
    assert table1(tmp_path / "local", *small) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(["cifar", "table1", *TINY[:-3], "--executor", "ray", "--workers", "2",
                 "--no-progress", "--out", str(tmp_path / "ray"), *small]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert not ray.is_initialized()
    for a, b in zip(local["datasets"], remote["datasets"]):
        ca, cb = a["rows"][0]["cells"][0], b["rows"][0]["cells"][0]
        assert ca["run_ids"] == cb["run_ids"] and cb["status"] == "ok"
        assert cb["test_acc_last"]["mean"] == pytest.approx(ca["test_acc_last"]["mean"], abs=1e-9)


def test_messages_print_out_as_typed_not_absolute(tmp_path, monkeypatch, capsys):
    """A relative --out is printed relative (as every other command prints its paths); the
    cells' stores stay absolute inside (the nodes of a Ray cluster need that)."""
    monkeypatch.chdir(tmp_path)
    assert main(["cifar", "table1", *TINY, "--out", "rel", "--datasets", "fashion-mnist",
                 "--methods", "ce", "--rates", "0"]) == 0
    out, err = capsys.readouterr()
    last = out.strip().splitlines()[-1]
    assert "in rel" in last and str(tmp_path) not in last
    assert str(tmp_path) not in err and "-> rel" in err
    assert (tmp_path / "rel" / "table1.json").exists()
