#!/usr/bin/env bash
# The GPU device check, prepared to run as written on a machine with an NVIDIA GPU and the GPU extras already
# installed (no network needed): every GPU backend must be available (else it stops at once, naming the backend
# and why), the GPU tests run, then a small sweep of every GPU backend beside numpy and numba, float64 and
# float32, and the report with the CPU-GPU crossover table. About 3-5 minutes.
#
#   bash benchmarks/gpu_check.sh [OUTPUT_FOLDER]          (default: gpu-check/)
#   PYTHON=.venv/bin/python bash benchmarks/gpu_check.sh  (the interpreter that has vecbench and the extras)
#
# Exit status: 0 when everything passed; 1 when a GPU backend is unavailable, a test failed, a kernel failed
# its check against the float64 reference, or a phase ran past its time limit.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
out="${1:-gpu-check}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"   # this checkout's vecbench, whatever is installed
export VECBENCH_GPU_PROBE_TIMEOUT="${VECBENCH_GPU_PROBE_TIMEOUT:-120}"
GPU="cupy,torch_cuda,jax_gpu,numba_cuda"
start=$SECONDS
phase() { echo; echo "=== gpu_check [$((SECONDS - start)) s]: $*"; }
fail() { echo "gpu_check: FAILED: $*" >&2; exit 1; }

phase "the device"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.memory --format=csv \
    || fail "nvidia-smi did not answer: no NVIDIA GPU or driver on this machine"

phase "every GPU backend must be available"
"$PY" - "$GPU" <<'PYEOF' || fail "a GPU backend is unavailable (above); install its extra, see docs/gpu.md"
import sys
import vecbench as vb
bad = 0
for name in sys.argv[1].split(","):
    b = vb.backend(name)
    ok = b.available
    bad += not ok
    print(f"gpu_check: {name:<11} {'available: ' + str(b.probe().get('name')) if ok else 'UNAVAILABLE: ' + b.install_hint}")
sys.exit(1 if bad else 0)
PYEOF

phase "GPU tests: probe, fake device timing, simulator kernels, every GPU kernel against the reference"
if ! timeout 240 "$PY" -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_numba_cuda_sim.py \
        tests/test_kernels.py -k "gpu or sim or cupy or torch_cuda or jax_gpu or numba_cuda" >"$out/tests.log" 2>&1; then
    tail -n 60 "$out/tests.log"
    fail "GPU tests (whole log: $out/tests.log)"
fi
tail -n 5 "$out/tests.log"

phase "sweep: the GPU backends beside numpy and numba (float64 and float32)"
# Quick sampling (>= 3 samples of >= 3 ms, interval target 5%) and a 2 s budget per measurement over each op's
# default sizes: up to 1e7 elements (dot, sigmoid), 4000 x 4000 (matvec), 3000 x 3000 (col_percent),
# 100 x 1e6 (logistic regression). VECBENCH_GPU_SIZES=large goes ten times further (more minutes).
timeout 300 "$PY" -m vecbench run --no-progress --quick --sizes "${VECBENCH_GPU_SIZES:-default}" --budget 2 --dtype both \
    --ops dot,matvec,col_percent,standardize,sigmoid,logreg_grad \
    --backends "numpy,numba,$GPU" -o "$out/results.json" \
    || fail "the sweep (a kernel failed its check, or the run was cut short: see $out/results.json)"

phase "report"
"$PY" -m vecbench report "$out/results.json" -o "$out/report" >/dev/null
"$PY" - "$out/report/README.md" <<'PYEOF'
import sys
text = open(sys.argv[1]).read()
if "where the device starts to win" not in text:
    sys.exit("gpu_check: the report has no CPU-GPU crossover table")
keep = False
for line in text.splitlines():
    if line.startswith("#"):
        keep = "where the device starts to win" in line
    if keep:
        print(line)
PYEOF
phase "done in $((SECONDS - start)) s: report in $out/report/ (README.md, report.html), data in $out/results.json"
