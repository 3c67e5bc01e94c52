"""Label noise: computed once from the true labels y (n,) and a noise seed, saved with the run.

Conventions (the paper says only "every data ... is chosen and assigned a symmetric noisy label
with probability p"; the run records which convention we used):

    symmetric, uniform-all    exactly round(p·n) examples, chosen at random, get a label redrawn
                              uniformly from all C classes; the true label can come back, so the
                              realised flip rate is ≈ p·(C−1)/C (DivideMix, ELR).
    symmetric, uniform-other  exactly round(p·n) examples get a different class, uniform over the
                              other C−1 (Co-teaching's transition matrix): realised rate = p.
    asymmetric                a fixed class map (CIFAR-10: truck→automobile, bird→airplane,
                              deer→horse, cat↔dog; MNIST: 2→7, 3→8, 5↔6, 7→1), round(p·n_c)
                              examples of each source class c flipped, chosen from the original
                              labels (not sequentially: cat→dog and dog→cat do not compound).
    pairflip                  class i → i+1 mod C, round(p·n_c) examples per class.
    human                     CIFAR-10N / CIFAR-100N label files (a dict of label arrays in
                              training-set order), loaded without running pickled code.

All draws come from ``numpy.random.default_rng(noise_seed)``: independent of the training seed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from theorem_lab.errors import check_choice, check_real, fail

NOISE_TYPES = ("symmetric", "asymmetric", "pairflip", "human")
CONVENTIONS = ("uniform-all", "uniform-other")
ASYMMETRIC_MAPS = {
    "cifar10": {9: 1, 2: 0, 4: 7, 3: 5, 5: 3},
    "mnist": {2: 7, 3: 8, 5: 6, 6: 5, 7: 1},
}
_OWNER = "cifar train"


def symmetric(y: np.ndarray, classes: int, p: float, seed: int, convention: str) -> np.ndarray:
    """Symmetric noise of rate p under ``convention`` (module docstring)."""
    check_choice("noise_convention", convention, _OWNER, CONVENTIONS)
    rng = np.random.default_rng(seed)
    out = y.copy()
    idx = rng.choice(y.size, int(round(p * y.size)), replace=False)
    if convention == "uniform-all":
        out[idx] = rng.integers(0, classes, idx.size)
    else:   # shift by 1..C-1: uniform over the other classes
        out[idx] = (y[idx] + rng.integers(1, classes, idx.size)) % classes
    return out


def class_map_noise(y: np.ndarray, mapping: dict, p: float, seed: int) -> np.ndarray:
    """Flip round(p·n_c) examples of each source class c to ``mapping[c]``, drawn from y itself."""
    rng = np.random.default_rng(seed)
    out = y.copy()
    for src in sorted(mapping):
        members = np.flatnonzero(y == src)
        flip = rng.choice(members, int(round(p * members.size)), replace=False)
        out[flip] = mapping[src]
    return out


def load_human(path, key: str, n: int, classes: int) -> np.ndarray:
    """One label array of a CIFAR-N file (``.pt``, ``.npz`` or ``.npy``), length n, in [0, C).

    ``.pt`` files are read with ``torch.load(weights_only=True)`` plus numpy's array reconstructor
    only: tensors, numpy arrays, dicts and lists, never arbitrary pickled code.
    """
    path = Path(path)
    if not path.is_file():
        raise fail("noise_file", _OWNER, "an existing CIFAR-N label file (e.g. CIFAR-10_human.pt)",
                   str(path))
    try:
        if path.suffix in (".npz", ".npy"):
            obj = np.load(path, allow_pickle=False)
            obj = dict(obj) if isinstance(obj, np.lib.npyio.NpzFile) else {"labels": obj}
        else:
            obj = _safe_torch_load(path)
    except Exception as exc:   # any reader error: the file is not a label dict
        raise fail("noise_file", _OWNER, f"a readable label dict ({type(exc).__name__}: {exc})",
                   str(path)) from None
    if not isinstance(obj, dict) or key not in obj:
        keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise fail("noise_key", _OWNER, f"a key of {path.name}: {keys}", key)
    labels = np.asarray(obj[key]).astype(np.int64).reshape(-1)
    if labels.size != n:
        raise fail("noise_file", _OWNER, f"label arrays of the training-set length {n} "
                   f"({key!r} has {labels.size})", str(path))
    if labels.min() < 0 or labels.max() >= classes:
        raise fail("noise_file", _OWNER, f"labels in [0, {classes})",
                   f"{key!r} spanning [{labels.min()}, {labels.max()}]")
    return labels


def _safe_torch_load(path: Path):
    import torch
    if not zipfile.is_zipfile(path):
        raise ValueError("not a torch.save zip archive")
    allowed = [np.dtype, np.ndarray, type(np.dtype(np.int64))]
    for mod in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            allowed.append(__import__(mod, fromlist=["_reconstruct"])._reconstruct)
        except (ImportError, AttributeError):
            pass
    with torch.serialization.safe_globals(allowed):
        return torch.load(path, map_location="cpu", weights_only=True)


def validate(noise_type: str, p: float, dataset: str, noise_file=None) -> None:
    """Options checks that need no data (run before anything is loaded)."""
    check_choice("noise_type", noise_type, _OWNER, NOISE_TYPES)
    check_real("noise_rate", p, _OWNER, low=0.0, high=1.0, high_open=True)
    if noise_type == "asymmetric" and dataset not in ASYMMETRIC_MAPS:
        raise fail("noise_type", _OWNER, "'asymmetric' only for a data set with a class map ("
                   + ", ".join(ASYMMETRIC_MAPS) + ")", f"asymmetric with {dataset}")
    if noise_type == "human" and noise_file is None:
        raise fail("noise_file", _OWNER, "a CIFAR-N label file when --noise-type human", None)


def apply(y: np.ndarray, classes: int, dataset: str, noise_type: str, p: float, seed: int,
          convention: str = "uniform-all", noise_file=None, noise_key: str = "worse_label") -> np.ndarray:
    """The observed labels (n,) for true labels y."""
    validate(noise_type, p, dataset, noise_file)
    if noise_type == "symmetric":
        return symmetric(y, classes, p, seed, convention)
    if noise_type == "asymmetric":
        return class_map_noise(y, ASYMMETRIC_MAPS[dataset], p, seed)
    if noise_type == "pairflip":
        return class_map_noise(y, {c: (c + 1) % classes for c in range(classes)}, p, seed)
    return load_human(noise_file, noise_key, y.size, classes)


def report(y_true: np.ndarray, y_noisy: np.ndarray, classes: int) -> dict:
    """Realised corruption rate and the empirical transition matrix T[i, j] = P(ỹ = j | y = i)."""
    counts = np.zeros((classes, classes))
    np.add.at(counts, (y_true, y_noisy), 1)
    rows = counts.sum(1, keepdims=True)
    T = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    return {"realised_rate": float(np.mean(y_true != y_noisy)), "transition": T.round(6).tolist()}
