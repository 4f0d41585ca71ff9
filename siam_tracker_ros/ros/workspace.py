"""The colcon-installed siam_tracker_ros and the tracker_node command line it provides.

Shared by the ROS tests, scripts/ros_demo.py and benchmarks/ros_latency.py, which start the
node as launch_ros would: the installed executable with `--ros-args --params-file`.
"""
import os
from pathlib import Path


def installed_prefix() -> Path:
    """Install prefix of siam_tracker_ros in the workspace scripts/ros_env.sh exports."""
    workspace = os.environ.get('SIAM_TRACKER_ROS_WS')
    if not workspace:
        raise RuntimeError('source scripts/ros_env.sh first (SIAM_TRACKER_ROS_WS is unset)')
    return Path(workspace) / 'install' / 'siam_tracker_ros'


def node_command(*ros_args, params_file=None) -> list:
    """The installed tracker_node with `params_file` (default: the installed
    config/tracker.yaml), then `ros_args` (e.g. '-p', 'tracker:=siamfc')."""
    prefix = installed_prefix()
    params = params_file or prefix / 'share' / 'siam_tracker_ros' / 'config' / 'tracker.yaml'
    return [str(prefix / 'lib' / 'siam_tracker_ros' / 'tracker_node'), '--ros-args',
            '--params-file', str(params), *ros_args]
