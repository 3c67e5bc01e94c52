"""Small data files in the real formats, written by the tests: CIFAR pickled batches (folder and
.tar.gz), IDX with and without gzip, a CIFAR-N-style label file."""

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np


def cifar_batch(n, classes, seed, label_key="labels"):
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"testing batch", label_key.encode(): rng.integers(0, classes, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [f"img_{i}.png".encode() for i in range(n)]}


def write_cifar10(root: Path, per_batch=6, as_tar=False) -> Path:
    """cifar-10-batches-py/ with data_batch_1..5 and test_batch (protocol 2, as the originals)."""
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    blobs = {n: pickle.dumps(cifar_batch(per_batch, 10, i), protocol=2) for i, n in enumerate(names)}
    if as_tar:
        path = root / "cifar-10-python.tar.gz"
        with tarfile.open(path, "w:gz") as tar:
            for n, b in blobs.items():
                info = tarfile.TarInfo(f"cifar-10-batches-py/{n}")
                info.size = len(b)
                tar.addfile(info, io.BytesIO(b))
        return path
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for n, b in blobs.items():
        (folder / n).write_bytes(b)
    return folder


def write_cifar100(root: Path, n=8) -> Path:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    for i, name in enumerate(("train", "test")):
        batch = cifar_batch(n, 100, i, "fine_labels")
        batch[b"coarse_labels"] = [0] * n
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


def idx_bytes(arr: np.ndarray) -> bytes:
    return struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write_mnist(root: Path, n_train=12, n_test=5, gz=False, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8)}
    root.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        raw = idx_bytes(arr)
        if gz:
            (root / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (root / name).write_bytes(raw)
    return arrays
