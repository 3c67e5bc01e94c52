"""Label-noise properties (hypothesis): exact counts, realised rates, the asymmetric map,
determinism by noise seed; the CIFAR-N file reader."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from theorem_lab.errors import ParameterError
from theorem_lab.simulations.cifar import noise as N

from ..conftest import examples

labels = st.builds(lambda n, c, s: (np.random.default_rng(s).integers(0, c, n), c),
                   st.integers(20, 400), st.integers(2, 12), st.integers(0, 10_000))
rates = st.floats(0.0, 0.95)


@settings(max_examples=examples(25))
@given(labels, rates, st.integers(0, 100))
def test_uniform_other_flips_exactly_round_pn(yc, p, seed):
    y, c = yc
    out = N.symmetric(y, c, p, seed, "uniform-other")
    assert (out != y).sum() == round(p * y.size)
    assert out.min() >= 0 and out.max() < c


@settings(max_examples=examples(25))
@given(labels, rates, st.integers(0, 100))
def test_uniform_all_redraws_round_pn_and_keeps_the_rest(yc, p, seed):
    y, c = yc
    out = N.symmetric(y, c, p, seed, "uniform-all")
    assert (out != y).sum() <= round(p * y.size)
    np.testing.assert_array_equal(out, N.symmetric(y, c, p, seed, "uniform-all"))


def test_uniform_all_realised_rate_is_p_times_c_minus_1_over_c():
    y = np.random.default_rng(0).integers(0, 10, 50_000)
    rate = (N.symmetric(y, 10, 0.4, 1, "uniform-all") != y).mean()
    assert abs(rate - 0.4 * 9 / 10) < 0.01            # 0.36; sd of the estimate ≈ 0.003
    assert abs((N.symmetric(y, 10, 0.4, 1, "uniform-other") != y).mean() - 0.4) < 1e-4


@settings(max_examples=examples(25))
@given(st.integers(0, 1000), rates)
def test_asymmetric_cifar10_map(seed, p):
    y = np.repeat(np.arange(10), 50)
    out = N.apply(y, 10, "cifar10", "asymmetric", p, seed)
    mapping = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
    for c in range(10):
        changed = out[y == c] != c
        if c in mapping:
            assert changed.sum() == round(p * 50)
            assert set(out[y == c][changed]) <= {mapping[c]}
        else:
            assert not changed.any()


def test_cat_dog_swap_is_not_sequential():
    y = np.repeat(np.arange(10), 100)
    out = N.apply(y, 10, "cifar10", "asymmetric", 0.5, 0)
    # both directions flipped from the original labels: 50 cats became dogs and 50 dogs cats
    assert ((y == 3) & (out == 5)).sum() == 50 and ((y == 5) & (out == 3)).sum() == 50


def test_pairflip():
    y = np.repeat(np.arange(5), 20)
    out = N.apply(y, 5, "synthetic", "pairflip", 0.3, 0)
    flipped = out != y
    assert flipped.sum() == 30
    np.testing.assert_array_equal(out[flipped], (y[flipped] + 1) % 5)


@given(st.integers(0, 50), st.integers(51, 100))
@settings(max_examples=examples(10))
def test_noise_depends_on_noise_seed_only(s1, s2):
    y = np.random.default_rng(0).integers(0, 10, 500)
    a = N.apply(y, 10, "cifar10", "symmetric", 0.4, s1)
    np.testing.assert_array_equal(a, N.apply(y, 10, "cifar10", "symmetric", 0.4, s1))
    assert not np.array_equal(a, N.apply(y, 10, "cifar10", "symmetric", 0.4, s2))


def test_report_transition_matrix():
    y = np.array([0, 0, 0, 0, 1, 1])
    r = N.report(y, np.array([0, 0, 1, 1, 1, 0]), 2)
    assert r["realised_rate"] == pytest.approx(0.5)
    assert r["transition"] == [[0.5, 0.5], [0.5, 0.5]]


def test_validation_messages():
    with pytest.raises(ParameterError, match=r"'noise_rate'.*\[0, 1\)"):
        N.validate("symmetric", 1.0, "cifar10")
    with pytest.raises(ParameterError, match="'noise_type'.*asymmetric with cifar100"):
        N.validate("asymmetric", 0.2, "cifar100")
    with pytest.raises(ParameterError, match="'noise_file'"):
        N.validate("human", 0.0, "cifar10")


def test_cifar_n_file_torch_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    d = {"clean_label": rng.integers(0, 10, 30), "worse_label": rng.integers(0, 10, 30),
         "aggre_label": rng.integers(0, 10, 30)}
    pt = tmp_path / "CIFAR-10_human.pt"
    torch.save(d, pt)   # the released files: a dict of numpy arrays saved with torch.save
    np.testing.assert_array_equal(N.load_human(pt, "worse_label", 30, 10), d["worse_label"])
    npz = tmp_path / "labels.npz"
    np.savez(npz, **d)
    np.testing.assert_array_equal(N.load_human(npz, "aggre_label", 30, 10), d["aggre_label"])
    with pytest.raises(ParameterError, match="'noise_key'.*aggre_label.*Got 'random_label9'"):
        N.load_human(pt, "random_label9", 30, 10)
    with pytest.raises(ParameterError, match="length 31"):
        N.load_human(pt, "worse_label", 31, 10)
    with pytest.raises(ParameterError, match=r"labels in \[0, 5\)"):
        N.load_human(pt, "worse_label", 30, 5)


def test_cifar_n_file_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("echo pwned",))
    pt = tmp_path / "evil.pt"
    torch.save({"worse_label": Evil()}, pt)
    with pytest.raises(ParameterError, match="readable label dict"):
        N.load_human(pt, "worse_label", 1, 10)
