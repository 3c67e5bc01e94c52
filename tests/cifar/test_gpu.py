"""GPU path (skipped without CUDA): bf16 autocast + channels-last train a tiny run, and a
paper-profile shake-shake step runs."""

import pytest

from theorem_lab.simulations.cifar.config import resolve
from theorem_lab.simulations.cifar.session import Session


@pytest.mark.gpu
def test_cuda_run_learns_synthetic(tmp_path):
    cfg = resolve({"profile": "smoke", "dataset": "synthetic", "device": "cuda", "epochs": 8,
                   "width": 16, "synthetic_train": 2048, "progress": False, "out": str(tmp_path)})
    rec = Session(cfg).run()
    assert rec["environment"]["device"] == "cuda"
    assert rec["summary"]["test_acc_last"] > 0.5   # CPU, 4 epochs on 512 images: 0.64


@pytest.mark.gpu
def test_cuda_shake_shake_epoch(tmp_path):
    cfg = resolve({"profile": "paper", "dataset": "synthetic", "device": "cuda", "epochs": 1,
                   "synthetic_train": 1024, "synthetic_test": 256, "progress": False,
                   "out": str(tmp_path)})
    rec = Session(cfg).run()
    assert rec["status"] == "finished" and rec["info"]["parameters"] > 2.9e6
