#!/usr/bin/env bash
# GPU checks in one short script (run on a machine with CUDA, from the repository root):
# the gpu-marked tests, then the GPU benchmarks. Target: under 5 minutes.
set -uo pipefail
PY=${PYTHON:-python}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
$PY -m pytest -q -m gpu tests 2>&1 | tail -15
rc=$?
$PY -m theorem_lab.cli bench step --backends torch --device cuda --dtypes float64,float32 || rc=1
$PY -m theorem_lab.cli bench gram --device cuda || rc=1
exit $rc
