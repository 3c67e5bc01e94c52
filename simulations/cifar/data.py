"""Image data sets as uint8 arrays: CIFAR-10/100 python archives, (Fashion-)MNIST IDX files, and
a synthetic set of the same shapes with a learnable class signal.

Every reader validates what it reads (magic numbers, shapes, label range) and, when a file is
missing or malformed, raises one ``ParameterError`` line naming the expected files and the
directory searched. The CIFAR batches are pickles: they are read by a restricted unpickler that
admits only the plain types they contain (dict, list, bytes, str, int and numpy arrays), so a
crafted file cannot run code.
"""

from __future__ import annotations

import gzip
import io
import pickle
import re
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from theorem_lab.errors import ParameterError, check_int

DATASETS = ("cifar10", "cifar100", "fashion-mnist", "mnist", "synthetic")
CLASSES = {"cifar10": 10, "cifar100": 100, "fashion-mnist": 10, "mnist": 10, "synthetic": 10}
CIFAR_FILES = {
    "cifar10": ("cifar-10-batches-py", "cifar-10-python.tar.gz",
                [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels"),
    "cifar100": ("cifar-100-python", "cifar-100-python.tar.gz", ["train"], ["test"], b"fine_labels"),
}
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
IDX_SUBDIRS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}   # torchvision's <dir>/<X>/raw


@dataclass
class ImageData:
    """A labelled image set. Images are uint8 (N, C, H, W); labels int64 true classes in [0, C)."""

    name: str
    x_train: np.ndarray   # (n, C, H, W) uint8
    y_train: np.ndarray   # (n,) int64, the true (clean) labels
    x_test: np.ndarray    # (m, C, H, W) uint8
    y_test: np.ndarray    # (m,) int64
    classes: int

    @property
    def shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])


def for_command(exc: ParameterError, owner: str, download: bool = True) -> ParameterError:
    """A missing-data error (``_bad``, written for 'cifar train') as the error of the command that
    was run (``owner``: 'cifar ntk-air', 'cifar teacher-epochs'), which has the same --data-dir.
    ``download``: whether that command has --download; without it the advice names the command
    that fetches the files."""
    text = str(exc).replace("The '--data-dir' parameter of cifar train ",
                            f"The '--data-dir' parameter of {owner} ", 1)
    if not download:
        found = re.search(r"must hold the (\S+) files", text)
        dataset = found.group(1) if found else "DATASET"
        text = text.replace("Pass --download or point", "Fetch them with 'theorem-lab cifar train "
                            f"--dataset {dataset} --data-dir DIR --download' or point", 1)
    return ParameterError(text)


def _bad(dataset: str, directory, expected: str, why: str = "") -> ParameterError:
    why = f" ({why})" if why else ""
    return ParameterError(f"The '--data-dir' parameter of cifar train must hold the {dataset} files "
                          f"{expected}{why}; searched {directory}. Pass --download or point "
                          f"--data-dir at the folder that holds them.")


# --- CIFAR python archives -----------------------------------------------------------------

class _CifarUnpickler(pickle.Unpickler):
    """Admit only what a CIFAR batch holds: builtins containers and numpy arrays."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"),
               ("_codecs", "encode")}   # how Python 3 protocol-2 pickles write bytes (harmless)

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")


def read_cifar_batch(raw: bytes, label_key: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One pickled CIFAR batch -> (images (n, 3, 32, 32) uint8, labels (n,) int64)."""
    try:
        batch = _CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:   # a pickle error of any kind: not a CIFAR batch
        raise ValueError(f"{where} is not a CIFAR batch: {exc}") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{where} is not a CIFAR batch: a {type(batch).__name__}, not a dict")
    batch = {k.encode() if isinstance(k, str) else k: v for k, v in batch.items()}
    if b"data" not in batch or label_key not in batch:
        raise ValueError(f"{where} lacks the keys 'data' and {label_key.decode()!r}")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{where}: 'data' must be uint8 (n, 3072); got {data.dtype} {data.shape}")
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{where}: {labels.shape[0]} labels for {data.shape[0]} images")
    return data.reshape(-1, 3, 32, 32), labels


def _cifar_members(dataset: str, directory: Path) -> dict:
    """{member name: bytes} from the extracted folder or the .tar.gz, whichever is there."""
    folder, archive, train, test, _ = CIFAR_FILES[dataset]
    names = train + test
    for d in (directory, directory / folder):
        if all((d / n).is_file() for n in names):
            return {n: (d / n).read_bytes() for n in names}
    tar_path = directory / archive
    if tar_path.is_file():
        try:
            with tarfile.open(tar_path, "r:gz") as tar:
                found = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
                if all(n in found for n in names):
                    return {n: tar.extractfile(found[n]).read() for n in names}
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise _bad(dataset, directory, f"{archive} (a gzipped tar)", str(exc)) from None
    raise _bad(dataset, directory, f"{', '.join(names)} (in {folder}/ or {archive})")


def read_cifar(dataset: str, directory) -> ImageData:
    directory = Path(directory)
    _, _, train, test, key = CIFAR_FILES[dataset]
    members = _cifar_members(dataset, directory)
    parts = {}
    for split, names in (("train", train), ("test", test)):
        try:
            xs, ys = zip(*(read_cifar_batch(members[n], key, n) for n in names))
        except ValueError as exc:
            raise _bad(dataset, directory, ", ".join(train + test), str(exc)) from None
        parts[split] = (np.concatenate(xs), np.concatenate(ys))
    data = ImageData(dataset, *parts["train"], *parts["test"], CLASSES[dataset])
    return validate_labels(data, directory)


# --- IDX ((Fashion-)MNIST) -----------------------------------------------------------------

def read_idx(raw: bytes, ndim: int, where: str) -> np.ndarray:
    """An IDX file (gzipped or not) of unsigned bytes with ``ndim`` dimensions."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{where}: broken gzip stream ({exc})") from None
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{where}: {len(raw)} bytes, shorter than an IDX header")
    zero, dtype, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or dims != ndim:
        raise ValueError(f"{where}: magic number {raw[:4].hex()} is not an IDX{ndim} ubyte file "
                         f"(expected 000008{ndim:02x})")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{where}: header says {shape} = {int(np.prod(shape))} bytes, file has {body.size}")
    return body.reshape(shape).copy()


def _idx_path(directory: Path, dataset: str, name: str) -> "Path | None":
    for d in (directory, directory / IDX_SUBDIRS[dataset] / "raw", directory / dataset):
        for candidate in (d / name, d / (name + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def read_mnist(dataset: str, directory) -> ImageData:
    directory = Path(directory)
    paths = [_idx_path(directory, dataset, n) for n in IDX_FILES]
    expected = ", ".join(f"{n}[.gz]" for n in IDX_FILES)
    if any(p is None for p in paths):
        missing = [n for n, p in zip(IDX_FILES, paths) if p is None]
        raise _bad(dataset, directory, expected, "missing " + ", ".join(missing))
    try:
        xtr, ytr, xte, yte = (read_idx(p.read_bytes(), 3 if "images" in p.name else 1, p.name)
                              for p in paths)
    except ValueError as exc:
        raise _bad(dataset, directory, expected, str(exc)) from None
    for x, y, split in ((xtr, ytr, "train"), (xte, yte, "t10k")):
        if x.shape[0] != y.shape[0]:
            raise _bad(dataset, directory, expected,
                       f"{split}: {x.shape[0]} images but {y.shape[0]} labels")
    data = ImageData(dataset, xtr[:, None], ytr.astype(np.int64), xte[:, None],
                     yte.astype(np.int64), CLASSES[dataset])
    return validate_labels(data, directory)


def validate_labels(data: ImageData, directory) -> ImageData:
    for y, split in ((data.y_train, "train"), (data.y_test, "test")):
        if y.size and (y.min() < 0 or y.max() >= data.classes):
            raise _bad(data.name, directory, "with labels in [0, C)",
                       f"{split} labels span [{y.min()}, {y.max()}] but C = {data.classes}")
    return data


# --- synthetic -----------------------------------------------------------------------------

def make_synthetic(shape=(3, 32, 32), n_train: int = 2000, n_test: int = 500, classes: int = 10,
                   seed: int = 0, signal: float = 48.0) -> ImageData:
    """Random uint8 images with a learnable class signal: image = 128 + template_c + noise.

    Each class c has a smooth random template (a coarse 4x4 pattern per channel, upsampled),
    scaled to amplitude ``signal`` (grey levels); pixel noise has standard deviation 32. Classes are
    balanced; the split is seeded so the same ``seed`` gives the same images.
    """
    check_int("synthetic_train", n_train, "make_synthetic", low=classes)
    check_int("synthetic_test", n_test, "make_synthetic", low=1)
    c, h, w = shape
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((classes, c, 4, 4))
    templates = np.kron(coarse, np.ones((1, 1, -(-h // 4), -(-w // 4))))[:, :, :h, :w]
    templates *= signal / np.abs(templates).max()

    def draw(n):
        y = np.arange(n) % classes
        rng.shuffle(y)
        x = 128.0 + templates[y] + 32.0 * rng.standard_normal((n, c, h, w))
        return np.clip(np.rint(x), 0, 255).astype(np.uint8), y.astype(np.int64)

    return ImageData("synthetic", *draw(n_train), *draw(n_test), classes)


def load(dataset: str, data_dir=None, *, synthetic_shape=(3, 32, 32), synthetic_train: int = 2000,
         synthetic_test: int = 500, synthetic_signal: float = 48.0, seed: int = 0) -> ImageData:
    """The named data set (``DATASETS``)."""
    if dataset == "synthetic":
        return make_synthetic(synthetic_shape, synthetic_train, synthetic_test, seed=seed,
                              signal=synthetic_signal)
    if data_dir is None:
        raise ParameterError(f"The '--data-dir' parameter of cifar train must name the folder with "
                             f"the {dataset} files. Got None instead.")
    if dataset in CIFAR_FILES:
        return read_cifar(dataset, data_dir)
    return read_mnist(dataset, data_dir)


def stratified_subset(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of a class-stratified random subset of ``size`` examples (sorted), seeded.

    Each class keeps round(size * n_c / n) examples (largest remainders break ties), so the class
    proportions of ``y`` are kept as closely as integers allow.
    """
    n = y.size
    check_int("train_subset", size, "cifar train", low=1, high=n)
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * size / n
    take = np.floor(quota).astype(int)
    order = np.argsort(-(quota - take), kind="stable")
    take[order[: size - take.sum()]] += 1
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(y == c), t, replace=False) for c, t in zip(classes, take)]
    return np.sort(np.concatenate(picked))
