"""One epoch of each method on synthetic data; resume equals the uninterrupted run
(bit-identical on CPU); the store rows match the --json summary; bad input is one line, exit 2."""

import json

import numpy as np
import pytest
import torch

from theorem_lab.cli import main
from theorem_lab.simulations.cifar import train as T
from theorem_lab.simulations.cifar.config import resolve
from theorem_lab.simulations.cifar.session import Session
from theorem_lab.simulations.store import ResultStore

TINY = {"profile": "smoke", "dataset": "synthetic", "synthetic_train": 120, "synthetic_test": 40,
        "synthetic_shape": "1x28x28", "width": 4, "batch_size": 32, "epochs": 1, "progress": False,
        "noise_rate": 0.4, "device": "cpu"}


def cfg(tmp_path, **kw):
    return resolve({**TINY, "out": str(tmp_path), **kw})


@pytest.mark.parametrize("method,extra", [("ce", {}), ("self-distill", {"lam": 1.5}),
                                          ("self-distill", {"loss": "mse", "h": "softmax"}),
                                          ("bootstrap", {"bootstrap": "hard"}), ("gce", {})])
def test_one_epoch_of_each_method(tmp_path, method, extra):
    rec = Session(cfg(tmp_path, method=method, **extra)).run()
    (row,) = rec["rows"]
    assert rec["status"] == "finished" and row["step"] == 1
    assert np.isfinite(row["train_loss"]) and 0 <= row["test_acc"] <= 1
    expected_alpha = {"ce": 1.0, "gce": 1.0, "bootstrap": 0.95}.get(method)
    if expected_alpha is None:   # self-distill: mean of clipped 1 − λ·acc
        assert 0.0 <= row["alpha_mean"] <= 1.0
    else:
        assert row["alpha_mean"] == pytest.approx(expected_alpha)
    # the realised noise rate on the training part: uniform-all at p = 0.4, C = 10
    assert 0.2 < rec["summary"]["noise_realised_rate"] < 0.5


def test_methods_share_labels_order_and_augmentation_streams(tmp_path):
    a, b = Session(cfg(tmp_path / "a", method="ce")), Session(cfg(tmp_path / "b", method="gce"))
    a.run()
    b.run()
    for stream in (1, 2):   # data order, augmentation: seeded by the training seed alone
        ga, gb = a._generator(stream), b._generator(stream)
        assert torch.equal(torch.randperm(50, generator=ga), torch.randperm(50, generator=gb))
    la, lb = np.load(a.dir / "labels.npz"), np.load(b.dir / "labels.npz")
    for key in ("y_observed", "train_index", "val_index"):
        np.testing.assert_array_equal(la[key], lb[key])


def test_noise_independent_of_training_seed(tmp_path):
    r0 = Session(cfg(tmp_path, seed=0, epochs=1))
    r1 = Session(cfg(tmp_path, seed=5, epochs=1))
    r0.run()
    r1.run()
    l0, l1 = (np.load(r.dir / "labels.npz") for r in (r0, r1))
    np.testing.assert_array_equal(l0["y_observed"], l1["y_observed"])
    assert r0.run_id != r1.run_id


def test_lr_schedule():
    assert T.lr_at(0, 100, 0.2, 0) == pytest.approx(0.2)
    assert T.lr_at(50, 100, 0.2, 0) == pytest.approx(0.1)
    assert T.lr_at(0, 100, 0.2, 10) == pytest.approx(0.02)
    assert T.lr_at(99, 100, 0.2, 0) < 1e-4


def test_resume_after_interruption_is_bit_identical(tmp_path, monkeypatch):
    c_full = cfg(tmp_path / "full", epochs=3, method="self-distill")
    full = Session(c_full).run()
    state_full = torch.load(Session(c_full).dir / "checkpoint.pt", weights_only=False)

    c = cfg(tmp_path / "cut", epochs=3, method="self-distill")
    real_train = T.train
    calls = {"n": 0}

    def interrupt_after_two(row, st, inner):
        inner(row, st)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    def patched(cfg_, split, model, opt, state, on_epoch, bar=None, loss=None):
        return real_train(cfg_, split, model, opt, state,
                          lambda r, s: interrupt_after_two(r, s, on_epoch), bar, loss)

    import theorem_lab.simulations.cifar.session as S
    monkeypatch.setattr(S, "train", patched)
    with pytest.raises(KeyboardInterrupt):
        Session(c).run()
    with ResultStore(tmp_path / "cut", readonly=True) as st:
        (row,) = st.runs()
        assert row["status"] == "interrupted" and row["summary"]["epochs_done"] == 2
    monkeypatch.setattr(S, "train", real_train)
    resumed = Session(c).run()
    assert [r["train_loss"] for r in resumed["rows"]] == [r["train_loss"] for r in full["rows"]]
    assert [r["test_acc"] for r in resumed["rows"]] == [r["test_acc"] for r in full["rows"]]
    state_cut = torch.load(Session(c).dir / "checkpoint.pt", weights_only=False)
    for k, v in state_full["model"].items():
        assert torch.equal(v, state_cut["model"][k]), k


def test_cli_json_matches_store(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["cifar", "train", "--profile", "smoke", "--dataset", "synthetic", "--synthetic-train", "120",
            "--synthetic-test", "40", "--synthetic-shape", "1x28x28", "--width", "4", "--epochs", "2",
            "--batch-size", "32", "--noise-rate", "0.4", "--noise-convention", "uniform-other",
            "--method", "self-distill", "--no-progress", "--json", "--out", str(out)]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    with ResultStore(out, readonly=True) as st:
        (run,) = st.runs()
        traj = st.trajectory(run["run_id"])
    assert run["run_id"] == summary["run_id"] and run["status"] == "finished"
    assert traj["step"] == [1.0, 2.0]
    assert summary["test_acc_last"] == pytest.approx(traj["test_acc"][-1])
    best = int(np.nanargmax(traj["val_acc_noisy"]))
    assert summary["test_acc_at_best_val"] == pytest.approx(traj["test_acc"][best])
    assert summary["noise_realised_rate"] == pytest.approx(run["summary"]["noise_realised_rate"])
    labels = np.load(out / run["run_id"] / "labels.npz")
    flipped = labels["y_observed"] != labels["y_true"]
    assert flipped.sum() == round(0.4 * 120)          # uniform-other: exact count on the full set
    assert summary["noise_realised_rate"] == pytest.approx(flipped[labels["train_index"]].mean())
    assert summary["settings"]["noise_convention"] == "uniform-other"
    # rerunning the finished command reports it without training again
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["test_acc_last"] == summary["test_acc_last"]


BAD = [
    (["--noise-rate", "1.0"], "'--noise-rate'"),
    (["--noise-rate", "-0.1"], "'--noise-rate'"),
    (["--noise-type", "asymmetric", "--dataset", "cifar100", "--data-dir", "."], "'--noise-type'"),
    (["--noise-type", "human", "--dataset", "cifar10", "--data-dir", ".", "--noise-file", "nope.pt"], "'--noise-file'"),
    (["--lam", "0"], "'--lam'"),
    (["--batch-size", "0"], "'--batch-size'"),
    (["--epochs", "0"], "'--epochs'"),
    (["--dataset", "cifar10"], "'--data-dir'"),
    (["--loss", "mse"], "'--loss'"),
    (["--alpha", "adaptive:lam=1"], "'--alpha'"),
    (["--alpha", "linear:start=5,end=1"], "'schedule.end'"),
    (["--synthetic-shape", "3x64x64"], "'--synthetic-shape'"),
    (["--val-fraction", "0.9"], "'--val-fraction'"),
    (["--data-dir", "."], "'--data-dir'"),          # synthetic data: it was ignored, silently
    (["--profile", "fast", "--epochs", "1"], "epochs = 1"),   # the profile's 1 warm-up epoch
]


@pytest.mark.parametrize("extra,name", BAD)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, extra, name):
    argv = ["cifar", "train", "--profile", "smoke", "--out", str(tmp_path / "o"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert name in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o" / "results.sqlite").exists()


def test_unknown_choices_and_unwritable_out(tmp_path, capsys):
    for extra in (["--model", "vgg"], ["--method", "coteach"], ["--profile", "huge"]):
        with pytest.raises(SystemExit) as e:
            main(["cifar", "train", *extra])
        assert e.value.code == 2
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["cifar", "train", "--profile", "smoke", "--out", str(blocker / "sub")]) == 2
    assert "'--out'" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_option_without_gpu(capsys):
    assert main(["cifar", "train", "--device", "cuda"]) == 2
    assert "'--device'" in capsys.readouterr().err


def test_missing_data_under_cifar_train_is_one_line_and_nothing_else(tmp_path, capsys):
    """The epoch table's header was printed before the data were read, so a missing file gave
    the header and then the error; now the header comes with the first epoch's row."""
    assert main(["cifar", "train", "--profile", "smoke", "--dataset", "mnist", "--data-dir",
                 str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("theorem-lab cifar train: error: The '--data-dir' parameter")


@pytest.mark.parametrize("command", [["ntk-air", "--profile", "fast"],
                                     ["teacher-epochs", "--profile", "paper"]])
def test_missing_data_is_named_under_the_command_that_was_run(tmp_path, capsys, command):
    """The loader's --data-dir error was written for 'cifar train' and said so under ntk-air and
    teacher-epochs too."""
    assert main(["cifar", *command, "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"The '--data-dir' parameter of cifar {command[0]} must hold the" in err


@pytest.mark.parametrize("command", [["ntk-air", "--profile", "fast"],
                                     ["teacher-epochs", "--profile", "paper"]])
def test_missing_data_advice_names_only_options_the_command_has(tmp_path, capsys, command):
    """The loader's advice 'Pass --download' was kept under ntk-air, which has no --download:
    there it names the command that fetches the files."""
    import argparse

    from theorem_lab.cli import build_parser

    def sub(parser, name):
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return action.choices[name]
    options = sub(sub(build_parser("cifar"), "cifar"), command[0])._option_string_actions
    has_download = "--download" in options
    assert has_download == (command[0] == "teacher-epochs")     # as the commands are today
    assert main(["cifar", *command, "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    if has_download:
        assert "Pass --download or point --data-dir" in err, err
    else:
        assert "--download" not in err.replace("theorem-lab cifar train --dataset cifar10 "
                                               "--data-dir DIR --download", ""), err
        assert "Fetch them with 'theorem-lab cifar train --dataset cifar10 --data-dir DIR " \
               "--download'" in err, err
