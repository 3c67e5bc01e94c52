"""Noisy (ε, ρ)-clusterable data: Definition 1 of the paper (spec §1.1, §1.2).

K unit-norm centres c_l; every input x_i is a unit vector within Euclidean distance ε of its
cluster's centre; each cluster carries one ground-truth label ỹ_(l) (both labels occur);
exactly round(ρ_l·n_l) labels of cluster l are flipped, with ρ_l < 1/2. Clusters are balanced:
n_l ∈ {⌊n/K⌋, ⌈n/K⌉}, and the achieved c_low = K·min_l n_l / n is reported. Held-out test
points come from the same clusters with clean labels. Everything is fixed by ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import ParameterError, check_int, check_real, fail
from .sizes import FLOAT, check_size

_OWNER = "make_clusterable"
MAX_CENTER_DRAWS = 10_000  # rejection-sampling budget for the minimum centre separation


@dataclass(frozen=True)
class ClusterableData:
    """A noisy (ε, ρ)-clusterable training set and a clean test set from the same clusters."""

    X: np.ndarray               # (n, d) unit rows
    y: np.ndarray               # (n,) observed labels ±1
    y_true: np.ndarray          # (n,) ground truth ỹ, constant on each cluster
    cluster: np.ndarray         # (n,) cluster index in [0, K)
    centers: np.ndarray         # (K, d) unit rows c_l
    center_labels: np.ndarray   # (K,) ỹ_(l)
    corrupted: np.ndarray       # (n,) bool, y != y_true
    rho_per_cluster: np.ndarray  # (K,) realised ρ_l = #flipped / n_l
    X_test: np.ndarray          # (n_test, d)
    y_test: np.ndarray          # (n_test,) clean labels
    cluster_test: np.ndarray    # (n_test,)
    eps: float                  # the radius ε the data were drawn with
    seed: int

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]

    @property
    def K(self) -> int:
        return self.centers.shape[0]

    @property
    def cluster_sizes(self) -> np.ndarray:
        return np.bincount(self.cluster, minlength=self.K)

    @property
    def c_low(self) -> float:
        """Achieved balance constant: n_l ≥ c_low·n/K for every cluster (Definition 1)."""
        return float(self.K * self.cluster_sizes.min() / self.n)

    @property
    def c_up(self) -> float:
        return float(self.K * self.cluster_sizes.max() / self.n)

    @property
    def rho(self) -> float:
        """ρ = max_l ρ_l (realised)."""
        return float(self.rho_per_cluster.max())

    @property
    def eps_observed(self) -> float:
        """max_i ‖x_i − x̃_i‖₂ ≤ ε."""
        return float(np.linalg.norm(self.X - self.X_centers, axis=1).max())

    @property
    def X_centers(self) -> np.ndarray:
        """X̃ of the proofs: row i is the centre of x_i's cluster, shape (n, d)."""
        return self.centers[self.cluster]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _draw_centers(rng, K, d, min_separation):
    for _ in range(MAX_CENTER_DRAWS):
        C = _unit(rng.standard_normal((K, d)))
        if min_separation <= 0:
            return C
        dist = np.linalg.norm(C[:, None, :] - C[None, :, :], axis=-1)
        if dist[np.triu_indices(K, 1)].min() >= min_separation:
            return C
    raise ParameterError(
        f"The 'min_separation' parameter of {_OWNER} could not be met: no draw of {K} random unit "
        f"centres in dimension {d} out of {MAX_CENTER_DRAWS} had all pairwise distances >= "
        f"{min_separation:g}. Lower min_separation or raise d.")


def check_rho_realisable(rho: float, n: int, K: int, name: str, owner: str) -> float:
    """ρ such that round(ρ·n_l) < n_l/2 for both balanced cluster sizes n_l ∈ {⌊n/K⌋, ⌈n/K⌉};
    ``make_clusterable`` would refuse it only after drawing the data."""
    for size in sorted({n // K, -(-n // K)}):
        if round(rho * size) / size >= 0.5:
            raise fail(name, owner, f"small enough that round(rho*n_l) < n_l/2 for clusters of "
                       f"n_l={size} points (n={n}, clusters={K}); lower it or raise n/K", rho)
    return rho


def draw_centers(K: int, d: int, min_separation: float, seed: int) -> np.ndarray:
    """The K centres ``make_clusterable(K=K, d=d, min_separation=..., seed=seed)`` draws first,
    or ParameterError when the separation cannot be met; a sweep calls this for every seed
    before any run starts (an infeasible grid point is refused, not stored as failed runs)."""
    return _draw_centers(np.random.default_rng(seed), K, d, min_separation)


def _draw_in_cap(rng, centers, eps):
    """Unit vectors x with ‖x − c‖₂ ≤ ε around each row c of ``centers``.

    x = cos θ·c + sin θ·u with u a random unit vector ⟂ c, and chord ‖x − c‖ = 2 sin(θ/2) = s.
    s = ε·U^{1/(d−1)} spreads the points over the cap like a uniform draw in d−1 dimensions.
    """
    m, d = centers.shape
    g = rng.standard_normal((m, d))
    g -= np.sum(g * centers, axis=1, keepdims=True) * centers
    u = _unit(g)
    s = eps * rng.random(m) ** (1.0 / max(d - 1, 1))
    theta = 2 * np.arcsin(np.minimum(s / 2, 1.0))
    x = np.cos(theta)[:, None] * centers + np.sin(theta)[:, None] * u
    return _unit(x)


def _balanced_assignment(rng, m, K):
    """m cluster indices with sizes ⌊m/K⌋ or ⌈m/K⌉, in random order."""
    labels = np.arange(m) % K
    rng.shuffle(labels)
    return labels


def make_clusterable(n: int = 1000, K: int = 10, d: int = 50, eps: float = 0.05,
                     rho: "float | Sequence[float]" = 0.3, seed: int = 0, n_test: int = 1000,
                     min_separation: float = 0.0) -> ClusterableData:
    """Draw a noisy (ε, ρ)-clusterable data set (Definition 1).

    Parameters
    ----------
    n : training points, ≥ 2K (each cluster needs two points for both a flip and a clean label
        to be possible, and K ≥ 2 clusters for both labels to be present).
    K : clusters, ≥ 2; ground-truth labels are +1 on ⌈K/2⌉ clusters and −1 on the rest.
    d : input dimension, ≥ 2.
    eps : cluster radius ε in (0, 2] (2 is the diameter of the sphere).
    rho : label-noise fraction ρ in [0, 0.5), or one ρ_l per cluster. Exactly
        round(ρ_l·n_l) labels of cluster l are flipped (Python's round: half to even);
        the realised fraction must stay below 1/2.
    seed : fixes centres, points, labels, flips and the test set.
    n_test : held-out points from the same clusters, clean labels.
    min_separation : minimum pairwise distance between centres (rejection sampling).
    """
    n = check_int("n", n, _OWNER, low=2)
    K = check_int("K", K, _OWNER, low=2)
    if n < 2 * K:
        raise fail("n", _OWNER, f"an integer >= 2*K = {2 * K} (two points per cluster)", n)
    d = check_int("d", d, _OWNER, low=2)
    eps = check_real("eps", eps, _OWNER, low=0.0, high=2.0, low_open=True)
    n_test = check_int("n_test", n_test, _OWNER, low=0)
    min_separation = check_real("min_separation", min_separation, _OWNER, low=0.0, high=2.0)
    seed = check_int("seed", seed, _OWNER, low=0)
    check_size(_OWNER, {}, [(FLOAT * 4 * (n + n_test) * d, [("n", n, 1000), ("n_test", n_test, 1000),
                                                            ("d", d, 50)])],
               what=f"the points and their draws (n={n}, n_test={n_test}, d={d})")
    if np.ndim(rho) == 0:
        rho_l = np.full(K, check_real("rho", rho, _OWNER, low=0.0, high=0.5, high_open=True))
    else:
        rho_l = np.asarray(rho, dtype=float)
        if rho_l.shape != (K,):
            raise fail("rho", _OWNER, f"a float or a sequence of K={K} floats", rho)
        for r in rho_l:
            check_real("rho", float(r), _OWNER, low=0.0, high=0.5, high_open=True)

    rng = np.random.default_rng(seed)
    centers = _draw_centers(rng, K, d, min_separation)
    center_labels = np.where(rng.permutation(K) < (K + 1) // 2, 1.0, -1.0)

    cluster = _balanced_assignment(rng, n, K)
    X = _draw_in_cap(rng, centers[cluster], eps)
    y_true = center_labels[cluster]

    y = y_true.copy()
    sizes = np.bincount(cluster, minlength=K)
    flips = np.array([round(rho_l[l] * sizes[l]) for l in range(K)])
    realised = flips / sizes
    if np.any(realised >= 0.5):
        l = int(np.argmax(realised))
        raise fail("rho", _OWNER,
                   f"small enough that round(rho*n_l) < n_l/2 in every cluster (cluster {l} has "
                   f"n_l={sizes[l]}: round({rho_l[l]:g}*{sizes[l]}) = {flips[l]} flips); "
                   "lower rho or raise n/K", float(rho_l[l]))
    for l in range(K):
        members = np.flatnonzero(cluster == l)
        y[rng.choice(members, size=flips[l], replace=False)] *= -1

    cluster_test = _balanced_assignment(rng, n_test, K) if n_test else np.zeros(0, dtype=int)
    X_test = _draw_in_cap(rng, centers[cluster_test], eps) if n_test else np.zeros((0, d))
    y_test = center_labels[cluster_test]

    return ClusterableData(X=X, y=y, y_true=y_true, cluster=cluster, centers=centers,
                           center_labels=center_labels, corrupted=y != y_true,
                           rho_per_cluster=realised, X_test=X_test, y_test=y_test,
                           cluster_test=cluster_test, eps=eps, seed=seed)
