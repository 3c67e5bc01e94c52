"""Figure 1 of the paper (§2.1): does an early-stopped teacher make a better student?

A teacher (WRN-28-10 on CIFAR-100 in the paper) is kept at epochs E ∈ {40, 80, 120, 160, 200};
the Table 2 CNN is distilled from each kept teacher with Hinton et al.'s loss (``kd.kd_loss``,
temperature T, soft weight w); the output is the student's test accuracy against E with the
teacher's own test accuracy at E beside it.

"The teacher model was trained by 40, 80, … epochs" has two readings, both offered:

    checkpoints  one run of the full schedule (E_max epochs), its weights kept after each E: the
                 teacher at E is the full-schedule run stopped early (its learning rate not yet
                 annealed). The early-stopping reading; the default.
    separate     one run per E with a complete schedule of E epochs (annealed to 0 at E).

Every teacher and every student is a stored, resumable ``Session`` of the training engine in the
same store (``<out>/results.sqlite``); a student's run_id hashes its own config with the teacher's
run_id, E, T and w, so a rerun finds it and recomputes nothing.

What the paper leaves open (recorded with every result, ``OPEN``): the teacher's schedule and
learning rate (we use the engine's cosine schedule), WRN-28's width (WRN-28-10 here), the
student's schedule, T and w, augmentation of the student's inputs (we augment; the teacher sees
the same augmented batch), and Table 2's output size (10 printed; 100 for CIFAR-100 here). The
paper prints no numbers for Figure 1, only that the teacher at 80 epochs gives the best student.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from theorem_lab.errors import ParameterError
from theorem_lab.simulations.store import ResultStore

from .config import TrainConfig
from .data import CLASSES
from .kd import kd_step_loss
from .models import build
from .record import load_checkpoint
from .session import Session

TEACHER_MODES = ("checkpoints", "separate")
DEFAULT_TEACHERS = "checkpoints"   # the early-stopping reading of §2.1

# Profiles: (teacher TrainConfig values, student TrainConfig values, the rest). Every value can be
# overridden by its option; ``COST`` says what each costs.
PROFILES = {
    "paper": {"dataset": "cifar100", "at": (40, 80, 120, 160, 200), "temperature": 4.0,
              "soft_weight": 0.9,
              "teacher": {"model": "wrn-28-10", "epochs": 200, "batch_size": 128, "lr": 0.1,
                          "weight_decay": 5e-4, "warmup_epochs": 0.0},
              "student": {"model": "cnn", "epochs": 60, "batch_size": 128, "lr": 0.05,
                          "weight_decay": 5e-4, "warmup_epochs": 0.0}},
    "fast": {"dataset": "cifar100", "at": (6, 12, 18, 24, 30), "temperature": 4.0,
             "soft_weight": 0.9,
             "teacher": {"model": "fast", "width": 64, "epochs": 30, "batch_size": 512, "lr": 0.2,
                         "weight_decay": 5e-4, "warmup_epochs": 1.0},
             "student": {"model": "cnn", "epochs": 15, "batch_size": 256, "lr": 0.05,
                         "weight_decay": 5e-4, "warmup_epochs": 0.0}},
    "smoke": {"dataset": "synthetic", "at": (2, 4), "temperature": 4.0, "soft_weight": 0.9,
              "synthetic_train": 384, "synthetic_test": 128,
              "teacher": {"model": "fast", "width": 8, "epochs": 4, "batch_size": 64, "lr": 0.1,
                          "weight_decay": 5e-4, "warmup_epochs": 0.0},
              "student": {"model": "cnn", "epochs": 2, "batch_size": 64, "lr": 0.05,
                          "weight_decay": 5e-4, "warmup_epochs": 0.0}},
}
COST = {   # estimates from the work counted (not measured here: no GPU was available)
    "paper": "200 WRN-28-10 epochs on CIFAR-100 (36.5 M parameters; roughly 1-3 hours on one "
             "H100-class GPU, estimated) + 5 students x 60 epochs of the Table 2 CNN (minutes); "
             "--teachers separate trains 40+80+120+160+200 = 600 teacher epochs (3x)",
    "fast": "30 fast-net epochs on CIFAR-100 + 5 x 15 CNN epochs: minutes on one GPU (estimated)",
    "smoke": "synthetic images, a width-8 fast net, 2-epoch CNN students: about a minute on a CPU",
}
OPEN = {
    "teacher_schedule": "the paper gives no teacher schedule: cosine learning rate from lr to 0 "
                        "over the teacher's epochs, SGD momentum 0.9 (the engine's)",
    "teacher_width": "'WRN-28' without a widening factor; WRN-28-10 (issue 12)",
    "student_schedule": "not given: the student profile's epochs, lr, cosine schedule",
    "kd_settings": "T and w not given; Hinton et al.'s loss with the options' T and w",
    "student_output": "Table 2 prints 10 outputs; CIFAR-100 needs 100 (we use the data's classes)",
    "augmentation": "students train on pad-4 crops and flips; the teacher sees the same batch",
    "figure_numbers": "the paper prints no numbers for Figure 1 (only: E = 80 gave the best student)",
}


@dataclass(frozen=True)
class TeacherEpochsConfig:
    profile: str
    teachers: str                 # 'checkpoints' or 'separate'
    at: tuple                     # the teacher epochs E
    temperature: float            # T of the distillation loss
    soft_weight: float            # w of the soft loss
    teacher: TrainConfig          # the full-schedule teacher ('separate': epochs set to each E)
    student: TrainConfig          # the student (same data, split and seed as the teacher)


def input_shape(cfg: TrainConfig) -> tuple:
    """(channels, pixels, classes) of ``cfg``'s data set, known without reading it."""
    if cfg.dataset == "synthetic":
        c, h, _ = cfg.shape
        return c, h, CLASSES["synthetic"]
    return (3, 32, CLASSES[cfg.dataset]) if cfg.dataset.startswith("cifar") else (1, 28, 10)


def teacher_configs(cfg: TeacherEpochsConfig) -> list:
    """[(TrainConfig, [E kept by it])]: one full-schedule run, or one run per E."""
    if cfg.teachers == "checkpoints":
        return [(replace(cfg.teacher, keep_epochs=tuple(cfg.at)), list(cfg.at))]
    return [(replace(cfg.teacher, epochs=e, keep_epochs=(e,)), [e]) for e in cfg.at]


def _stored(store: ResultStore, session: Session, epochs=()) -> "dict | None":
    """The stored, finished record of ``session`` (with its rows) if its kept weights exist."""
    if session.run_id not in store.final_ids():
        return None
    if not all(session.weights_path(e).is_file() for e in epochs):
        return None
    (rec,) = store.runs([session.run_id])
    traj = store.trajectory(session.run_id)
    rec["rows"] = [dict(zip(traj, vals)) for vals in zip(*traj.values())]
    return rec


def ensure(session: Session, epochs=(), on_row=lambda row: None) -> tuple[dict, bool]:
    """(record, computed): the stored record, or run (resume) the session and store it."""
    with ResultStore(session.cfg.out) as store:
        rec = _stored(store, session, epochs)
    if rec is not None:
        return rec, False
    return session.run(on_row), True


def load_teacher(cfg: TrainConfig, path) -> torch.nn.Module:
    c, h, classes = input_shape(cfg)
    model = build(cfg.model, c, classes, h, cfg.width)
    model.load_state_dict(load_checkpoint(path))
    model = model.to(cfg.device)
    if cfg.device == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model.eval()


def student_extra(cfg: TeacherEpochsConfig, teacher_run: str, epoch: int) -> dict:
    """What a student depends on beyond its own config: the teacher's weights (run, E) and the
    KD settings. Not the reading: the last E's teacher is the same run under both, so is its
    student."""
    return {"method": "kd", "teacher_run": teacher_run, "teacher_epoch": int(epoch),
            "kd_temperature": cfg.temperature, "kd_soft_weight": cfg.soft_weight}


def run(cfg: TeacherEpochsConfig, log=lambda line: None) -> dict:
    """Teachers, then one student per E; returns the table rows and what was (re)computed."""
    teachers = {}                                              # E -> (session, teacher acc at E)
    computed = []
    for tcfg, kept in teacher_configs(cfg):
        session = Session(tcfg)
        log(f"teacher {session.run_id}: {tcfg.model}, {tcfg.epochs} epochs, keeps E = {kept}")
        rec, did = ensure(session, kept)
        computed += [session.run_id] if did else []
        missing = [e for e in kept if not session.weights_path(e).is_file()]
        if missing:      # a run finished before by `cifar train`, which kept no weights
            raise ParameterError(f"The '--out' parameter of cifar teacher-epochs must be a folder "
                                 f"whose teacher run {session.run_id} kept its weights at E = "
                                 f"{missing}. Got {tcfg.out!r} instead (that run finished without "
                                 "them); choose another --out.")
        acc = {int(r["step"]): r["test_acc"] for r in rec["rows"]}
        for e in kept:
            teachers[e] = (session, acc[e])
    rows = []
    for e in cfg.at:
        t_session, t_acc = teachers[e]
        extra = student_extra(cfg, t_session.run_id, e)
        probe = Session(cfg.student, extra)
        with ResultStore(cfg.student.out) as store:
            rec = _stored(store, probe)
        if rec is None:
            teacher = load_teacher(t_session.cfg, t_session.weights_path(e))
            log(f"student of the teacher at E = {e}: {cfg.student.model}, {cfg.student.epochs} epochs")
            rec = Session(cfg.student, extra, kd_step_loss(teacher, cfg.temperature,
                                                           cfg.soft_weight)).run()
            computed.append(probe.run_id)
        s = rec["summary"]
        rows.append({"E": int(e), "teacher_run": t_session.run_id, "student_run": probe.run_id,
                     "teacher_test_acc": t_acc, "student_test_acc": s["test_acc_last"],
                     "student_test_acc_at_best_val": s["test_acc_at_best_val"]})
    best = max(rows, key=lambda r: r["student_test_acc"])
    return {"rows": rows, "computed": computed, "best_E": best["E"]}


def summary(cfg: TeacherEpochsConfig, result: dict, out: str) -> dict:
    """The JSON written to ``<out>/teacher_epochs.json`` (what the figure reads)."""
    return {"experiment": "teacher-epochs", "profile": cfg.profile, "teachers": cfg.teachers,
            "E": list(cfg.at), "temperature": cfg.temperature, "soft_weight": cfg.soft_weight,
            "dataset": cfg.teacher.dataset, "teacher_model": cfg.teacher.model,
            "teacher_epochs": cfg.teacher.epochs, "student_model": cfg.student.model,
            "student_epochs": cfg.student.epochs, "rows": result["rows"],
            "best_E": result["best_E"], "paper": {"best_E": 80, "source": "§2.1 of the paper"},
            "open": OPEN, "computed_now": result["computed"], "store": str(out),
            "note": ("the paper's setting" if cfg.profile == "paper" else
                     "NOT the paper's setting (smaller networks and schedules)")}
