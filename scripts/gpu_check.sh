#!/usr/bin/env bash
# GPU checks in one short script (run from the repository root on a machine with CUDA).
#   scripts/gpu_check.sh wheels   HERE, before the device call: the wheels the device image lacks
#                                 (array-api-compat) into .whl/ (git-ignored); the run carries it:
#                                 run(command="bash scripts/gpu_check.sh engine", carry=[".whl"])
#   scripts/gpu_check.sh engine   the gpu-marked tests and issue 10's engine targets, within
#                                 BUDGET_S (default 540 s: one 10-minute device call)
#   scripts/gpu_check.sh cifar    the image experiments (about 5 minutes; 15 more with CIFAR10_DIR)
#   scripts/gpu_check.sh          both (more than one 10-minute device call with CIFAR10_DIR)
# On the device it first installs what is missing (the carried wheels, then this checkout, editable,
# offline). Everything printed also goes to $OUT/gpu_check.log (the device tool brings $OUT back),
# and each sweep's summary.json to $OUT, so a step cut short loses nothing printed before it.
set -uo pipefail
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
WHAT=${1:-all}
T=${TMPDIR:-/tmp}
if [ "$WHAT" = wheels ]; then
    exec $PY -m pip download --no-deps -d .whl "array-api-compat>=1.9"
fi
OUT=${OUT:-$T/gpu-check}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
TEE=$!
trap 'exec 1>&- 2>&-; wait "$TEE" 2>/dev/null' EXIT      # the log complete before $OUT is read
BUDGET_S=${BUDGET_S:-540}
rc=0

since() {   # seconds since the date +%s.%N stamp $1, one decimal
    awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'
}

# step NAME LIMIT CMD...: CMD under min(LIMIT, what is left of BUDGET_S); its rc and wall time.
step() {
    local name=$1 limit=$2 left=$((BUDGET_S - SECONDS)) t0 r
    shift 2
    if [ "$left" -lt 20 ]; then
        echo "== $name: skipped, the budget of $BUDGET_S s is spent"; rc=1; return 1
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "== $name (limit $limit s)"
    t0=$(date +%s.%N)
    timeout -k 10 "$limit" "$@"; r=$?      # SIGTERM first (the CLIs stop as on Ctrl-C), KILL 10 s on
    echo "== $name: rc $r, $(since "$t0") s wall"
    [ "$r" -eq 0 ] || rc=1
    return $r
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
if ! $PY -c "import array_api_compat" 2>/dev/null; then
    $PY -m pip install -q --no-index --no-deps .whl/*.whl || {
        echo "array-api-compat is missing: run 'scripts/gpu_check.sh wheels' here and carry .whl"
        exit 2; }
fi
if ! $PY -c "import theorem_lab.simulations" 2>/dev/null; then      # this checkout, editable
    $PY -m pip install -q --no-index --no-deps --no-build-isolation -e . || {
        echo "could not install this checkout (pip install -e . needs setuptools >= 68 there)"; exit 2; }
fi
$PY -c "import torch, theorem_lab; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '')" || exit 2

if [ "$WHAT" = engine ] || [ "$WHAT" = all ]; then
# The headline sweep's wall time, start-up included (target <= 20 s), in both dtypes.
for dtype in float32 float64; do
    rm -rf "$T/gpu-sweep-$dtype"
    step "headline sweep $dtype (target <= 20 s wall)" 90 \
        $PY -m theorem_lab sweep --backend torch --device cuda --dtype "$dtype" --verbose \
        --out "$T/gpu-sweep-$dtype" --no-figure
    cp "$T/gpu-sweep-$dtype/summary.json" "$OUT/headline-$dtype.json" 2>/dev/null
done
# Issue 10's GPU targets, each printed as one line: the batched engine's step vs its two GEMMs at
# n=8192, d=256, k=4096 float32 (target <= 1.5), 32 seeds batched vs one after another (target
# >= 10x throughput), the CUDA graph against step-by-step launches for 32 small runs.
step "engine targets" 150 $PY - <<'PY'
import time, torch, numpy as np
import theorem_lab as tl
from theorem_lab import kernel_choice
from theorem_lab.backend import matmul_precision
from theorem_lab.train import train_many
bk = tl.resolve_backend("torch", "cuda", "float32")
precision = matmul_precision(bk)                  # as the engine's runs have it (TF32 by default)
def timed(fn, reps=5):
    fn(); torch.cuda.synchronize(); best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best
n, d, k = 8192, 256, 4096
X = bk.asarray(np.random.default_rng(0).standard_normal((1, n, d)) / np.sqrt(d))
W = bk.asarray(np.random.default_rng(1).standard_normal((1, k, d)))
v = bk.asarray(tl.network.output_layer(k))
act = tl.get_activation("tanh")
st = kernel_choice.make_step(kernel_choice.choose(X, v, act, bk).chosen, X, v, act, bk)
step = timed(lambda: st.gradient(st.forward(W)))
Z = torch.empty((n, k), device="cuda"); G = torch.empty((d, k), device="cuda")
gemms = timed(lambda: (torch.matmul(X[0], W[0].T, out=Z), torch.matmul(X[0].T, Z, out=G)))
print(f"GPU step n={n} d={d} k={k} float32 ({precision}) [{st.name}]: {1e3*step:.2f} ms, two GEMMs "
      f"{1e3*gemms:.2f} ms, ratio {step/gemms:.2f} (target <= 1.5)")
ds = [tl.make_clusterable(n=1000, K=10, d=50, eps=0.05, rho=0.3, seed=s, n_test=0) for s in range(32)]
ns = [tl.TwoLayerNet.init(d=50, k=4096, seed=10 + s) for s in range(32)]
kw = dict(steps=200, backend="torch", device="cuda", dtype="float32", log_every=50)
train_many(ds, ns, **kw); tl.train(ds[0], ns[0], **kw)      # warm: both shapes' kernel choice
t0 = time.perf_counter(); train_many(ds, ns, **kw); torch.cuda.synchronize(); batched = time.perf_counter() - t0
t0 = time.perf_counter()
for a, b in zip(ds[:8], ns[:8]): tl.train(a, b, **kw)
torch.cuda.synchronize(); alone = (time.perf_counter() - t0) * 4
print(f"32 seeds x 200 steps (n=1000 k=4096): batched {batched:.2f} s, one after another "
      f"{alone:.2f} s (8 timed, x4), throughput ratio {alone/batched:.1f} (target >= 10)")
import os
from theorem_lab import step_graph
small = [tl.make_clusterable(n=40, K=4, d=8, eps=0.05, rho=0.3, seed=s, n_test=0) for s in range(32)]
small_nets = [tl.TwoLayerNet.init(d=8, k=128, seed=10 + s) for s in range(32)]
kw_small = dict(steps=1000, backend="torch", device="cuda", dtype="float32", log_every=100)
seconds = {}
for mode in ("on", "off", "on"):          # the plain steps from one CUDA graph, or launched one by one
    os.environ[step_graph.GRAPH_ENV] = mode
    t0 = time.perf_counter(); out = train_many(small, small_nets, **kw_small); torch.cuda.synchronize()
    seconds[mode] = min(seconds.get(mode, float("inf")), time.perf_counter() - t0)
os.environ.pop(step_graph.GRAPH_ENV)
print(f"32 seeds x 1000 steps (n=40 k=128) float32: CUDA graph {seconds['on']:.2f} s "
      f"[{out[0].info.graph}], step by step {seconds['off']:.2f} s, ratio {seconds['off']/seconds['on']:.1f}")
PY
# The grid of issue 10 (4 widths x 4 rho x 8 seeds x 3 methods), target <= 2 minutes.
rm -rf "$T/gpu-grid"
step "grid sweep, widths 256..16384, 4 rho, 8 seeds, float32 (target <= 120 s wall)" 180 \
    $PY -m theorem_lab sweep --backend torch --device cuda --dtype float32 \
    --width 256,1024,4096,16384 --rho 0.1,0.2,0.3,0.4 --seeds 8 --no-figure --verbose \
    --out "$T/gpu-grid"
cp "$T/gpu-grid/summary.json" "$OUT/grid.json" 2>/dev/null
# The gpu-marked tests of the engine (CUDA backends against numpy, the CUDA graph, bench on CUDA).
step "gpu tests (tests/core)" 150 $PY -m pytest -q -m gpu tests/core -p no:cacheprovider
# The benchmarks as a user runs them on the GPU: the step against its GEMMs at the target's shape
# (and the engine's candidates), and 32 small runs batched against one by one.
step "bench step" 90 $PY -m theorem_lab bench step --device cuda --n 8192 --dim 256 --width 4096 \
    --dtypes float32,float64 --repeats 3
step "bench many" 60 $PY -m theorem_lab bench many --device cuda --dtype float32 --steps 300 --rounds 1
echo "== engine checks done in $SECONDS s (budget $BUDGET_S s), rc $rc"
fi
[ "$WHAT" = cifar ] || [ "$WHAT" = all ] || exit $rc

# Image experiments (simulations/cifar), about 3 minutes: the fast profile at CIFAR-10 shape (clean
# CIFAR-10 when CIFAR10_DIR points at cifar-10-batches-py or its parent, else synthetic images of
# that shape: throughput only, the 93 % target needs the real data), with the GPU utilisation
# sampled by nvidia-smi; then one paper-profile (shake-shake 26 2x32d) epoch on synthetic data.
timeout -k 10 150 $PY -m pytest -q -m gpu tests/cifar -p no:cacheprovider || rc=1   # the image GPU tests
if [ -n "${CIFAR10_DIR:-}" ]; then DATA=(--dataset cifar10 --data-dir "$CIFAR10_DIR"); \
else DATA=(--dataset synthetic --synthetic-train 50000 --synthetic-test 10000); fi
nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits -lms 500 > "$T/cifar-util.txt" &
SMI=$!
start=$(date +%s.%N)
timeout 150 $PY -m theorem_lab cifar train --profile fast "${DATA[@]}" --val-fraction 0 \
    --device cuda --no-progress --json --out "$T/gpu-cifar-fast" > "$T/cifar-fast.json" || rc=1
kill $SMI 2>/dev/null
echo "cifar fast profile (${DATA[*]}): wall $(since "$start") s, test accuracy" \
    "$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['test_acc_last'])" "$T/cifar-fast.json" 2>/dev/null)," \
    "mean GPU utilisation $(awk '{s+=$1; n++} END {if (n) printf "%.0f%%", s/n}' "$T/cifar-util.txt")"
timeout 120 $PY -m theorem_lab cifar train --profile paper --dataset synthetic --synthetic-train 50000 \
    --synthetic-test 1000 --epochs 1 --val-fraction 0 --device cuda --no-progress --json \
    --out "$T/gpu-cifar-paper" 2>&1 >/dev/null | tail -1 | awk '{print "paper-profile shake-shake epoch (50000 synthetic images):", $NF, "s"}' || rc=1
# cifar ntk-air on the fast profile (ResNet-56, binary CIFAR-10, NTK batch 128; 2 of the profile's
# 3 seeds to fit the time), about 3 minutes; needs the real data: skipped without CIFAR10_DIR.
if [ -n "${CIFAR10_DIR:-}" ]; then
    start=$(date +%s.%N)
    timeout 420 $PY -m theorem_lab cifar ntk-air --profile fast --data-dir "$CIFAR10_DIR" --seeds 2 \
        --device cuda --out "$T/gpu-ntk-air" > "$T/ntk-air.txt" || rc=1
    echo "cifar ntk-air fast profile (2 seeds): wall $(since "$start") s"
    cat "$T/ntk-air.txt"
else
    echo "cifar ntk-air: skipped (set CIFAR10_DIR to the folder with cifar-10-batches-py)"
fi
# cifar table1 (issue 12): the CIFAR-10 40% row of Table 1 on the fast profile, 4 methods x 3 seeds =
# 12 runs (target: under 15 minutes on one H100-class GPU). It needs the real CIFAR-10: CIFAR10_DIR
# (the folder holding cifar-10-batches-py/ or cifar-10-python.tar.gz); skipped without it.
# TABLE1_TIMEOUT caps it (default 540 s, one device call); a rerun resumes from the cells done.
# TABLE1_WORKERS runs that many cells side by side on the one GPU (default 1).
if [ -n "${CIFAR10_DIR:-}" ]; then
    start=$(date +%s.%N)
    timeout "${TABLE1_TIMEOUT:-540}" $PY -m theorem_lab cifar table1 --profile fast --datasets cifar10 \
        --rates 0.4 --data real --data-dir "$CIFAR10_DIR" --device cuda --workers "${TABLE1_WORKERS:-1}" \
        --no-progress --out "$T/gpu-table1" > "$T/table1.txt" 2> "$T/table1.err" || rc=1
    sed -n '/^== CIFAR-10/,/^$/p' "$T/table1.txt"
    echo "cifar table1 fast, CIFAR-10 40% row: wall $(since "$start") s (target <= 900 s);" \
        "$(tail -1 "$T/table1.txt" | cut -d';' -f1-2)"
    tail -3 "$T/table1.err"
else
    echo "cifar table1, CIFAR-10 40% row: skipped (set CIFAR10_DIR to the folder with cifar-10-batches-py/)"
fi
exit $rc
