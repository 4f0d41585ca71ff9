"""The ROS 2 shell of siam_tracker_ros: the only subpackage that imports rclpy or *_msgs.

colcon generates the interfaces (`siam_tracker_ros.msg`, `siam_tracker_ros.srv`) into the
installed copy of the package. When the source tree shadows that copy (a checkout on sys.path
or an editable pip install), the package path is extended so the generated modules are found.
"""
import pkgutil

import siam_tracker_ros

siam_tracker_ros.__path__ = pkgutil.extend_path(siam_tracker_ros.__path__, 'siam_tracker_ros')
