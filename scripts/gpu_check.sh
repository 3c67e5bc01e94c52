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

# Image experiments (simulations/cifar), about 3 minutes: the fast profile at CIFAR-10 shape (clean
# CIFAR-10 when CIFAR10_DIR points at cifar-10-batches-py or its parent, else synthetic images of
# that shape: throughput only, the 93 % target needs the real data), with the GPU utilisation
# sampled by nvidia-smi; then one paper-profile (shake-shake 26 2x32d) epoch on synthetic data.
T=${TMPDIR:-/tmp}
if [ -n "${CIFAR10_DIR:-}" ]; then DATA=(--dataset cifar10 --data-dir "$CIFAR10_DIR"); \
else DATA=(--dataset synthetic --synthetic-train 50000 --synthetic-test 10000); fi
nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits -lms 500 > "$T/cifar-util.txt" &
SMI=$!
start=$(date +%s.%N)
timeout 150 $PY -m theorem_lab cifar train --profile fast "${DATA[@]}" --val-fraction 0 \
    --device cuda --no-progress --json --out "$T/gpu-cifar-fast" > "$T/cifar-fast.json" || rc=1
end=$(date +%s.%N)
kill $SMI 2>/dev/null
echo "cifar fast profile (${DATA[*]}): wall $(echo "$end - $start" | bc) s, test accuracy" \
    "$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['test_acc_last'])" "$T/cifar-fast.json" 2>/dev/null)," \
    "mean GPU utilisation $(awk '{s+=$1; n++} END {if (n) printf "%.0f%%", s/n}' "$T/cifar-util.txt")"
timeout 120 $PY -m theorem_lab cifar train --profile paper --dataset synthetic --synthetic-train 50000 \
    --synthetic-test 1000 --epochs 1 --val-fraction 0 --device cuda --no-progress --json \
    --out "$T/gpu-cifar-paper" 2>&1 >/dev/null | tail -1 | awk '{print "paper-profile shake-shake epoch (50000 synthetic images):", $NF, "s"}' || rc=1
exit $rc
