"""siam_tracker_ros: Siamese single-object trackers, framework-free core plus a thin ROS 2 shell.

Everything here imports without rclpy; only `siam_tracker_ros.ros` talks to ROS.
"""
# colcon installs generated interfaces (msg/srv) as a second portion of this package.
__path__ = __import__('pkgutil').extend_path(__path__, __name__)

from siam_tracker_ros.registry import build_tracker, tracker_names
from siam_tracker_ros.types import TrackerInputError, TrackerStateError, TrackResult

__all__ = ['build_tracker', 'tracker_names', 'TrackResult', 'TrackerInputError',
           'TrackerStateError']
