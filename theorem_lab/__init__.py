"""theorem-lab: put Theorem 1 of 'Distillation ≈ Early Stopping?' on the bench.

Public API (stable names, see DESIGN.md)::

    import theorem_lab as tl
    data = tl.make_clusterable(n=1000, K=10, d=50, eps=0.05, rho=0.3, seed=0)
    net = tl.TwoLayerNet.init(d=50, k=4096, activation="tanh", seed=1)
    traj = tl.train(data, net, method="self-distill", steps=3000)
    trajs = tl.train_many(datas, nets, method="self-distill", steps=3000)   # B runs at once
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .backend import Backend, resolve_backend, to_numpy
from .covariance import Lambda, infinite_width_gram, lambda_of, smallest_eigenvalue
from .data import ClusterableData, make_clusterable
from .errors import ParameterError
from .kernels import (as_sum, average_jacobian, cross_gram, gram, jac_difference, jacobian_diff_norm,
                      jacobian_gram, jacobian_norm, lambda_max, project_support, sigma_min,
                      spectral_norm, support_basis)
from .network import TwoLayerNet
from .schedules import LABEL_FUNCTIONS, SCHEDULES, Schedule, h_clipped, parse_schedule
from .train import METHODS, TrainConfig, train, train_many
from .trajectory import COLUMNS, Trajectory

__version__ = "0.1.0"

__all__ = [
    "Lambda", "as_sum", "average_jacobian", "cross_gram", "gram", "jac_difference",
    "jacobian_diff_norm", "jacobian_norm", "lambda_of", "spectral_norm",
    "ACTIVATIONS", "Activation", "Backend", "COLUMNS", "ClusterableData", "LABEL_FUNCTIONS",
    "METHODS", "ParameterError", "SCHEDULES", "Schedule", "TrainConfig", "Trajectory",
    "TwoLayerNet", "get_activation", "h_clipped", "infinite_width_gram", "jacobian_gram",
    "lambda_max", "make_clusterable", "parse_schedule", "project_support", "resolve_backend",
    "sigma_min", "smallest_eigenvalue", "support_basis", "to_numpy", "train", "train_many",
]
