"""Array backends: numpy (the float64 reference), torch (cpu, cuda) and CuPy (cuda).

The numerics are written once against the array API (``xp = array_namespace(x)``, then only
``xp.*``), the way SciPy and scikit-learn do it; this module resolves a backend name, device and
dtype into a namespace and moves arrays in and out of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from array_api_compat import array_namespace, is_cupy_array, is_numpy_array, is_torch_array

from .errors import ParameterError, check_choice, fail

BackendName = Literal["numpy", "torch", "cupy", "auto"]
BACKENDS = ("numpy", "torch", "cupy", "auto")
DTYPES = ("float64", "float32")
DEVICES = ("cpu", "cuda", "auto")

__all__ = ["Backend", "resolve_backend", "array_namespace", "to_numpy", "like", "cuda_available"]


def cuda_available() -> bool:
    """A CUDA device torch can use. Without an NVIDIA driver (no /dev/nvidiactl or
    /proc/driver/nvidia) the answer is no and torch is not imported to give it (1.5-4 s)."""
    import os
    import sys
    if "torch" not in sys.modules and not (os.path.exists("/dev/nvidiactl")
                                           or os.path.exists("/proc/driver/nvidia/version")):
        return False
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


@dataclass(frozen=True)
class Backend:
    """A resolved (library, device, dtype) triple. ``xp`` is its array-API namespace."""

    name: Literal["numpy", "torch", "cupy"]
    device: Literal["cpu", "cuda"]
    dtype: Literal["float64", "float32"]

    @property
    def xp(self):
        if self.name == "numpy":
            import array_api_compat.numpy as xp
        elif self.name == "torch":
            import array_api_compat.torch as xp
        else:
            import array_api_compat.cupy as xp
        return xp

    @property
    def native_dtype(self):
        if self.name == "numpy":
            return np.dtype(self.dtype)
        if self.name == "torch":
            import torch
            return getattr(torch, self.dtype)
        import cupy
        return cupy.dtype(self.dtype)

    def asarray(self, a) -> Any:
        """Copy ``a`` (any namespace) into this backend, with this backend's dtype."""
        if self.name == "numpy":
            return np.asarray(to_numpy(a), dtype=self.dtype)
        if self.name == "torch":
            import torch
            if is_torch_array(a):
                return a.to(device=self.device, dtype=self.native_dtype)
            return torch.as_tensor(to_numpy(a), dtype=self.native_dtype, device=self.device)
        import cupy
        return cupy.asarray(a if is_cupy_array(a) else to_numpy(a), dtype=self.dtype)


def check_device(name: str, device: str, owner: str) -> str:
    """A command-line device option: 'cpu' or 'cuda', and 'cuda' only where a CUDA device is
    visible (the one-line error names the option ``name``)."""
    check_choice(name, device, owner, ("cpu", "cuda"))
    if device == "cuda" and not cuda_available():
        raise fail(name, owner, "'cpu' on this machine (no CUDA device is visible)", device)
    return device


def resolve_backend(backend: str = "numpy", device: str = "cpu", dtype: str = "float64",
                    owner: str = "train") -> Backend:
    """Validate and resolve names. ``auto`` picks torch on CUDA when a GPU is present."""
    check_choice("backend", backend, owner, BACKENDS)
    check_choice("device", device, owner, DEVICES)
    check_choice("dtype", dtype, owner, DTYPES)
    if backend == "auto":
        backend = "torch"
        if device == "auto":
            device = "cuda" if cuda_available() else "cpu"
    if device == "auto":
        device = "cuda" if backend in ("torch", "cupy") and cuda_available() else "cpu"
    if backend == "numpy" and device != "cpu":
        raise fail("device", f"{owner} with backend='numpy'", "'cpu'", device)
    if backend == "cupy":
        device = "cuda"
        try:
            import cupy  # noqa: F401
        except ImportError as exc:
            raise ParameterError(
                "The 'backend' parameter of %s is 'cupy' but CuPy is not installed; "
                "install the gpu extra (pip install 'theorem-lab[gpu]') or use backend='torch'." % owner
            ) from exc
    if device == "cuda" and backend == "torch" and not cuda_available():
        raise ParameterError(f"The 'device' parameter of {owner} is 'cuda' but no CUDA device is "
                             "visible; use device='cpu' or device='auto'.")
    return Backend(backend, device, dtype)


TF32_ENV = "THEOREM_LAB_TF32"   # 'off': float32 matmuls on CUDA stay IEEE float32


def matmul_precision(bk: Backend) -> "str | None":
    """Set and return the float32 matmul precision of torch on CUDA: 'tf32' (TF32 tensor-core
    matmuls and convolutions allowed, the default: issue 10's GPU targets are for float32 with
    TF32) or 'ieee' (``$THEOREM_LAB_TF32=off``). None elsewhere (float64, the CPU, CuPy). The
    engine records it with every run."""
    if bk.name != "torch" or bk.device != "cuda" or bk.dtype != "float32":
        return None
    import os

    import torch
    allow = os.environ.get(TF32_ENV, "on").lower() != "off"
    torch.backends.cuda.matmul.allow_tf32 = allow
    torch.backends.cudnn.allow_tf32 = allow
    return "tf32" if allow else "ieee"


def to_numpy(a) -> np.ndarray:
    """Any array (numpy, torch, cupy, list, scalar) as a numpy array, on the host."""
    if is_numpy_array(a):
        return a
    if is_torch_array(a):
        return a.detach().cpu().numpy()
    if is_cupy_array(a):
        return a.get()
    return np.asarray(a)


def like(a, ref):
    """``a`` (any namespace) converted to the namespace, device and dtype of ``ref``."""
    if is_numpy_array(ref):
        return np.asarray(to_numpy(a), dtype=ref.dtype)
    if is_torch_array(ref):
        import torch
        if is_torch_array(a):
            return a.to(device=ref.device, dtype=ref.dtype)
        return torch.as_tensor(to_numpy(a), dtype=ref.dtype, device=ref.device)
    if is_cupy_array(ref):
        import cupy
        return cupy.asarray(a if is_cupy_array(a) else to_numpy(a), dtype=ref.dtype)
    raise TypeError(f"unsupported array type {type(ref).__name__}")
