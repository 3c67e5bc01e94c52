"""Figure 1 of the paper from ``<run>/teacher_epochs.json`` (written by `cifar teacher-epochs`).

Test accuracy against the teacher epoch E: the student distilled from the teacher kept at E
(last epoch, solid; at its best noisy-validation epoch, dotted) and the teacher's own accuracy at
E (dashed) beside it; the best student's E marked. The paper's claim: the best student comes from
an early-stopped teacher (E = 80 of 200), although the teacher itself keeps improving.
"""

from __future__ import annotations

from . import style


def build(plt, result: dict):
    fig, ax = plt.subplots(figsize=style.size("one"))
    rows = result["rows"]
    E = [r["E"] for r in rows]
    ax.plot(E, [r["student_test_acc"] for r in rows], color=style.SERIES[3], marker="o", ms=4,
            label=f"student ({result['student_model']}), last epoch")
    ax.plot(E, [r["student_test_acc_at_best_val"] for r in rows], color=style.SERIES[3], ls=":",
            marker=".", ms=3, label="student, best noisy-val epoch")
    ax.plot(E, [r["teacher_test_acc"] for r in rows], color=style.SERIES[4], ls="--", marker="s",
            ms=4, label=f"teacher ({result['teacher_model']}) at $E$")
    ax.axvline(result["best_E"], color="0.6", lw=0.7, ls="-.")
    ax.set_xlabel(f"teacher epoch $E$ (of {result['teacher_epochs']}; teachers: "
                  f"{result['teachers']})")
    ax.set_ylabel("test accuracy")
    ax.set_xticks(E)
    ax.set_title(f"Figure 1: {result['dataset']}, KD $T$={result['temperature']:g}, "
                 f"$w$={result['soft_weight']:g} [{result['profile']}]", loc="left")
    ax.legend(fontsize=6, loc="best")
    fig.tight_layout()
    return fig


def teacher_figure(run_dir, stem=None) -> list:
    return style.save_from_json(build, run_dir, "teacher_epochs", stem)
