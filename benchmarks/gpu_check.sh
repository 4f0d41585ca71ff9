#!/usr/bin/env bash
# Every check that needs CUDA, in one run (for a lent GPU machine; no ROS needed):
#   1. the `cuda`-marked tests (CUDA fp32 / eager / fp16 vs the CPU path, shipped weights);
#   2. `siam-track bench` speed tables with the CUDA paths, both shipped weights: the device
#      step (crop and decode on the GPU, the default there), the host step (`:host`) and the
#      per-frame call replayed from CUDA graphs (`graphs/...`), and
#      every other tracker's shipped weights on the device step;
#   3. several targets on the GPU: one batch against one at a time (benchmarks/multi_target.py);
#   4. `siam-track bench --agreement` of CUDA fp32 and fp16 vs CPU fp32 on the dev sequences
#      (AGREEMENT_PATHS overrides the list; SKIP_TESTS=1 skips step 1).
# Run from the repository root with ../shared/data/sot beside it:
#   bash benchmarks/gpu_check.sh [LOG_DIR]       (logs default to runs/gpu)
set -uo pipefail
LOGS=${1:-runs/gpu}
mkdir -p "$LOGS"
TRACK=(python3 -m siam_tracker_ros.cli.main)
section() { echo; echo "== $* =="; }

section machine
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
python3 -c 'import sys, torch, numpy, cv2; print("python", sys.version.split()[0], "torch",
  torch.__version__, "numpy", numpy.__version__, "opencv", cv2.__version__)'

if [ -z "${SKIP_TESTS:-}" ]; then section cuda tests
timeout 240 python3 -m pytest -p no:cacheprovider -q -rA test/core/test_cuda.py 2>&1 \
  | tee "$LOGS/cuda_tests.log" | grep -E 'PASSED|FAILED|ERROR|passed|failed|assert' | head -40
fi

ALEXNET=siam_tracker_ros/weights/siamfc_alexnet.pt
FUSED=eager/fp32@cuda,fused/fp32@cuda,fused/fp16@cuda,fused/bf16@cuda
HOST=fused/fp32:host@cuda,fused/fp16:host@cuda
COMPILED=compiled/fp32@cuda,compiled/fp16@cuda
GRAPHS=graphs/fp32@cuda,graphs/fp16@cuda
section speed, shipped default weights
timeout 200 "${TRACK[@]}" bench --threads 2 --paths "$FUSED,$HOST,$GRAPHS,$COMPILED" 2>&1 \
  | tee "$LOGS/bench_default.log" | grep -v Warning
section speed, AlexNet weights
timeout 120 "${TRACK[@]}" bench --threads 2 --weights "$ALEXNET" --paths "$FUSED,$HOST,$GRAPHS" 2>&1 \
  | tee "$LOGS/bench_alexnet.log" | grep -v Warning
for tracker in siamrpn dsiam siam_gam dyconv_fusion; do
  section "speed, $tracker shipped weights"
  timeout 60 "${TRACK[@]}" bench --tracker "$tracker" --threads 2 --frames 30 \
    --paths fused/fp32@cuda,fused/fp16@cuda,graphs/fp16@cuda,fused/fp32:host@cuda 2>&1 \
    | tee -a "$LOGS/bench_trackers.log" | grep -v Warning
done

section several targets on cuda, shipped default weights
timeout 150 python3 benchmarks/multi_target.py --device cuda --targets 1,2,4,8,16 2>&1 \
  | tee "$LOGS/multi_target.log" | grep -v Warning

for weights in default "$ALEXNET"; do
  for path in ${AGREEMENT_PATHS:-fused/fp32@cuda fused/fp16@cuda}; do
    section "agreement $path vs cpu fused/fp32, weights $weights"
    timeout 150 "${TRACK[@]}" bench --threads 8 --weights "$weights" --agreement "$path" 2>&1 \
      | tee -a "$LOGS/agreement.log" | grep -v Warning
  done
done
