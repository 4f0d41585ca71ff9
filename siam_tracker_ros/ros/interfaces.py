"""This package's generated interfaces (msg/TrackerStatus.msg, srv/InitTarget.srv).

Import them from here: `siam_tracker_ros.ros` first makes the colcon-generated modules
reachable when the source tree shadows the installed package.
"""
from siam_tracker_ros.msg import TrackerStatus
from siam_tracker_ros.srv import InitTarget

__all__ = ['InitTarget', 'TrackerStatus']
