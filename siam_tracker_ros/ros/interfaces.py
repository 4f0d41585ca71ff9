"""This package's generated interfaces (msg/TrackerStatus.msg, msg/TrackerStatusArray.msg,
srv/InitTarget.srv, srv/RemoveTarget.srv).

Import them from here: `siam_tracker_ros.ros` first makes the colcon-generated modules
reachable when the source tree shadows the installed package.
"""
from siam_tracker_ros.msg import TrackerStatus, TrackerStatusArray
from siam_tracker_ros.srv import InitTarget, RemoveTarget

__all__ = ['InitTarget', 'RemoveTarget', 'TrackerStatus', 'TrackerStatusArray']
