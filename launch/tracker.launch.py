"""Launch the siam_tracker_ros tracker node.

    ros2 launch siam_tracker_ros tracker.launch.py image:=/camera/image_raw tracker:=siamfc

Parameters come from `params_file` (default: the installed config/tracker.yaml); the
tracker, weights and device arguments override it. The node subscribes `image` (raw) or
`image/compressed` (image_transport:=compressed in the params file); both are remapped under
the `image` argument. Checked in CI without launch_ros: test/ros/test_launch.py.
"""
import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

CONFIG = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'config', 'tracker.yaml'))

ARGUMENTS = {
    'tracker': ('siamfc', 'registered tracker name'),
    'weights': ('default', "weights file; 'default' = shipped weights, '' = random init"),
    'device': ('auto', 'auto, cpu, cuda or cuda:N'),
    'image': ('image', 'input image topic (image/compressed follows it)'),
    'namespace': ('', 'namespace of the node'),
    'params_file': (CONFIG, 'node parameters file (see config/tracker.yaml)'),
}


def generate_launch_description():
    """The tracker node with its launch arguments."""
    arguments = [DeclareLaunchArgument(name, default_value=default, description=text)
                 for name, (default, text) in ARGUMENTS.items()]
    image = LaunchConfiguration('image')
    node = Node(
        package='siam_tracker_ros',
        executable='tracker_node',
        name='siam_tracker',
        namespace=LaunchConfiguration('namespace'),
        parameters=[LaunchConfiguration('params_file'),
                    {'tracker': LaunchConfiguration('tracker'),
                     'weights': LaunchConfiguration('weights'),
                     'device': LaunchConfiguration('device')}],
        remappings=[('image', image), ('image/compressed', [image, '/compressed'])],
        output='screen',
    )
    return LaunchDescription(arguments + [node])
