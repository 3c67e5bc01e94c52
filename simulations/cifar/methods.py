"""Losses of the methods compared, as pure functions of (logits, observed labels, settings).

    ce            cross entropy on the observed labels y
    self-distill  Algorithm 1 as the paper runs it: target ŷ = α_t·y + (1 − α_t)·h(f), detached,
                  with h = hardmax or softmax(f/T); α_t adaptive, 1 − α_t = λ·(accuracy on the
                  current batch), or a fixed schedule of ``theorem_lab.schedules`` in SGD steps;
                  loss CE against ŷ, or MSE ½‖f − ŷ‖² on the logits (the theory's loss)
    bootstrap     Reed et al. (2015): soft, −Σ (β·y + (1−β)·q)·log q; hard, q replaced by the
                  one-hot argmax
    gce           generalized cross entropy (Zhang & Sabuncu 2018): (1 − q_y^q)/q

With λ > 1 the printed rule gives α_t < 0 once the batch accuracy exceeds 1/λ; ``alpha_clip``
(default on) clips α_t to [0, 1]. The run records which.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from theorem_lab.schedules import Schedule

METHODS = ("ce", "self-distill", "bootstrap", "gce")
LABEL_FUNCTIONS = ("hardmax", "softmax")
LOSSES = ("ce", "mse")
BOOTSTRAP_MODES = ("soft", "hard")


@dataclass(frozen=True)
class MethodConfig:
    name: str = "ce"
    h: str = "hardmax"            # h(·) of the self-distillation target
    temperature: float = 1.0      # T of softmax(f/T)
    lam: float = 1.0              # λ of the adaptive rule 1 − α_t = λ·acc
    alpha: "Schedule | None" = None   # a fixed α_t schedule (SGD steps); None = adaptive
    alpha_clip: bool = True       # clip α_t to [0, 1]
    loss: str = "ce"              # ce or mse (self-distill)
    beta: float = 0.95            # bootstrap β
    bootstrap: str = "soft"
    q: float = 0.7                # gce q


def h_target(logits: torch.Tensor, h: str, temperature: float) -> torch.Tensor:
    """h(f): hardmax = one-hot argmax, softmax = softmax(f/T). (n, C)."""
    if h == "hardmax":
        return F.one_hot(logits.argmax(1), logits.shape[1]).to(logits.dtype)
    return F.softmax(logits / temperature, dim=1)


def adaptive_alpha(batch_acc: torch.Tensor, lam: float, clip: bool) -> torch.Tensor:
    """α_t = 1 − λ·acc (clipped to [0, 1] when ``clip``); a 0-d tensor, so no host sync."""
    a = 1.0 - lam * batch_acc
    return a.clamp(0.0, 1.0) if clip else a


def alpha_t(cfg: MethodConfig, step: int, batch_acc: torch.Tensor) -> torch.Tensor:
    if cfg.alpha is None:
        return adaptive_alpha(batch_acc, cfg.lam, cfg.alpha_clip)
    return torch.full_like(batch_acc, cfg.alpha.alpha(step))


def distill_target(logits: torch.Tensor, y_onehot: torch.Tensor, alpha, h: str,
                   temperature: float) -> torch.Tensor:
    """ŷ_t = α_t·y + (1 − α_t)·h(f), detached from the graph (Algorithm 1)."""
    return (alpha * y_onehot + (1.0 - alpha) * h_target(logits.detach(), h, temperature)).detach()


def soft_ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of −Σ_c target_c·log softmax(f)_c."""
    return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()


def loss_fn(cfg: MethodConfig, logits: torch.Tensor, y: torch.Tensor, step: int):
    """(loss, α_t, batch accuracy on y), all 0-d tensors on the logits' device (no host sync).

    α_t is 1 for ce and gce (the target is y), β for bootstrap. Logits are taken in float32.
    """
    logits = logits.float()
    batch_acc = (logits.detach().argmax(1) == y).float().mean()
    one = torch.ones_like(batch_acc)
    C = logits.shape[1]
    onehot = F.one_hot(y, C).float()
    if cfg.name == "ce":
        return F.cross_entropy(logits, y), one, batch_acc
    if cfg.name == "self-distill":
        a = alpha_t(cfg, step, batch_acc)
        target = distill_target(logits, onehot, a, cfg.h, cfg.temperature)
        if cfg.loss == "mse":
            return 0.5 * ((logits - target) ** 2).sum(1).mean(), a, batch_acc
        return soft_ce(logits, target), a, batch_acc
    if cfg.name == "bootstrap":
        q = F.softmax(logits, dim=1)
        if cfg.bootstrap == "hard":
            q = F.one_hot(logits.detach().argmax(1), C).float()
        return soft_ce(logits, cfg.beta * onehot + (1.0 - cfg.beta) * q), one * cfg.beta, batch_acc
    p_y = F.softmax(logits, dim=1).gather(1, y.view(-1, 1)).squeeze(1).clamp_min(1e-12)
    return ((1.0 - p_y ** cfg.q) / cfg.q).mean(), one, batch_acc
