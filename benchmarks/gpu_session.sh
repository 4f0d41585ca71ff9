#!/usr/bin/env bash
# A lent GPU session in two device calls (each under the 64 MiB the device takes along):
#
#   here:       bash benchmarks/gpu_session.sh prepare
#               (copies five dev sequences to .device/sot, git-excluded; checks the sizes)
#   device 1:   run(command="bash benchmarks/gpu_session.sh train", carry=[".cache/training/media"],
#                   timeout_s=360)      -> $OUT: epoch_N_weights.pt, epochs.csv, train.log
#   device 2:   run(command="bash benchmarks/gpu_session.sh check", carry=[".device/sot"],
#                   timeout_s=360)      -> $OUT: the logs of benchmarks/gpu_check.sh
#               (right after the first, while the machine is warm: a session has 15 min of
#               device time, the machine's start included; the logs are written as they go,
#               so a check cut off at its limit still returns what it measured)
#   here:       python -m siam_tracker_ros.training.devtable --root ../shared/data/sot_val \
#                   <files_at>/epoch_*_weights.pt     (select on sot_val; never on sot)
#
# The device has PyTorch, OpenCV, PyYAML, tqdm and matplotlib but not ../shared: `check`
# links the carried sequences there. `train` runs config/train/siamfc_mobilenetv2_gpu.yaml.
set -uo pipefail
cd "$(dirname "$0")/.."
SEQUENCES="otb_Crossing otb_Bird2 vot15_bag dtb70_Surfing06 otb_DragonBaby"
LIMIT=$((64 * 1024 * 1024))

tree_bytes() {   # what travels without carry: tracked and untracked-not-ignored files
  git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1
}

prepare() {
  grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
  rm -rf .device/sot && mkdir -p .device/sot
  for name in $SEQUENCES; do cp -r "../shared/data/sot/$name" .device/sot/; done
  printf '%s\n' $SEQUENCES > .device/sot/list.txt
  local tree media sot
  tree=$(tree_bytes); media=$(du -sb .cache/training/media | cut -f1); sot=$(du -sb .device/sot | cut -f1)
  echo "working tree $tree B; + media $((tree + media)) B (train); + sequences $((tree + sot)) B (check); limit $LIMIT B"
  if [ $((tree + media)) -ge $LIMIT ] || [ $((tree + sot)) -ge $LIMIT ]; then
    echo "over the device's 64 MiB: carry less" >&2; return 1
  fi
}

train() {
  export PYTHONUNBUFFERED=1
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
  df -h /dev/shm | tail -1    # the data workers pass batches through shared memory (~1 GB)
  python3 -m siam_tracker_ros.cli.main train --config config/train/siamfc_mobilenetv2_gpu.yaml \
    --no-progress 2>&1 | tee "$OUT/train.log" | grep -v -e Warning -e libpng -e h264
  cp runs/siamfc_mobilenetv2_gpu/epoch_*_weights.pt runs/siamfc_mobilenetv2_gpu/epochs.csv "$OUT/"
}

check() {
  mkdir -p ../shared/data && ln -sfn "$PWD/.device/sot" ../shared/data/sot
  bash benchmarks/gpu_check.sh "$OUT"
}

case "${1:-}" in
  prepare) prepare ;;
  train) train ;;
  check) check ;;
  *) echo "usage: bash benchmarks/gpu_session.sh prepare|train|check" >&2; exit 2 ;;
esac
