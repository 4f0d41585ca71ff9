#!/usr/bin/env bash
# Run the ROS tests the way CI must: a loopback-only network namespace (unshare --net, root),
# a private /dev/shm (so leftover checks see only this run), and the workspace env sourced.
# Usage: bash test/ros/run_tests.sh [pytest args...]   (test/ros unless a test path is given)
set -euo pipefail
case " $* " in *" test/"*) ;; *) set -- "$@" test/ros ;; esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exec unshare --net --mount -- bash -c '
  set -euo pipefail
  ip link set lo up
  mount -t tmpfs -o size=2g tmpfs /dev/shm
  cd "$0"
  source scripts/ros_env.sh
  exec python -m pytest "${@:1}"
' "$ROOT" "$@"
