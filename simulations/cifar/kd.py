"""Knowledge distillation (Hinton, Vinyals & Dean 2015), the loss of the Figure 1 students.

    L = (1 − w) · CE(softmax(s), y) + w · T² · KL(softmax(t/T) ‖ softmax(s/T))

with s the student's logits, t the teacher's (fixed), y the labels, T the temperature and w the
weight of the soft loss. The T² keeps the soft term's gradient on the scale of the hard one's as T
grows (Hinton et al. §2). w = 0 is plain cross entropy; w = 1 learns from the teacher alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .train import autocast


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, y: torch.Tensor, temperature: float,
            soft_weight: float) -> torch.Tensor:
    """Mean over the batch of (1 − w)·CE(s, y) + w·T²·KL(softmax(t/T) ‖ softmax(s/T)).

    ``student``, ``teacher``: logits (n, C); ``y``: labels (n,); T = ``temperature`` > 0,
    w = ``soft_weight`` ∈ [0, 1]. The teacher is detached. KL(p ‖ q) = Σ_c p_c (log p_c − log q_c).
    """
    s = student.float()
    log_p = F.log_softmax(teacher.detach().float() / temperature, dim=1)        # teacher, (n, C)
    log_q = F.log_softmax(s / temperature, dim=1)                               # student, (n, C)
    kl = (log_p.exp() * (log_p - log_q)).sum(1).mean()
    return (1.0 - soft_weight) * F.cross_entropy(s, y) + soft_weight * temperature ** 2 * kl


def kd_step_loss(teacher_model, temperature: float, soft_weight: float):
    """The ``train`` loop's loss hook for a student: the teacher (eval mode, no gradient) sees the
    same augmented batch as the student. Returns (loss, α_t, batch accuracy) like ``loss_fn``;
    α_t is reported as 1 − w (the weight of the hard labels)."""
    teacher_model.eval()

    def loss(logits, xb, y, step):
        with torch.no_grad(), autocast(xb.device.type):
            t = teacher_model(xb)
        acc = (logits.detach().argmax(1) == y).float().mean()
        return kd_loss(logits, t, y, temperature, soft_weight), torch.full_like(acc, 1.0 - soft_weight), acc
    return loss
