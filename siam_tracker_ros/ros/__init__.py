"""The ROS 2 shell of siam_tracker_ros: the only subpackage that imports rclpy or *_msgs.

colcon generates the interfaces (`siam_tracker_ros.msg`, `siam_tracker_ros.srv`) into the
installed copy of the package; `siam_tracker_ros/__init__.py` extends the package path so they
are found when the source tree shadows that copy (a checkout on sys.path or an editable install).
"""
