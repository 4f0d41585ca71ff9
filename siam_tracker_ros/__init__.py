"""siam_tracker_ros: Siamese single-object trackers, framework-free core plus a thin ROS 2 shell.

Everything here imports without rclpy; only `siam_tracker_ros.ros` talks to ROS.
Importing the package registers every tracker (`siam_tracker_ros.trackers`).
"""
# colcon installs generated interfaces (msg/srv) as a second portion of this package.
__path__ = __import__('pkgutil').extend_path(__path__, __name__)

from siam_tracker_ros import trackers  # noqa: E402,F401  (fills the registry)
from siam_tracker_ros.build import build_tracker  # noqa: E402
from siam_tracker_ros.registry import tracker_names  # noqa: E402
from siam_tracker_ros.types import (FrameSizeError, TrackerInputError,  # noqa: E402
                                    TrackerStateError, TrackResult)

__all__ = ['build_tracker', 'tracker_names', 'TrackResult', 'TrackerInputError',
           'FrameSizeError', 'TrackerStateError']
