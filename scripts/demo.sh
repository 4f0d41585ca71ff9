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

# The whole ROS 2 pipeline on the same clip: node process, image topic, init service, detections.
# DDS stays on this machine: a loopback-only network namespace, ROS_LOCALHOST_ONLY=1.
if [ "$(id -u)" = 0 ]; then NETNS=(unshare --net); else NETNS=(unshare --net --map-root-user); fi
"${NETNS[@]}" -- bash -c '
  set -e
  ip link set lo up
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1
  . scripts/ros_env.sh
  python scripts/ros_demo.py --input "$0" --init "$1" --out runs/demo/ros.mp4 \
    --boxes runs/demo/ros_boxes.txt
' "$VIDEO" "$INIT"
echo "annotated video of what the ROS node published: $OUT/ros.mp4"

# One real benchmark sequence, scored: the success AUC of the shipped weights.
SEQ="$ROOT/../shared/data/sot/otb_Bird2"
if [ -d "$SEQ" ]; then
  siam-track eval --dataset "$SEQ" --tracker siamfc --out "$OUT/eval" --no-progress \
    | awk '/^\| Tracker/ && !done {t = 1} t && NF == 0 {t = 0; done = 1} t'
fi
