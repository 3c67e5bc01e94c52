"""The self-distillation target equals its formula and is detached; α_t follows its rule; the
baselines' losses equal their formulas."""

import math

import pytest
import torch
import torch.nn.functional as F

from theorem_lab.schedules import parse_schedule
from theorem_lab.simulations.cifar import methods as Me


def _logits():
    torch.manual_seed(0)
    return torch.randn(6, 4, requires_grad=True), torch.tensor([0, 1, 2, 3, 0, 1])


@pytest.mark.parametrize("h", ["hardmax", "softmax"])
def test_distill_target_formula_and_detached(h):
    z, y = _logits()
    t = Me.distill_target(z, F.one_hot(y, 4).float(), 0.3, h, 2.0)
    hz = F.one_hot(z.argmax(1), 4).float() if h == "hardmax" else F.softmax(z.detach() / 2.0, 1)
    torch.testing.assert_close(t, 0.3 * F.one_hot(y, 4).float() + 0.7 * hz)
    assert not t.requires_grad


def test_adaptive_alpha_rule_and_clip():
    acc = torch.tensor(0.75)
    assert Me.adaptive_alpha(acc, 1.0, True).item() == pytest.approx(0.25)
    assert Me.adaptive_alpha(acc, 1.5, True).item() == 0.0
    assert Me.adaptive_alpha(acc, 1.5, False).item() == pytest.approx(1 - 1.125)


def test_self_distill_loss_uses_batch_accuracy():
    z, y = _logits()
    acc = (z.argmax(1) == y).float().mean().item()
    cfg = Me.MethodConfig("self-distill", lam=1.0)
    loss, a, got_acc = Me.loss_fn(cfg, z, y, 0)
    assert got_acc.item() == pytest.approx(acc) and a.item() == pytest.approx(1 - acc)
    target = (1 - acc) * F.one_hot(y, 4) + acc * F.one_hot(z.argmax(1), 4)
    expected = -(target * F.log_softmax(z, 1)).sum(1).mean()
    torch.testing.assert_close(loss, expected)
    # gradient = softmax − target (the target is a constant)
    loss.backward()
    torch.testing.assert_close(z.grad, (F.softmax(z.detach(), 1) - target) / 6)


def test_self_distill_mse_and_fixed_schedule():
    z, y = _logits()
    sched = parse_schedule("linear:start=0,end=10", 10)
    cfg = Me.MethodConfig("self-distill", alpha=sched, loss="mse", h="softmax", temperature=0.5)
    loss, a, _ = Me.loss_fn(cfg, z, y, 4)
    assert a.item() == pytest.approx(0.6)
    target = 0.6 * F.one_hot(y, 4) + 0.4 * F.softmax(z.detach() / 0.5, 1)
    torch.testing.assert_close(loss, 0.5 * ((z - target) ** 2).sum(1).mean())


def test_ce_bootstrap_gce_formulas():
    z, y = _logits()
    q = F.softmax(z, 1)
    torch.testing.assert_close(Me.loss_fn(Me.MethodConfig("ce"), z, y, 0)[0], F.cross_entropy(z, y))
    soft = Me.loss_fn(Me.MethodConfig("bootstrap", beta=0.95), z, y, 0)[0]
    torch.testing.assert_close(soft, -((0.95 * F.one_hot(y, 4) + 0.05 * q) * q.log()).sum(1).mean())
    hard = Me.loss_fn(Me.MethodConfig("bootstrap", beta=0.8, bootstrap="hard"), z, y, 0)[0]
    zt = F.one_hot(z.argmax(1), 4)
    torch.testing.assert_close(hard, -((0.8 * F.one_hot(y, 4) + 0.2 * zt) * q.log()).sum(1).mean())
    g = Me.loss_fn(Me.MethodConfig("gce", q=0.7), z, y, 0)[0]
    py = q[torch.arange(6), y]
    torch.testing.assert_close(g, ((1 - py ** 0.7) / 0.7).mean())
    assert math.isfinite(g.item())
