"""Each model's forward shape (1/3 channels, 28/32 px) and its parameter count against the
published count (and, for Table 2's CNN, the count derived from the table)."""

import pytest
import torch

from theorem_lab.simulations.cifar import models as M


@pytest.mark.parametrize("name,published", sorted(M.PUBLISHED_PARAMS.items()))
def test_published_parameter_counts(name, published):
    n = M.count_params(M.build(name, 3, 10, 32))
    assert abs(n / 1e6 - published) / published < 0.01, n


def test_exact_counts():
    # ResNet-56 (option A): 853,018; WRN-28-10: 36,479,194 (Zagoruyko & Komodakis's code)
    assert M.count_params(M.build("resnet56", 3, 10, 32)) == 853_018
    assert M.count_params(M.build("wrn-28-10", 3, 10, 32)) == 36_479_194


def test_table2_cnn_count_from_the_table():
    convs = (3 * 9 * 32 + 32) + (32 * 9 * 64 + 64) + (64 * 9 * 128 + 128)
    bns = 2 * (32 + 64 + 128 + 512)
    fcs = (128 * 4 * 4 * 512 + 512) + (512 * 10 + 10)
    assert M.count_params(M.build("cnn", 3, 10, 32)) == convs + bns + fcs == 1_148_938


@pytest.mark.parametrize("name", [m for m in M.MODELS if m != "wrn-28-10"])
@pytest.mark.parametrize("ch,size", [(3, 32), (1, 28)])
def test_forward_shape(name, ch, size):
    model = M.build(name, ch, 7, size, width=8)
    model.eval()
    assert model(torch.zeros(2, ch, size, size)).shape == (2, 7)


def test_wrn_forward_small_input():
    model = M.build("wrn-28-10", 1, 10, 28)
    model.eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_shake_forward_alpha_backward_beta():
    b1 = torch.ones(4, 1, 1, 1, requires_grad=True)
    b2 = torch.zeros(4, 1, 1, 1, requires_grad=True)
    torch.manual_seed(0)
    out = M.shake(b1, b2, True)
    torch.manual_seed(0)
    alpha, beta = torch.rand(4, 1, 1, 1), torch.rand(4, 1, 1, 1)
    torch.testing.assert_close(out.detach(), alpha)          # α·1 + (1−α)·0
    out.sum().backward()
    torch.testing.assert_close(b1.grad, beta)                 # gradient through β
    torch.testing.assert_close(b2.grad, 1 - beta)
    torch.testing.assert_close(M.shake(b1, b2, False), 0.5 * torch.ones(4, 1, 1, 1))
