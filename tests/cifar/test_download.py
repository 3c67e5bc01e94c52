"""--download against a local file:// URL, with checksum verification."""

import hashlib

import pytest

from theorem_lab.errors import ParameterError
from theorem_lab.simulations.cifar import data as D
from theorem_lab.simulations.cifar import download as DL

from .files import write_mnist


def test_fetch_verifies_md5_and_leaves_nothing_bad(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello images")
    good = hashlib.md5(b"hello images").hexdigest()
    dest = tmp_path / "out" / "f.bin"
    dest.parent.mkdir()
    assert DL.fetch(src.as_uri(), dest, good).read_bytes() == b"hello images"
    with pytest.raises(ParameterError, match="expected 0+; the file was deleted"):
        DL.fetch(src.as_uri(), tmp_path / "out" / "g.bin", "0" * 32)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["f.bin"]
    with pytest.raises(ParameterError, match="could not fetch"):
        DL.fetch((tmp_path / "absent").as_uri(), tmp_path / "out" / "h.bin", good)


def test_download_mnist_from_a_mirror_then_load(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    write_mnist(mirror, gz=True)
    files = [(p.name, DL.md5(p)) for p in sorted(mirror.iterdir())]
    monkeypatch.setitem(DL.SOURCES, "mnist", ("https://unused.invalid/", files))
    got = DL.download("mnist", tmp_path / "data", base_url=mirror.as_uri())
    assert len(got) == 4
    assert D.load("mnist", tmp_path / "data").x_train.shape == (12, 1, 28, 28)


def test_official_sources_are_complete():
    for name in ("cifar10", "cifar100", "mnist", "fashion-mnist"):
        base, files = DL.SOURCES[name]
        assert base.startswith(("https://", "http://"))
        assert all(len(m) == 32 and int(m, 16) >= 0 for _, m in files)
