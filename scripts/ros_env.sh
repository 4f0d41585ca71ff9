# Source me (bash): the environment for running and testing the colcon-built siam_tracker_ros.
#   source scripts/ros_env.sh        (after bash scripts/setup_ros.sh)
# Sets VIRTUAL_ENV/PATH (the project venv), AMENT_PREFIX_PATH (the venv's ROS wheels + the
# workspace), PYTHONPATH and LD_LIBRARY_PATH (generated message packages), and keeps DDS on
# this machine (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, ROS_LOCALHOST_ONLY=1) unless the caller
# set them. Env: VENV (default .venv), ROS_WS (default build/ros_ws), relative to the repository.
_siam_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_siam_venv=$(cd "$_siam_root" && realpath -m "${VENV:-.venv}")
_siam_ws=$(cd "$_siam_root" && realpath -m "${ROS_WS:-build/ros_ws}")
if [ ! -f "$_siam_ws/install/setup.bash" ]; then
  echo "ros_env.sh: no workspace at $_siam_ws; run: bash scripts/setup_ros.sh" >&2
  return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
. "$_siam_venv/bin/activate"
case ":${AMENT_PREFIX_PATH:-}:" in
  *":$_siam_venv:"*) ;;
  *) export AMENT_PREFIX_PATH="$_siam_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;;
esac
# colcon's setup scripts read unset variables; relax nounset while sourcing them.
_siam_u=$(set +o | grep nounset)
set +u
# shellcheck disable=SC1091
. "$_siam_ws/install/setup.bash"
eval "$_siam_u"
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
export ROS_LOCALHOST_ONLY="${ROS_LOCALHOST_ONLY:-1}"
export SIAM_TRACKER_ROS_WS="$_siam_ws"
unset _siam_root _siam_venv _siam_ws _siam_u
