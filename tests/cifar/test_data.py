"""Readers on files in the real formats, their validation and their one-line error messages."""

import pickle

import numpy as np
import pytest

from theorem_lab.errors import ParameterError
from theorem_lab.simulations.cifar import data as D

from .files import cifar_batch, idx_bytes, write_cifar10, write_cifar100, write_mnist


@pytest.mark.parametrize("as_tar", [False, True])
def test_cifar10_folder_and_tarball(tmp_path, as_tar):
    write_cifar10(tmp_path, per_batch=6, as_tar=as_tar)
    d = D.load("cifar10", tmp_path)
    assert d.x_train.shape == (30, 3, 32, 32) and d.x_train.dtype == np.uint8
    assert d.x_test.shape == (6, 3, 32, 32) and d.classes == 10
    # order: data_batch_1 first, rows reshaped channel-major as the archive stores them
    b1 = cifar_batch(6, 10, 0)
    np.testing.assert_array_equal(d.x_train[:6].reshape(6, -1), b1[b"data"])
    np.testing.assert_array_equal(d.y_train[:6], b1[b"labels"])


def test_cifar10_folder_given_directly(tmp_path):
    folder = write_cifar10(tmp_path)
    assert D.load("cifar10", folder).x_train.shape[0] == 30


def test_cifar100_fine_labels(tmp_path):
    write_cifar100(tmp_path)
    d = D.load("cifar100", tmp_path)
    assert d.classes == 100 and d.y_train.max() < 100
    np.testing.assert_array_equal(d.y_train, cifar_batch(8, 100, 0, "fine_labels")[b"fine_labels"])


def test_missing_cifar_names_files_and_directory(tmp_path):
    with pytest.raises(ParameterError) as e:
        D.load("cifar10", tmp_path)
    msg = str(e.value)
    assert "data_batch_1" in msg and "test_batch" in msg and str(tmp_path) in msg
    assert "--download" in msg and "\n" not in msg


def test_restricted_unpickler_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("echo pwned",))
    folder = write_cifar10(tmp_path)
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": Evil()}, protocol=2))
    with pytest.raises(ParameterError, match="not allowed"):
        D.load("cifar10", tmp_path)


def test_cifar_wrong_shape_and_label_range(tmp_path):
    folder = write_cifar10(tmp_path)
    bad = cifar_batch(6, 10, 0)
    bad[b"data"] = bad[b"data"][:, :100]
    (folder / "data_batch_1").write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(ParameterError, match="3072"):
        D.load("cifar10", tmp_path)
    good = cifar_batch(6, 10, 0)
    good[b"labels"][0] = 10
    (folder / "data_batch_1").write_bytes(pickle.dumps(good, protocol=2))
    with pytest.raises(ParameterError, match=r"labels span \[0, 10\]"):
        D.load("cifar10", tmp_path)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_idx_with_and_without_gzip(tmp_path, gz, name):
    arrays = write_mnist(tmp_path, gz=gz)
    d = D.load(name, tmp_path)
    assert d.x_train.shape == (12, 1, 28, 28) and d.x_test.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(d.x_train[:, 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(d.y_test, arrays["t10k-labels-idx1-ubyte"])


def test_idx_torchvision_layout(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", gz=True)
    assert D.load("mnist", tmp_path).x_train.shape[0] == 12


def test_idx_bad_magic_truncated_and_missing(tmp_path):
    write_mnist(tmp_path)
    p = tmp_path / "train-images-idx3-ubyte"
    raw = bytearray(p.read_bytes())
    raw[2] = 0x0D   # float data type
    p.write_bytes(bytes(raw))
    with pytest.raises(ParameterError, match="magic number"):
        D.load("mnist", tmp_path)
    p.write_bytes(idx_bytes(np.zeros((12, 28, 28), np.uint8))[:-5])
    with pytest.raises(ParameterError, match="header says"):
        D.load("mnist", tmp_path)
    p.unlink()
    with pytest.raises(ParameterError, match="missing train-images-idx3-ubyte") as e:
        D.load("mnist", tmp_path)
    assert "t10k-labels-idx1-ubyte[.gz]" in str(e.value)


def test_idx_count_mismatch(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(11, np.uint8)))
    with pytest.raises(ParameterError, match="12 images but 11 labels"):
        D.load("mnist", tmp_path)


def test_synthetic_is_seeded_balanced_and_learnable():
    a = D.make_synthetic((1, 28, 28), 200, 50, seed=3)
    b = D.make_synthetic((1, 28, 28), 200, 50, seed=3)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.x_train.shape == (200, 1, 28, 28) and np.bincount(a.y_train).tolist() == [20] * 10
    # the class signal: nearest class mean (from training images) beats chance by far on test
    means = np.stack([a.x_train[a.y_train == c].astype(float).mean(0) for c in range(10)])
    d = ((a.x_test[:, None].astype(float) - means[None]) ** 2).sum(axis=(2, 3, 4))
    assert (d.argmin(1) == a.y_test).mean() > 0.8


def test_stratified_subset_keeps_proportions():
    y = np.repeat(np.arange(4), [40, 30, 20, 10])
    idx = D.stratified_subset(y, 50, seed=1)
    assert idx.size == 50 and np.unique(idx).size == 50
    assert np.bincount(y[idx]).tolist() == [20, 15, 10, 5]
    np.testing.assert_array_equal(idx, D.stratified_subset(y, 50, seed=1))
    assert not np.array_equal(idx, D.stratified_subset(y, 50, seed=2))
