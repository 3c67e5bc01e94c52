"""The empirical neural tangent kernel of a scalar-output network, chunked (paper §2.3).

For f(θ, x) ∈ ℝ and a batch X = (x_1, …, x_n), the Jacobian J ∈ ℝ^{n×P} has rows
J_i = ∂f(θ, x_i)/∂θ and the empirical NTK Gram is

    Θ = J Jᵀ,   Θ_ij = Σ_p ∂f(θ, x_i)/∂θ_p · ∂f(θ, x_j)/∂θ_p          (n, n), PSD

(the paper's Ĥ_t; neural-tangents' ``empirical_ntk_fn`` with ``trace_axes=()``). J is never held
whole: rows come in chunks of c examples (``torch.func.vmap`` of ``jacrev`` over the chunk, one
reverse pass per example), and the block Θ[a, b] = J_a J_bᵀ is accumulated parameter tensor by
parameter tensor, so the peak is one or two chunks of J (c·P floats each) plus Θ. With
⌈n/c⌉ = m chunks the Jacobian of a chunk is recomputed for every block it meets: m(m+1)/2 chunk
evaluations, m = 1 (no recomputation) whenever the whole J fits in the budget.

The network is evaluated in eval mode (BatchNorm uses its running statistics), so f(θ, x_i)
depends on x_i alone and Θ is the kernel of the map the network computes at test time.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.func import functional_call, jacrev, vmap

from theorem_lab.errors import check_fits, check_int

DEFAULT_BUDGET = 2 ** 31   # bytes for Jacobian chunks: ResNet-56 (0.85 M) × 128 images in one chunk
# reverse-mode activations per example, in units of its Jacobian row: an allowance, not measured
# (ResNet-56 keeps ≈ 1.3 M floats of conv/BN/ReLU outputs per 32×32 image, counted, ≈ 1.5·P)
ACTIVATION_FACTOR = 2


def param_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def chunk_size(n: int, params: int, itemsize: int, budget: int = DEFAULT_BUDGET) -> int:
    """Examples per Jacobian chunk: two chunks of c·P floats (+ activations) within ``budget``."""
    per_example = (2 + ACTIVATION_FACTOR) * params * itemsize
    return int(max(1, min(n, budget // max(per_example, 1))))


def gram_bytes(n: int, params: int, chunk: int, itemsize: int) -> int:
    """Peak bytes of ``ntk_gram``: two Jacobian chunks, their activations, Θ in float64."""
    return (2 + ACTIVATION_FACTOR) * chunk * params * itemsize + 8 * n * n


def _scalar_fn(model):
    """f(params, buffers, x) for one example x (C, H, W): the model's scalar output."""
    def f(params, buffers, x):
        return functional_call(model, (params, buffers), (x.unsqueeze(0),)).reshape(())
    return f


def jacobian_rows(model, x: torch.Tensor) -> dict:
    """{name: (c, *shape)}: ∂f(θ, x_i)/∂θ for each example of the chunk x (c, C, H, W)."""
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    return vmap(jacrev(_scalar_fn(model)), in_dims=(None, None, 0))(params, buffers, x)


def _block(Ja: dict, Jb: dict) -> torch.Tensor:
    """J_a J_bᵀ = Σ_p (J_a)_p (J_b)_pᵀ, parameter tensor by parameter tensor (no concatenation)."""
    out = None
    for name, a in Ja.items():
        term = a.flatten(1) @ Jb[name].flatten(1).T
        out = term if out is None else out + term
    return out


def ntk_gram(model, x: torch.Tensor, chunk: "int | None" = None,
             budget: int = DEFAULT_BUDGET) -> torch.Tensor:
    """Θ = J Jᵀ (n, n) of the scalar-output ``model`` on the batch x (n, C, H, W), eval mode.

    ``chunk``: examples per Jacobian evaluation (default: the largest that fits ``budget``).
    Returned in float64 on the host (accumulated in the model's dtype, symmetrised).
    """
    n = x.shape[0]
    check_int("n", n, "ntk_gram", low=1)
    if chunk is None:
        chunk = chunk_size(n, param_count(model), x.element_size(), budget)
    check_int("chunk", chunk, "ntk_gram", low=1)
    was_training = model.training
    model.eval()
    try:
        starts = list(range(0, n, chunk))
        G = torch.zeros((n, n), dtype=torch.float64)
        for ia, a in enumerate(starts):
            Ja = jacobian_rows(model, x[a:a + chunk])
            for b in starts[ia:]:
                Jb = Ja if b == a else jacobian_rows(model, x[b:b + chunk])
                blk = _block(Ja, Jb).double().cpu()
                G[a:a + chunk, b:b + chunk] = blk
                G[b:b + chunk, a:a + chunk] = blk.T
    finally:
        model.train(was_training)
    return 0.5 * (G + G.T)


def check_gram_fits(option: str, value, owner: str, n: int, params: int, itemsize: int,
                    budget: int = DEFAULT_BUDGET) -> int:
    """Refuse an NTK batch whose Gram and Jacobian chunks cannot fit (``sizes.py``-style);
    return the chunk size that will be used."""
    c = chunk_size(n, params, itemsize, budget)
    check_fits(option, value, owner, gram_bytes(n, params, c, itemsize),
               f"two Jacobian chunks of {c} × {params:,} and the ({n}, {n}) Gram")
    return c


def spectrum(G) -> tuple[np.ndarray, np.ndarray]:
    """(λ, E) of a symmetric Gram: eigenvalues decreasing, eigenvectors as columns (float64).

    λ_min = λ[-1] is the positive-semi-definiteness check: ≥ 0 up to round-off
    (|λ_min| ≲ n·ε·λ_max in the accumulation dtype)."""
    H = np.asarray(G, dtype=np.float64)
    lam, E = np.linalg.eigh(0.5 * (H + H.T))
    return lam[::-1].copy(), E[:, ::-1].copy()


def roundoff_bound(lam: np.ndarray, n: int, dtype=torch.float32) -> float:
    """A round-off scale for λ_min: n · ε(dtype) · λ_max."""
    return n * torch.finfo(dtype).eps * float(max(abs(lam[0]), 0.0)) if len(lam) else math.nan
