#!/usr/bin/env bash
# GPU checks in one short script (run from the repository root on a machine with CUDA):
# the gpu-marked tests (torch/CuPy on CUDA vs the numpy float64 reference), then the headline
# sweep on the GPU in both precisions. Target: under 5 minutes.
set -uo pipefail
PY=${PYTHON:-python}
rc=0
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
$PY -m pytest -q -m gpu tests || rc=1
for dtype in float64 float32; do
    $PY -m theorem_lab sweep --backend torch --device cuda --dtype "$dtype" \
        --out "${TMPDIR:-/tmp}/gpu-sweep-$dtype" --no-figure || rc=1
done
exit $rc
