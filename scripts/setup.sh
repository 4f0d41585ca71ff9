#!/usr/bin/env bash
# Set up everything in .venv/ at the repository root (idempotent; a second run is quick):
# Python deps, torch 2.13.0 (unless a torch is already provided; TORCH_INDEX_URL picks the
# index, e.g. https://download.pytorch.org/whl/cpu for the CPU build), this package
# (editable), and ROS 2 from PyPI wheels with a colcon build of our interfaces.
#   bash scripts/setup.sh            env: PYTHON (default python3), SIAM_SKIP_ROS=1 to skip ROS,
#                                    SIAM_SKIP_ONNX=1 to skip onnx + onnxruntime
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert (3, 10) <= sys.version_info[:2] <= (3, 12), sys.version' \
  || { echo "setup: Python 3.10-3.12 needed ($PY)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  if "$PY" -c 'import torch' 2>/dev/null; then
    echo "[setup] using the torch that $PY already provides (Jetson / own CUDA build)"
    "$PY" -m venv --system-site-packages .venv
  else
    "$PY" -m venv .venv
  fi
fi
# shellcheck disable=SC1091
. .venv/bin/activate
if ! python -c 'import torch' 2>/dev/null; then
  echo "[setup] installing torch==2.13.0${TORCH_INDEX_URL:+ from $TORCH_INDEX_URL}"
  pip install -q ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "torch==2.13.0"
fi
# The onnx extra (onnx + onnxruntime, ~37 MB of wheels, ~110 MB installed) serves
# `siam-track export`, the onnx backend and their tests; SIAM_SKIP_ONNX=1 leaves it out.
if [ "${SIAM_SKIP_ONNX:-0}" != 1 ]; then
  pip install -q -e '.[test,onnx]'
else
  pip install -q -e '.[test]'
fi
if [ "${SIAM_SKIP_ROS:-0}" != 1 ]; then
  bash scripts/setup_ros.sh
fi
echo "[setup] done: $(python -c 'import torch, cv2, numpy; print("torch", torch.__version__, "opencv", cv2.__version__, "numpy", numpy.__version__)')"
