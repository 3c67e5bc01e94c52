"""``--download``: fetch a data set's files from their official locations, verify their MD5
checksums, and place them where ``data.load`` looks. A file that fails its checksum is deleted
and reported; nothing half-written is ever left under its final name (``.part`` + rename).
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

from theorem_lab.errors import ParameterError

# dataset -> (base URL, [(file name, md5)]); the published checksums, checked on 2026-12-02 against
# torchvision's CIFAR10.tgz_md5, CIFAR100.tgz_md5, MNIST.resources and FashionMNIST.resources
SOURCES = {
    "cifar10": ("https://www.cs.toronto.edu/~kriz/",
                [("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")]),
    "cifar100": ("https://www.cs.toronto.edu/~kriz/",
                 [("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85")]),
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
              [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
               ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
               ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
               ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")]),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                       ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                       ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                       ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310")]),
}


def md5(path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url: str, dest, checksum: str) -> Path:
    """Download ``url`` to ``dest`` unless a file with the right MD5 is already there."""
    dest = Path(dest)
    if dest.is_file() and md5(dest) == checksum:
        return dest
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(part, "wb") as out:
            for block in iter(lambda: resp.read(1 << 20), b""):
                out.write(block)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise ParameterError(f"The '--download' option of cifar train could not fetch {url} "
                             f"({exc}). Download it by hand into {dest.parent}.") from None
    got = md5(part)
    if got != checksum:
        part.unlink()
        raise ParameterError(f"The '--download' option of cifar train fetched {url} with MD5 {got}, "
                             f"expected {checksum}; the file was deleted. Retry, or download it by "
                             f"hand into {dest.parent}.")
    os.replace(part, dest)
    return dest


def download(dataset: str, directory, base_url: "str | None" = None) -> list[Path]:
    """Fetch every file of ``dataset`` into ``directory`` (``base_url`` overrides the mirror)."""
    if dataset not in SOURCES:
        raise ParameterError(f"The '--download' option of cifar train applies to one of "
                             f"{', '.join(SOURCES)}. Got {dataset!r} instead.")
    base, files = SOURCES[dataset]
    base = base_url or base
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return [fetch(base.rstrip("/") + "/" + name, directory / name, checksum)
            for name, checksum in files]
