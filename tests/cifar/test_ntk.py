"""The empirical NTK Gram against an explicit Jacobian; chunking; the binary task's labels;
`cifar ntk-air` end to end on the smoke profile (stored, resumable, figures)."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from theorem_lab.cli import main
from theorem_lab.errors import ParameterError
from theorem_lab.simulations.cifar import ntk as NTK
from theorem_lab.simulations.cifar import ntk_air as NA
from theorem_lab.simulations.cifar.models import ResNetCifar
from theorem_lab.simulations.store import ResultStore


def explicit_gram(model, x):
    """J Jᵀ with J from torch.autograd.functional.jacobian of the whole batch (eval mode)."""
    model.eval()
    names = [k for k, _ in model.named_parameters()]
    params = tuple(p.detach() for p in model.parameters())

    def f(*ps):
        return torch.func.functional_call(model, dict(zip(names, ps)), (x,)).reshape(-1)
    J = torch.autograd.functional.jacobian(f, params)
    J = torch.cat([j.reshape(x.shape[0], -1) for j in J], 1)          # (n, P)
    return (J @ J.T).numpy()


def small_nets():
    torch.manual_seed(3)
    resnet = ResNetCifar(3, 1, n=1).double()
    for m in resnet.modules():            # non-trivial running statistics: eval-mode BN matters
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 7), nn.Tanh(), nn.Linear(7, 1)).double()
    return [(resnet, torch.randn(5, 3, 32, 32, dtype=torch.float64)),
            (mlp, torch.randn(6, 3, 8, 8, dtype=torch.float64))]


@pytest.mark.parametrize("k", [0, 1], ids=["resnet8-bn", "mlp"])
def test_gram_equals_explicit_jacobian_product(k):
    model, x = small_nets()[k]
    G = NTK.ntk_gram(model, x).numpy()
    assert model.training                 # the mode is restored
    ref = explicit_gram(model, x)
    np.testing.assert_allclose(G, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize("chunk", [1, 2, 4])
def test_chunked_gram_equals_unchunked(chunk):
    model, x = small_nets()[0]
    full = NTK.ntk_gram(model, x, chunk=x.shape[0]).numpy()
    np.testing.assert_allclose(NTK.ntk_gram(model, x, chunk=chunk).numpy(), full,
                               rtol=1e-12, atol=1e-12 * np.abs(full).max())


def test_chunk_size_follows_the_budget_and_the_gram_is_psd():
    P, per = 1000, (2 + NTK.ACTIVATION_FACTOR) * 1000 * 4      # bytes per example
    assert NTK.chunk_size(128, P, 4, budget=128 * per) == 128
    assert NTK.chunk_size(128, P, 4, budget=10 * per + per - 1) == 10
    assert NTK.chunk_size(128, P, 4, budget=1) == 1
    model, x = small_nets()[0]
    lam, E = NTK.spectrum(NTK.ntk_gram(model, x))
    assert np.all(np.diff(lam) <= 0) and lam[-1] >= -NTK.roundoff_bound(lam, 5, torch.float64)
    np.testing.assert_allclose(E.T @ E, np.eye(5), atol=1e-12)


def test_gram_that_cannot_fit_is_refused(monkeypatch):
    from theorem_lab import errors
    monkeypatch.setattr(errors, "available_memory", lambda: 2 ** 30)
    with pytest.raises(ParameterError, match="'--ntk-batch' parameter of x"):
        NTK.check_gram_fits("--ntk-batch", 10 ** 6, "x", 10 ** 6, 850_000, 4)


def test_binary_labels_are_the_appendix_classes_2_and_7():
    y = np.arange(10).repeat(3)
    b = NA.binary_labels(y)
    assert set(np.unique(y[b == 1])) == {2, 7}
    assert np.all(b[~np.isin(y, (2, 7))] == -1)


SMOKE = ["cifar", "ntk-air", "--profile", "smoke", "--seeds", "2", "--noise", "0,0.5",
         "--train-steps", "3", "--iterations", "6", "--every", "3", "--synthetic-train", "64",
         "--device", "cpu"]


@pytest.fixture(scope="module")
def ntk_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ntk") / "run"
    assert main(SMOKE + ["--out", str(out), "--no-figure"]) == 0
    return out


def test_ntk_air_smoke_stores_every_record(ntk_run):
    s = json.loads((ntk_run / "ntk_air.json").read_text())
    assert s["computed_now"] == 2 * 2 * 2 + 2              # stages × noise × seeds + Figure 5 seeds
    with ResultStore(ntk_run, readonly=True) as st:
        runs = st.runs()
    assert sorted(r["method"] for r in runs) == ["ntk-fig2"] * 8 + ["ntk-fig5"] * 2
    for stage in NA.STAGES:
        f = np.array(s["figure2"][stage]["fraction"])
        assert f.shape == (2, 2) and np.all((f >= 0) & (f <= 1 + 1e-12))
        lam_min, bound = s["figure2"][stage]["lambda_min"], s["figure2"][stage]["roundoff"]
        assert all(lm >= -b for lm, b in zip(lam_min, bound))            # PSD up to round-off
    assert s["figure5"]["step"] == [0, 3, 6]
    g = np.array(s["figure5"]["gain"])
    assert g.shape == (2, 3) and np.all(np.abs(g) <= 1)
    assert np.all(np.array(s["figure2"]["init"]["fraction"])[:, 0] > 0)


def test_ntk_air_rerun_recomputes_nothing(ntk_run, monkeypatch, capsys):
    def boom(*a, **k):
        raise AssertionError("recomputed")
    monkeypatch.setattr(NTK, "ntk_gram", boom)
    monkeypatch.setattr(NA, "sgd_mse", boom)
    before = json.loads((ntk_run / "ntk_air.json").read_text())
    assert main(SMOKE + ["--out", str(ntk_run), "--no-figure", "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["computed_now"] == 0
    assert after["figure2"] == before["figure2"] and after["figure5"] == before["figure5"]


def test_ntk_air_figures_have_their_axes_and_lines(ntk_run):
    from theorem_lab.figures import ntk_air_figure as F, style
    result = json.loads((ntk_run / "ntk_air.json").read_text())
    result["air"] = {"K": 5, "figure2": {"noise": [0, 0.5], "mean": [0.9, 0.4], "std": [0.01, 0.02]},
                     "figure5": {"step": [0, 10, 20], "mean": [0, 0.1, 0.2], "std": [0, 0.01, 0.01]}}
    with style.context() as plt:
        fig = F.build_figure2(plt, result)
        a, b = fig.axes
        assert len(a.containers) == 2 and len(b.containers) == 1        # errorbar series
        assert "P_5" in a.get_ylabel() and a.get_xlabel() == "label noise $p$"
        assert [t.get_text() for t in a.get_legend().get_texts()][0].startswith("at initialisation")
        assert "synthetic" in b.get_title(loc="left")
        fig5 = F.build_figure5(plt, result)
        a5 = fig5.axes[0]
        assert len(fig5.axes) == 2 and len(a5.lines) == 2 + 1 + 1          # seeds, mean, zero
        assert list(a5.lines[2].get_xdata()) == [0, 3, 6]
        del result["air"]
        assert len(F.build_figure2(plt, result).axes) == 1
        plt.close("all")
    paths = F.ntk_air_figure(ntk_run)
    assert sorted(p.name for p in paths) == ["ntk_air_figure2.pdf", "ntk_air_figure2.png",
                                             "ntk_air_figure5.pdf", "ntk_air_figure5.png"]


def test_figures_command_redraws_an_ntk_air_store(ntk_run, capsys):
    for p in ntk_run.glob("ntk_air_figure*"):
        p.unlink()
    assert main(["figures", str(ntk_run)]) == 0
    assert (ntk_run / "ntk_air_figure2.png").is_file() and (ntk_run / "ntk_air_figure5.pdf").is_file()
    assert "ntk_air_figure5.png" in capsys.readouterr().err


def test_figure5_settings_do_not_invalidate_figure2_records():
    a = NA.with_profile("smoke", {})
    b = NA.with_profile("smoke", {"iterations": 99, "gain_noise": 0.3})
    assert NA.fig2_key(a, "init", 0.1, 0) == NA.fig2_key(b, "init", 0.1, 0)
    assert NA.fig5_key(a, 0) != NA.fig5_key(b, 0)
    assert NA.fig2_key(a, "trained", 0.1, 0) != NA.fig2_key(NA.with_profile("smoke", {"train_steps": 7}), "trained", 0.1, 0)
    assert NA.fig2_key(a, "init", 0.1, 0) == NA.fig2_key(NA.with_profile("smoke", {"train_steps": 7}), "init", 0.1, 0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_gram_equals_cpu_and_ntk_air_runs_on_cuda(tmp_path):
    model, x = small_nets()[0]
    cpu = NTK.ntk_gram(model, x).numpy()
    gpu = NTK.ntk_gram(model.cuda(), x.cuda()).numpy()
    np.testing.assert_allclose(gpu, cpu, rtol=1e-9, atol=1e-9 * np.abs(cpu).max())
    out = tmp_path / "run"
    assert main(SMOKE[:-2] + ["--device", "cuda", "--out", str(out), "--no-figure"]) == 0
    s = json.loads((out / "ntk_air.json").read_text())
    assert s["computed_now"] == 10 and len(s["figure5"]["step"]) == 3


def test_ntk_air_interrupt_keeps_finished_records(tmp_path, monkeypatch):
    argv = SMOKE[:4] + ["--seeds", "2", "--noise", "0", "--train-steps", "2", "--iterations", "2",
                        "--every", "2", "--synthetic-train", "64", "--device", "cpu",
                        "--out", str(tmp_path), "--no-figure"]
    real = NA._figure5_seed
    calls = []

    def figure5(cfg, task, xb, yb, seed, *rest):
        calls.append(seed)
        if seed == 1 and len(calls) == 2:                      # the first run: Ctrl-C at seed 1
            raise KeyboardInterrupt
        return real(cfg, task, xb, yb, seed, *rest)
    monkeypatch.setattr(NA, "_figure5_seed", figure5)
    assert main(argv) == 130
    with ResultStore(tmp_path, readonly=True) as st:
        assert len(st.runs()) == 2 + 1 + 2                   # seed 0 (both figures), seed 1's Figure 2
    monkeypatch.setattr(NA, "_cached_gram", lambda path, make: pytest.fail("Figure 2 recomputed"))
    assert main(argv) == 0 and calls == [0, 1, 1]            # only seed 1's Figure 5 ran again


def test_report_of_an_ntk_air_store(ntk_run):
    assert main(["report", str(ntk_run)]) == 0
    md = (ntk_run / "report.md").read_text()
    assert "| stage | p = 0 | p = 0.5 | λ_min | λ_max |" in md and "\n| trained |" in md
    assert "ntk_air_figure5.png" in md and "not the paper's setting" in md


def test_task_reads_cifar10_files_and_makes_classes_2_and_7_positive(tmp_path):
    import pickle
    from .files import write_cifar10
    folder = write_cifar10(tmp_path, per_batch=20)
    y = np.concatenate([pickle.loads((folder / f"data_batch_{i}").read_bytes(), encoding="bytes")[b"labels"]
                        for i in range(1, 6)])
    y_test = np.array(pickle.loads((folder / "test_batch").read_bytes(), encoding="bytes")[b"labels"])
    task = NA.Task(NA.with_profile("smoke", {"dataset": "cifar10", "data_dir": str(tmp_path),
                                             "ntk_batch": 8}))
    np.testing.assert_array_equal(task.y_train, np.where((y == 2) | (y == 7), 1.0, -1.0))
    x, yb = task.batch(0)
    assert x.shape == (8, 3, 32, 32) and x.dtype == torch.float32
    assert set(np.unique(yb)) <= {-1.0, 1.0} and np.sum(yb == 1) <= np.sum(np.isin(y_test, (2, 7)))


def test_label_flips_depend_on_seed_and_level_only():
    y = NA.binary_labels(np.arange(1000) % 10)
    a = NA.noisy_labels(y, 0.3, NA.noise_stream(0, 0.3))
    np.testing.assert_array_equal(a, NA.noisy_labels(y, 0.3, NA.noise_stream(0, 0.3)))
    assert 0.25 < np.mean(a != y) < 0.35
    assert not np.array_equal(a, NA.noisy_labels(y, 0.3, NA.noise_stream(1, 0.3)))
