"""Hinton et al.'s KD loss against its formula; `cifar teacher-epochs` end to end on the smoke
profile: every E in the table, teachers kept at E, both readings, resume recomputes nothing."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from theorem_lab.cli import main
from theorem_lab.simulations.cifar import teacher_epochs as TE
from theorem_lab.simulations.cifar.kd import kd_loss
from theorem_lab.simulations.store import ResultStore


def kd_reference(s, t, y, T, w):
    """(1 − w)·CE + w·T²·KL(p_t ‖ p_s), written out in numpy float64 from the definition."""
    s, t = np.asarray(s, np.float64), np.asarray(t, np.float64)

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)
    ce = -np.log(softmax(s)[np.arange(len(y)), y]).mean()
    p, q = softmax(t / T), softmax(s / T)
    kl = (p * (np.log(p) - np.log(q))).sum(1).mean()
    return (1 - w) * ce + w * T * T * kl


@pytest.mark.parametrize("T, w", [(1.0, 0.5), (4.0, 0.9), (2.5, 1.0), (3.0, 0.0)])
def test_kd_loss_equals_its_formula(T, w):
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(7, 5, generator=g) * 3, torch.randn(7, 5, generator=g) * 3
    y = torch.randint(0, 5, (7,), generator=g)
    got = kd_loss(s, t, y, T, w).item()
    assert got == pytest.approx(kd_reference(s, t, y.numpy(), T, w), rel=1e-5)


def test_kd_loss_soft_term_scales_with_T_squared_and_w0_is_ce():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    y = torch.randint(0, 4, (6,), generator=g)
    assert kd_loss(s, t, y, 3.0, 0.0).item() == pytest.approx(F.cross_entropy(s, y).item(), rel=1e-6)
    for T in (1.0, 2.0, 5.0):
        soft = kd_loss(s, t, y, T, 1.0).item()
        kl = F.kl_div(F.log_softmax(s / T, 1), F.log_softmax(t / T, 1), log_target=True,
                      reduction="batchmean").item()
        assert soft == pytest.approx(T * T * kl, rel=1e-5)
    assert kd_loss(s, s, y, 2.0, 1.0).item() == pytest.approx(0.0, abs=1e-6)   # KL(p ‖ p) = 0


def test_kd_loss_does_not_train_the_teacher():
    s = torch.randn(4, 3, requires_grad=True)
    t = torch.randn(4, 3, requires_grad=True)
    kd_loss(s, t, torch.tensor([0, 1, 2, 0]), 2.0, 0.7).backward()
    assert t.grad is None and s.grad is not None


TINY = ["cifar", "teacher-epochs", "--profile", "smoke", "--synthetic-train", "128",
        "--synthetic-test", "32", "--teacher-epochs", "2", "--at", "1,2", "--student-epochs", "1",
        "--batch-size", "32", "--no-progress", "--device", "cpu"]


@pytest.fixture(scope="module")
def te_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("te") / "run"
    assert main(TINY + ["--out", str(out), "--no-figure"]) == 0
    return out


def test_teacher_epochs_table_has_every_E_and_kept_teachers(te_run):
    s = json.loads((te_run / "teacher_epochs.json").read_text())
    assert [r["E"] for r in s["rows"]] == [1, 2] and s["teachers"] == "checkpoints"
    assert len(s["computed_now"]) == 1 + 2                     # one teacher, two students
    with ResultStore(te_run, readonly=True) as st:
        runs = {r["run_id"]: r for r in st.runs()}
        teacher = s["rows"][0]["teacher_run"]
        traj = st.trajectory(teacher)
    assert {r["teacher_run"] for r in s["rows"]} == {teacher}
    for e, row in zip((1, 2), s["rows"]):
        assert (te_run / teacher / f"epoch_{e}.pt").is_file()
        assert row["teacher_test_acc"] == traj["test_acc"][e - 1]  # the teacher's own accuracy at E
        student = runs[row["student_run"]]
        assert student["method"] == "kd" and student["config"]["teacher_epoch"] == e
        assert student["config"]["model"] == "cnn" and student["status"] == "finished"
        assert row["student_test_acc"] == student["summary"]["test_acc_last"]
    assert set(s["open"]) >= {"teacher_schedule", "kd_settings", "figure_numbers"}


def test_teacher_epochs_rerun_recomputes_nothing(te_run, capsys, monkeypatch):
    from theorem_lab.simulations.cifar import session
    def boom(*a, **k):
        raise AssertionError("recomputed")
    monkeypatch.setattr(session.Session, "run", boom)
    assert main(TINY + ["--out", str(te_run), "--no-figure", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["computed_now"] == []


def test_kept_weights_are_the_teacher_at_E(te_run):
    """The epoch-2 weights of a 2-epoch run are its final weights (the checkpoint's)."""
    s = json.loads((te_run / "teacher_epochs.json").read_text())
    d = te_run / s["rows"][0]["teacher_run"]
    final = torch.load(d / "checkpoint.pt", weights_only=False)["model"]
    kept = torch.load(d / "epoch_2.pt", weights_only=False)
    assert all(torch.equal(final[k], kept[k]) for k in final)
    early = torch.load(d / "epoch_1.pt", weights_only=False)
    assert any(not torch.equal(early[k], kept[k]) for k in kept if kept[k].is_floating_point())


def test_separate_teachers_have_full_schedules_and_new_students(te_run, capsys):
    checkpoints = json.loads((te_run / "teacher_epochs.json").read_text())
    assert main(TINY + ["--out", str(te_run), "--no-figure", "--json", "--teachers", "separate"]) == 0
    s = json.loads(capsys.readouterr().out)
    with ResultStore(te_run, readonly=True) as st:
        runs = {r["run_id"]: r for r in st.runs()}
    teachers = [runs[r["teacher_run"]] for r in s["rows"]]
    assert [t["config"]["epochs"] for t in teachers] == [1, 2]
    # the 2-epoch separate teacher is the checkpoints teacher itself (same config), and so is its
    # student: only the 1-epoch teacher and its student are new
    assert len(s["computed_now"]) == 1 + 1
    assert s["rows"][1] == checkpoints["rows"][1] and s["rows"][0] != checkpoints["rows"][0]
    assert s["rows"][1]["teacher_run"] in runs and s["teachers"] == "separate"


def test_teacher_figure_has_its_lines_and_labels(te_run):
    from theorem_lab.figures import style
    from theorem_lab.figures.teacher_figure import build, teacher_figure
    result = json.loads((te_run / "teacher_epochs.json").read_text())
    with style.context() as plt:
        fig = build(plt, result)
        (ax,) = fig.axes
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert len(labels) == 3 and labels[2].startswith("teacher")
        assert list(ax.lines[0].get_xdata()) == [1, 2]
        np.testing.assert_allclose(ax.lines[2].get_ydata(), [r["teacher_test_acc"] for r in result["rows"]])
        assert ax.get_xlabel().startswith("teacher epoch $E$") and ax.get_ylabel() == "test accuracy"
        plt.close(fig)
    assert sorted(p.suffix for p in teacher_figure(te_run)) == [".pdf", ".png"]


def test_student_run_id_depends_on_the_kd_settings():
    args = dict(teachers="checkpoints", at=(1,), teacher=None, student=None, profile="smoke")
    a = TE.student_extra(TE.TeacherEpochsConfig(temperature=2.0, soft_weight=0.5, **args), "t", 1)
    b = TE.student_extra(TE.TeacherEpochsConfig(temperature=3.0, soft_weight=0.5, **args), "t", 1)
    assert a != b and a["teacher_run"] == "t" and a["teacher_epoch"] == 1


def test_figures_command_redraws_a_teacher_epochs_store(te_run, capsys):
    (te_run / "teacher_epochs.png").unlink(missing_ok=True)
    assert main(["figures", str(te_run)]) == 0
    assert (te_run / "teacher_epochs.png").is_file()
    out = te_run.parent / "fig1"                      # --which, --format and --out apply too
    assert main(["figures", str(te_run), "--which", "teacher_epochs", "--format", "svg",
                 "--out", str(out)]) == 0
    assert out.with_suffix(".svg").stat().st_size > 0 and not out.with_suffix(".png").exists()
    assert main(["figures", str(te_run), "--which", "trajectories"]) == 0
    assert "trajectories: does not apply" in capsys.readouterr().err


def test_report_of_a_teacher_epochs_store(te_run, capsys):
    assert main(["report", str(te_run)]) == 0
    md = (te_run / "report.md").read_text()
    assert "| E | teacher test acc |" in md and md.count("\n| 1 |") == 1 and "teacher_epochs.png" in md
    assert "Settings the paper leaves open" in md
    assert "data:image/png;base64," in (te_run / "report.html").read_text()
